/**
 * Incremental ADS (`DeltaAggregatedResources`) over the same generators, cache, push queue and
 * debounce as the state-of-the-world server: every response is the diff between what the generators
 * produce now and what the client holds (src/xds/protocol/delta.ts), with each resource's version
 * a hash of its encoded bytes, so a push carries only what changed plus removals.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../../observability/log.ts';
import type { AggregatedLog } from '../../observability/log-limiter.ts';
import { typeUrl as parseTypeUrl, type TypeUrl } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import { nodeLocality, parseProxy } from '../../model/proxy.ts';
import { structToJson, unsetValuePath } from '../../proto/wkt.ts';
import type { DeltaDiscoveryRequest } from '../../proto/types.ts';
import type { Clock } from '../../model/clock.ts';
import { applyDeltaRequest, deltaDiff, forceAssignmentsAfterClusterUpdate, isEmptyDiff, recordDeltaSent, type DeltaWatch, type VersionedResource } from '../protocol/delta.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL } from '../../model/type-urls.ts';
import type { PreparedDeltaResponse } from '../protocol/delta-response.ts';
import type { PreparedResource } from '../protocol/response.ts';
import { nodeIdProblem, quoteInput } from '../protocol/node-id.ts';
import type { BoundedSenderOptions } from './bounded-send.ts';
import type { XdsCall } from './connection.ts';
import { DeltaConnection } from './delta-connection.ts';
import { isDebugType } from './debug-types.ts';
import type { XdsMetrics } from './metrics.ts';
import type { StreamVariant } from './stream-session.ts';
import type { GeneratorLookup, Identity, ServerLimits } from './types.ts';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { grpcStatusForCode } from '../../model/grpc-status.ts';

export type DeltaCall = XdsCall<PreparedDeltaResponse>;

/** What the ADS server lends the delta streams: its limits, connection set and resource cache. */
export interface DeltaHost {
  readonly log: Logger;
  readonly metrics: XdsMetrics;
  readonly limits: ServerLimits;
  readonly clock: Clock;
  readonly identityCheck: boolean;
  readonly generators: GeneratorLookup;
  view(): MeshView;
  add(conn: DeltaConnection): void;
  remove(conn: DeltaConnection): void;
  /** Every resource the watch's subscription covers, from the shared per-class cache. */
  generate(conn: DeltaConnection, watch: DeltaWatch, view: MeshView): readonly PreparedResource[];
  /** Called for every response computed (sent or empty), so pushes can tell when proxy facts change. */
  computed(conn: DeltaConnection, watch: DeltaWatch, view: MeshView): void;
  /** The bounded writer's settings (send timeout) for a connection. */
  sendOptions(conn: () => DeltaConnection): BoundedSenderOptions;
  readonly refusals: AggregatedLog;
}

/** Per-resource versions: a hash of the encoded bytes, memoized per (shared) byte array. */
const versions = new WeakMap<Uint8Array, string>();

export function resourceVersion(any: Uint8Array): string {
  let v = versions.get(any);
  if (v === undefined) {
    v = createHash('sha256').update(any).digest('base64url').slice(0, 22);
    versions.set(any, v);
  }
  return v;
}

export class DeltaStreams {
  readonly #host: DeltaHost;

  constructor(host: DeltaHost) {
    this.#host = host;
  }

