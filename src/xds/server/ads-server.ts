/**
 * State-of-the-world ADS over grpc-js: one Connection per stream, requests handled in order,
 * responses from generators cached per (type, proxy class, view version) so that every proxy of a
 * class gets the same bytes, and pushes through a debouncer and a per-connection queue.
 */
import { status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../../observability/log.ts';
import { AggregatedLog } from '../../observability/log-limiter.ts';
import { errorMessage } from '../../model/errors.ts';
import { typeUrl as parseTypeUrl, type TypeUrl } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import { parseProxy } from '../../model/proxy.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, SECRET_TYPE_URL,
} from '../../model/type-urls.ts';
import { structToJson } from '../../proto/wkt.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import { Debouncer } from '../../push/debounce.ts';
import { PushQueue } from '../../push/queue.ts';
import { systemClock, type Clock, type PushRequest } from '../../push/request.ts';
import { resourcesSize, type PreparedResource, type PreparedResponse } from '../protocol/response.ts';
import { applyRequest, recordSent, type Subscription, type WatchState } from '../protocol/watch.ts';
import { nodeIdProblem, quoteInput } from '../protocol/node-id.ts';
import { StreamCaps } from './stream-caps.ts';
import type { BoundedSenderOptions } from './bounded-send.ts';
import { Connection, type AdsCall } from './connection.ts';
import { DeltaConnection, type AnyConnection } from './delta-connection.ts';
import { DeltaStreams, type DeltaCall } from './delta-stream.ts';
import { DebugTypes, isDebugType } from './debug-types.ts';
import { serveStream, type Authenticate, type SessionHost } from './stream-session.ts';
import { XdsStatusError } from './errors.ts';
import type { XdsMetrics } from './metrics.ts';
import { DEFAULT_LIMITS, DEFAULT_SEND_TIMEOUT_MS, type GeneratorLookup, type Identity, type ServerLimits } from './types.ts';

export interface AdsServerOptions {
  readonly generators: GeneratorLookup;
  readonly view: () => MeshView;
  /** This replica's name (POD_NAME): the `ID` istioctl shows in the ISTIOD column. */
  readonly controlPlaneId: string;
  readonly controlPlaneVersion: string;
  readonly systemNamespace: string;
  readonly limits?: Partial<ServerLimits>;
  readonly debounceAfterMs: number;
  readonly debounceMaxMs: number;
  readonly pushThrottle: number;
  /** PILOT_XDS_SEND_TIMEOUT: a stream whose proxy reads nothing for this long is ended; 0 disables. */
  readonly sendTimeoutMs?: number;
  readonly clock?: Clock;
  readonly log: Logger;
  readonly metrics: XdsMetrics;
  /** ENABLE_DEBUG_ENDPOINT_AUTH: debug types need a verified identity. */
  readonly debugAuth: boolean;
  /** PILOT_ENABLE_XDS_IDENTITY_CHECK: a verified identity must match the node's NAMESPACE. */
  readonly identityCheck: boolean;
}

/** Push order that never references a resource before it exists (CDS before EDS, LDS before RDS). */
const PUSH_ORDER: readonly TypeUrl[] = [CLUSTER_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, SECRET_TYPE_URL];

function orderOf(t: TypeUrl): number {
  const i = PUSH_ORDER.indexOf(t);
  return i < 0 ? PUSH_ORDER.length : i;
}

export class AdsServer {
  readonly #opts: AdsServerOptions;
  readonly #limits: ServerLimits;
  readonly #clock: Clock;
  readonly #conns = new Set<AnyConnection>();
  readonly #debouncer: Debouncer;
  readonly #queue: PushQueue<AnyConnection>;
  readonly #cache = new Map<string, { resources: readonly PreparedResource[]; names: readonly string[] }>();
  #cacheVersion = '';
  /** Identical subscriptions (e.g. every sidecar's EDS names) share one object and one key. */
  readonly #subscriptions = new Map<string, Subscription>();
  readonly #subscriptionKeys = new WeakMap<Subscription, string>();
  /** Per endpoint push, the filtered load assignments of each full list, computed once. */
  readonly #filtered = new WeakMap<PushRequest, Map<string, { resources: readonly PreparedResource[]; names: readonly string[] }>>();
  readonly debug: DebugTypes;
  readonly #delta: DeltaStreams;
  /** Per watch, the generator's cache key (proxy facts) at the last response: a change needs a push. */
  readonly #proxyKeys = new WeakMap<WatchState, string>();
  readonly #session: SessionHost;

