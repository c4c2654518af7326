/** The seams of the xDS server: where resources come from and who the caller is. */
import type { TypeUrl } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { PreparedResource } from '../protocol/response.ts';

/**
 * The server's side of a generator (src/xds/generators/prepared.ts adapts each typed
 * `ResourceGenerator` of src/xds/generators/types.ts to it): one type's resources for a proxy, already
 * encoded; output must depend only on the view and `cacheKey(proxy)`.
 * A generator of any type but load assignments reads endpoints only through facts in its cache key
 * (the proxy's own service ports) and through the identities of a service's endpoints (whose change
 * the registry announces as a full push): the server keeps their responses across endpoint pushes.
 */
export interface PreparedGenerator {
  readonly typeUrl: TypeUrl;
  /** What the output depends on besides the view's version: proxy fields, or facts the view gives about the proxy. */
  cacheKey(proxy: Proxy, view: MeshView): string;
  generate(proxy: Proxy, view: MeshView, names: readonly string[] | 'wildcard'): readonly PreparedResource[];
}

export type GeneratorLookup = (proxy: Proxy, typeUrl: TypeUrl) => PreparedGenerator | undefined;

// Identity lives in src/model so the CA and authentication need not import the xDS server.
export type { Identity } from '../../model/identity.ts';

export interface ServerLimits {
  /** Connections served at once; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxConnections: number;
  /** Resource names in one request. */
  readonly maxResourceNames: number;
  /** Distinct type URLs watched on one stream. */
  readonly maxWatchedTypes: number;
  /** Largest request message accepted (bytes), enforced by grpc-js. */
  readonly maxRequestBytes: number;
  /** Largest response message sent (bytes). */
  readonly maxResponseBytes: number;
  /** ADS streams on one HTTP/2 connection (one client socket); more are refused with RESOURCE_EXHAUSTED. */
  readonly maxStreamsPerConnection: number;
  /** ADS streams of one verified identity (cluster + SPIFFE id) at once; more are refused. */
  readonly maxStreamsPerIdentity: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 20_000,
  maxResourceNames: 20_000,
  maxWatchedTypes: 32,
  maxRequestBytes: 4 * 1024 * 1024,
  maxResponseBytes: 64 * 1024 * 1024,
  maxStreamsPerConnection: 100,
  maxStreamsPerIdentity: 1000,
};

/**
 * PILOT_XDS_SEND_TIMEOUT's default: a stream whose pending responses make no progress in bytes for this
 * long is ended (bounded-send.ts). istiod has no send timeout (its Send blocks on HTTP/2 flow control).
 * 30 s, not 10: 1,000 and 2,000 simulated proxies reading 1 MB each in one process on 2 busy cores
 * (bench/slow-readers.ts) went up to 3.6 and 7 s without 4 KiB moving on their connection, and a
 * false timeout costs a reconnect and a full push when the system is already loaded; a proxy that
 * reads nothing is still ended within about 38 s, near when gRPC keepalive (30 s + 10 s) would drop
 * one that stopped reading its socket altogether.
 */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000;
