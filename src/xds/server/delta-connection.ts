/**
 * A delta ADS stream: a Connection (proxy, identity, per-type status that syncz and config_dump
 * read) that writes DeltaDiscoveryResponses, with the delta state of each watched type.
 */
import type { TypeUrl } from '../../model/ids.ts';
import type { DeltaWatch } from '../protocol/delta.ts';
import type { PreparedDeltaResponse } from '../protocol/delta-response.ts';
import { Connection } from './connection.ts';

export class DeltaConnection extends Connection<PreparedDeltaResponse> {
  /** The same watch objects as `watches`, typed with their delta state. */
  readonly deltaWatches = new Map<TypeUrl, DeltaWatch>();
  /**
   * Clusters sent before the stream had an EDS watch (a reconnect: Envoy sends its CDS and EDS
   * requests together, and the CDS response is computed first). Each warms until its load
   * assignment arrives, so the first EDS response answers them whatever versions Envoy holds.
   */
  readonly clustersBeforeEds = new Set<string>();
}

/** A connected proxy, whichever variant of ADS it speaks. */
export type AnyConnection = Connection | DeltaConnection;