  constructor(opts: AdsServerOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#clock = opts.clock ?? systemClock;
    this.#debouncer = new Debouncer({ afterMs: opts.debounceAfterMs, maxMs: opts.debounceMaxMs, clock: this.#clock }, (r) => { this.#fanOut(r); });
    // Pushes never wait for a proxy to read (see Connection.park); the slot timeout is a second bound.
    this.#queue = new PushQueue(opts.pushThrottle, (c, r) => this.#pushConnection(c, r), { slotTimeoutMs: 5_000 });
    this.#session = {
      log: opts.log, metrics: opts.metrics, limits: this.#limits,
      refusals: new AggregatedLog(opts.log),
      caps: new StreamCaps(this.#limits.maxStreamsPerConnection, this.#limits.maxStreamsPerIdentity),
      connectionCount: () => this.#conns.size,
    };
    this.debug = new DebugTypes({
      connections: () => this.connections(),
      currentConfig: (conn, t) => {
        const watch = conn.watches.get(t);
        return watch ? this.#generate(conn, watch, this.#opts.view()).resources : [];
      },
      controlPlaneId: opts.controlPlaneId,
      controlPlaneVersion: opts.controlPlaneVersion,
      systemNamespace: opts.systemNamespace,
    });
    this.#delta = new DeltaStreams({
      log: opts.log, metrics: opts.metrics, limits: this.#limits, clock: this.#clock, identityCheck: opts.identityCheck, generators: opts.generators,
      view: () => this.#opts.view(),
      add: (c) => { this.#conns.add(c); this.#opts.metrics.connections.set(this.#conns.size); },
      remove: (c) => { this.#forget(c); },
      generate: (c, w, view) => this.#generate(c, w, view).resources,
      computed: (c, w, view) => { this.#noteProxyKey(c, w, view); },
      sendOptions: (c) => this.#sendOptions(c),
      refusals: this.#session.refusals,
    });
  }

  get limits(): ServerLimits {
    return this.#limits;
  }

  connections(): AnyConnection[] {
    return [...this.#conns];
  }

  /** The gRPC handlers for envoy.service.discovery.v3.AggregatedDiscoveryService. */
  implementation(authenticate?: Authenticate): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: AdsCall) => {
        void serveStream<DiscoveryRequest, PreparedResponse, Connection>(this.#session, call, authenticate, {
          label: 'ADS',
          connect: (req, identity) => this.#connect(call, req, identity),
          onRequest: (conn, req) => this.#onRequest(conn, req),
          closed: (conn) => { this.#forget(conn); },
        });
      },
      DeltaAggregatedResources: (call: DeltaCall) => { void serveStream(this.#session, call, authenticate, this.#delta.variant(call)); },
    };
  }

  /** A change happened: debounce, then push to every connection that cares. */
  push(req: PushRequest): void {
    this.#debouncer.enqueue(req);
  }

  /** Waits until all queued pushes have been written. */
  async drained(): Promise<void> {
    this.#debouncer.flush();
    await this.#queue.drained();
  }

  close(): void {
    this.#debouncer.stop();
    for (const c of this.#conns) c.markClosed();
  }

  #forget(conn: AnyConnection): void {
    this.#conns.delete(conn);
    this.#queue.remove(conn);
    this.#opts.metrics.connections.set(this.#conns.size);
  }

  /** The bounded writer's settings for one connection: PILOT_XDS_SEND_TIMEOUT, and what a timeout logs. */
  #sendOptions(conn: () => AnyConnection): BoundedSenderOptions {
    return {
      timeoutMs: this.#opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
      onTimeout: (stalledMs, unflushed) => {
        const c = conn();
        this.#opts.metrics.writeTimeouts.inc();
        this.#session.refusals.warn('ADS: send timeout, closing the stream (the proxy reads nothing)', { conId: c.conId, peer: c.peer, stalledMs, unflushed });
      },
    };
  }