  /** How the shared stream session serves one DeltaAggregatedResources call. */
  variant(call: DeltaCall): StreamVariant<DeltaDiscoveryRequest, DeltaConnection> {
    return {
      label: 'ADS (delta)',
      connect: (req, identity) => this.#connect(call, req, identity),
      onRequest: (conn, req) => this.#onRequest(conn, req),
      closed: (conn) => { this.#host.remove(conn); },
    };
  }

  #connect(call: DeltaCall, req: DeltaDiscoveryRequest, identity: Identity | undefined): DeltaConnection | undefined {
    const host = this.#host;
    const node = req.node;
    if (!node?.id) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, 'the first DeltaDiscoveryRequest on a stream must carry node.id');
    const metadata = (node.metadata ? structToJson(node.metadata) : {}) as Record<string, unknown>;
    const unset = unsetValuePath(node.metadata, 'node.metadata');
    const problem = nodeIdProblem(node.id, metadata['INSTANCE_IPS']) ?? (unset === undefined ? undefined : `${unset}: a protobuf Value with no kind set (istiod refuses such node metadata too)`);
    if (problem !== undefined) {
      host.metrics.streamsRefused.inc({ reason: 'node' });
      throw new IsthmusError(ErrorCodes.XdsRequestInvalid, problem);
    }
    const proxy = parseProxy(node.id, metadata, nodeLocality(node.locality));
    if (identity && host.identityCheck && proxy.namespace !== identity.namespace) {
      host.metrics.streamsRefused.inc({ reason: 'identity_mismatch' });
      host.refusals.warn('xDS stream refused: identity does not match node', { node: node.id, identity: identity.spiffe });
      call.emit('error', { code: grpcStatusForCode(ErrorCodes.PermissionDenied), details: `authenticated as ${identity.spiffe}, which does not match the node's namespace ${quoteInput(proxy.namespace)}` });
      return undefined;
    }
    const conn: DeltaConnection = new DeltaConnection(call, proxy, identity, new Date(host.clock.now()), host.sendOptions(() => conn));
    host.add(conn);
    host.log.info('ADS (delta): new connection', { conId: conn.conId, peer: conn.peer, cluster: proxy.clusterId, network: proxy.network });
    return conn;
  }

  async #onRequest(conn: DeltaConnection, req: DeltaDiscoveryRequest): Promise<void> {
    const host = this.#host;
    const t = parseTypeUrl(req.typeUrl ?? '');
    const subscribe = req.resourceNamesSubscribe ?? [];
    const unsubscribe = req.resourceNamesUnsubscribe ?? [];
    const initial = req.initialResourceVersions ?? {};
    const count = subscribe.length + unsubscribe.length + Object.keys(initial).length;
    if (count > host.limits.maxResourceNames) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `delta request for ${t} names ${count} resources (limit ${host.limits.maxResourceNames})`);
    if (isDebugType(t)) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `debug type ${t} is served on StreamAggregatedResources only`);
    const existing = conn.deltaWatches.get(t);
    if (!existing && conn.deltaWatches.size >= host.limits.maxWatchedTypes) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `too many watched types (limit ${host.limits.maxWatchedTypes})`);
    if (!host.generators(conn.proxy, t)) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `unsupported type URL ${t} for a ${conn.proxy.type} proxy (generator ${conn.proxy.generator || 'default'})`);
    const view = {
      subscribe, unsubscribe, initialVersions: initial,
      ...(req.responseNonce ? { responseNonce: req.responseNonce } : {}),
      ...(req.errorDetail ? { errorMessage: req.errorDetail.message ?? '' } : {}),
    };
    const { watch, decision } = applyDeltaRequest(existing, t, view, new Date(host.clock.now()));
    if (!existing) {
      conn.deltaWatches.set(t, watch);
      conn.watches.set(t, watch);
      if (t === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) {
        forceAssignmentsAfterClusterUpdate(watch, [...conn.clustersBeforeEds]);
        conn.clustersBeforeEds.clear();
      }
    }
    if (decision.ack === 'nack') {
      host.metrics.rejects.inc({ type: t });
      host.log.warn('ADS (delta): NACK', { conId: conn.conId, type: t, nonce: req.responseNonce, error: decision.error });
    }
    if (decision.respond) await this.respond(conn, watch, decision.ack === 'initial' ? 'initial' : 'request');
  }

  /**
   * Sends what changed for one watched type. `initial`: answer even when nothing changed (the first
   * request of a type, so the client's initial fetch completes); `push`: hand the response to the
   * stream without waiting for the proxy to read it (see Connection.write), computed for the push's view.
   */
  async respond(conn: DeltaConnection, watch: DeltaWatch, mode: 'initial' | 'request' | 'push', pushView?: MeshView): Promise<void> {
    const host = this.#host;
    const started = host.clock.now();
    const view = pushView ?? host.view();
    const current: VersionedResource[] = host.generate(conn, watch, view).map((r) => ({ name: r.name, any: r.any, version: resourceVersion(r.any) }));
    const diff = deltaDiff(watch, current);
    host.computed(conn, watch, view);
    if (isEmptyDiff(diff) && mode !== 'initial') return;
    let size = 0;
    for (const r of diff.resources) size += r.any.byteLength;
    if (size > host.limits.maxResponseBytes) {
      host.metrics.pushErrors.inc({ type: watch.typeUrl });
      throw new Error(`delta response for ${watch.typeUrl} is ${size} bytes (limit ${host.limits.maxResponseBytes})`);
    }
    const nonce = conn.nextNonce(view.version);
    // Recorded before the write so that a push computed meanwhile diffs against what is on its way.
    recordDeltaSent(watch, nonce, view.version, diff, new Date(host.clock.now()));
    const resp = { systemVersionInfo: view.version, typeUrl: watch.typeUrl, nonce, resources: diff.resources, removedResources: diff.removed };
    if (mode === 'push') conn.write(resp);
    else await conn.send(resp);
    host.metrics.pushes.inc({ type: watch.typeUrl });
    host.metrics.pushTime.observe({ type: watch.typeUrl }, (host.clock.now() - started) / 1000);
    // Changed clusters warm until their assignments arrive again: send them right after, or with the
    // first EDS response when the stream has no EDS watch yet.
    if (watch.typeUrl !== CLUSTER_TYPE_URL || diff.resources.length === 0) return;
    const eds = conn.deltaWatches.get(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
    if (eds === undefined) {
      for (const r of diff.resources) conn.clustersBeforeEds.add(r.name);
    } else if (forceAssignmentsAfterClusterUpdate(eds, diff.resources.map((r) => r.name)) > 0) {
      await this.respond(conn, eds, mode === 'push' ? 'push' : 'request', pushView);
    }
  }

  /** The delta watch of a type, if the connection watches it. */
  watchOf(conn: DeltaConnection, t: TypeUrl): DeltaWatch | undefined {
    return conn.deltaWatches.get(t);
  }
}