  #connect(call: AdsCall, req: DiscoveryRequest, identity: Identity | undefined): Connection | undefined {
    const node = req.node;
    if (!node?.id) throw new XdsStatusError(status.INVALID_ARGUMENT, 'the first DiscoveryRequest on a stream must carry node.id');
    const metadata = (node.metadata ? structToJson(node.metadata) : {}) as Record<string, unknown>;
    const problem = nodeIdProblem(node.id, metadata['INSTANCE_IPS']);
    if (problem !== undefined) {
      this.#opts.metrics.streamsRefused.inc({ reason: 'node' });
      throw new XdsStatusError(status.INVALID_ARGUMENT, problem);
    }
    const proxy = parseProxy(node.id, metadata);
    if (identity && this.#opts.identityCheck && proxy.namespace !== identity.namespace) {
      this.#opts.metrics.streamsRefused.inc({ reason: 'identity_mismatch' });
      this.#session.refusals.warn('xDS stream refused: identity does not match node', { node: node.id, identity: identity.spiffe });
      call.emit('error', { code: status.PERMISSION_DENIED, details: `authenticated as ${identity.spiffe}, which does not match the node's namespace ${quoteInput(proxy.namespace)}` });
      return undefined;
    }
    const conn: Connection = new Connection(call, proxy, identity, new Date(this.#clock.now()), this.#sendOptions(() => conn));
    this.#conns.add(conn);
    this.#opts.metrics.connections.set(this.#conns.size);
    this.#opts.log.info('ADS: new connection', { conId: conn.conId, peer: conn.peer, cluster: proxy.clusterId, network: proxy.network });
    return conn;
  }

  async #onRequest(conn: Connection, req: DiscoveryRequest): Promise<void> {
    const t = parseTypeUrl(req.typeUrl ?? '');
    const names = req.resourceNames ?? [];
    if (names.length > this.#limits.maxResourceNames) throw new XdsStatusError(status.INVALID_ARGUMENT, `request for ${t} names ${names.length} resources (limit ${this.#limits.maxResourceNames})`);
    if (isDebugType(t)) {
      // Debug types are request/response: every request is answered and none is tracked.
      await conn.send(this.debug.respond(conn, t, names, this.#opts.debugAuth));
      return;
    }
    if (!conn.watches.has(t) && conn.watches.size >= this.#limits.maxWatchedTypes) throw new XdsStatusError(status.INVALID_ARGUMENT, `too many watched types (limit ${this.#limits.maxWatchedTypes})`);
    if (!this.#opts.generators(conn.proxy, t)) throw new XdsStatusError(status.INVALID_ARGUMENT, `unsupported type URL ${t} for a ${conn.proxy.type} proxy (generator ${conn.proxy.generator || 'default'})`);
    const now = new Date(this.#clock.now());
    const view: { resourceNames: readonly string[]; typeUrl: string; responseNonce?: string; errorMessage?: string } = { typeUrl: t, resourceNames: names };
    if (req.responseNonce) view.responseNonce = req.responseNonce;
    if (req.errorDetail) view.errorMessage = req.errorDetail.message ?? '';
    const { watch, decision } = applyRequest(conn.watches.get(t), t, view, now);
    watch.subscription = this.#intern(watch.subscription);
    conn.watches.set(t, watch);
    if (decision.kind === 'nack') {
      this.#opts.metrics.rejects.inc({ type: t });
      this.#opts.log.warn('ADS: NACK', { conId: conn.conId, type: t, nonce: req.responseNonce, error: decision.error });
    }
    if (decision.respond) await this.#respond(conn, watch, undefined, 'request');
  }

  #subscriptionKey(sub: Subscription): string {
    if (sub.wildcard) return '*';
    let key = this.#subscriptionKeys.get(sub);
    if (key === undefined) {
      key = [...sub.names].sort().join('\n');
      this.#subscriptionKeys.set(sub, key);
    }
    return key;
  }

  #intern(sub: Subscription): Subscription {
    if (sub.wildcard) return sub;
    const key = this.#subscriptionKey(sub);
    const known = this.#subscriptions.get(key);
    if (known) return known;
    if (this.#subscriptions.size > 10_000) this.#subscriptions.clear();
    this.#subscriptions.set(key, sub);
    return sub;
  }

  #generate(conn: AnyConnection, watch: WatchState, view: MeshView): { key: string; resources: readonly PreparedResource[]; names: readonly string[] } {
    const gen = this.#opts.generators(conn.proxy, watch.typeUrl);
    if (!gen) return { key: '', resources: [], names: [] };
    if (this.#cacheVersion !== view.version) { this.#cache.clear(); this.#cacheVersion = view.version; }
    const sub = watch.subscription;
    const key = `${watch.typeUrl}\u0000${gen.cacheKey(conn.proxy, view)}\u0000${this.#subscriptionKey(sub)}`;
    let out = this.#cache.get(key);
    if (!out) {
      const resources = gen.generate(conn.proxy, view, sub.wildcard ? 'wildcard' : [...sub.names]);
      out = { resources, names: resources.map((r) => r.name) };
      this.#cache.set(key, out);
    }
    return { key, ...out };
  }

  /**
   * Sends the current state of one watched type; `endpointPush` restricts EDS to the changed hosts.
   * A `push` hands the response over without waiting; a `request` answer waits (bounded) for earlier
   * responses to be read, so a client that sends without reading cannot make us buffer without bound.
   */
  async #respond(conn: Connection, watch: WatchState, endpointPush: PushRequest | undefined, mode: 'push' | 'request'): Promise<void> {
    const started = this.#clock.now();
    const view = this.#opts.view();
    const full = this.#generate(conn, watch, view);
    const { resources, names } = endpointPush ? this.#onlyChanged(endpointPush, full.key, full.resources) : full;
    const size = resourcesSize(resources);
    if (size > this.#limits.maxResponseBytes) {
      this.#opts.metrics.pushErrors.inc({ type: watch.typeUrl });
      throw new Error(`response for ${watch.typeUrl} is ${size} bytes (limit ${this.#limits.maxResponseBytes})`);
    }
    const nonce = conn.nextNonce(view.version);
    const resp = { versionInfo: view.version, typeUrl: watch.typeUrl, nonce, resources };
    if (mode === 'push') conn.write(resp);
    else await conn.send(resp);
    this.#noteProxyKey(conn, watch, view);
    recordSent(watch, nonce, view.version, names, new Date(this.#clock.now()));
    this.#opts.metrics.pushes.inc({ type: watch.typeUrl });
    this.#opts.metrics.pushTime.observe({ type: watch.typeUrl }, (this.#clock.now() - started) / 1000);
  }

  /** The load assignments of a full list that belong to the push's changed hosts, memoized per push. */
  #onlyChanged(req: PushRequest, key: string, all: readonly PreparedResource[]): { resources: readonly PreparedResource[]; names: readonly string[] } {
    let memo = this.#filtered.get(req);
    if (!memo) { memo = new Map(); this.#filtered.set(req, memo); }
    let hit = memo.get(key);
    if (!hit) {
      const resources = all.filter((r) => req.hostnames.has(hostOfClusterName(r.name)));
      hit = { resources, names: resources.map((r) => r.name) };
      memo.set(key, hit);
    }
    return hit;
  }

  #fanOut(req: PushRequest): void {
    for (const c of this.#conns) this.#queue.enqueue(c, req);
  }

  /** Remembers the proxy facts a response was computed from. */
  #noteProxyKey(conn: AnyConnection, watch: WatchState, view: MeshView): void {
    const gen = this.#opts.generators(conn.proxy, watch.typeUrl);
    if (gen) this.#proxyKeys.set(watch, gen.cacheKey(conn.proxy, view));
  }

  /**
   * Whether what a generator reads about this proxy changed since its last response, e.g. its own
   * endpoints appeared (inbound clusters and listeners), which an endpoint-only push must not miss.
   */
  #proxyFactsChanged(conn: AnyConnection, watch: WatchState, view: MeshView): boolean {
    const before = this.#proxyKeys.get(watch);
    const gen = this.#opts.generators(conn.proxy, watch.typeUrl);
    return before !== undefined && gen !== undefined && gen.cacheKey(conn.proxy, view) !== before;
  }

  async #pushConnection(conn: AnyConnection, req: PushRequest): Promise<void> {
    if (conn.isClosed()) return;
    if (conn.sendBusy) {
      // The proxy has not read the previous responses yet: keep this push (merged) for when it has,
      // and give the slot to the next proxy now.
      conn.park(req, (r) => { this.#queue.enqueue(conn, r); });
      return;
    }
    const types = [...conn.watches.keys()].sort((a, b) => orderOf(a) - orderOf(b));
    const view = this.#opts.view();
    try {
      for (const t of types) {
        const watch = conn.watches.get(t);
        if (!watch || conn.isClosed()) continue;
        const eds = t === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL;
        const needed = req.full || eds || this.#proxyFactsChanged(conn, watch, view);
        if (!needed) continue;
        if (conn instanceof DeltaConnection) {
          const dw = this.#delta.watchOf(conn, t);
          if (dw) await this.#delta.respond(conn, dw, 'push');
        } else {
          // Endpoint-only push: just the load assignments of the changed hostnames.
          await this.#respond(conn, watch, !req.full && eds ? req : undefined, 'push');
        }
      }
      this.#opts.metrics.convergence.observe((this.#clock.now() - req.start) / 1000);
    } catch (err) {
      this.#opts.log.warn('ADS: push failed', { conId: conn.conId, error: errorMessage(err) });
    }
  }
}

/** The hostname in `outbound|80||host`, `inbound|80||`, or `outbound_.80_._.host`. */
export function hostOfClusterName(name: string): string {
  const bar = name.lastIndexOf('|');
  if (bar >= 0) return name.slice(bar + 1);
  const m = /^(?:outbound|inbound)_\.[^_]*_\.[^_]*_\.(.*)$/.exec(name);
  return m?.[1] ?? name;
}
