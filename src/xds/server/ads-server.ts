/**
 * State-of-the-world ADS over grpc-js: one Connection per stream, requests handled in order,
 * responses from generators cached (assembly.ts, resource-cache.ts) so that every proxy of a class
 * gets the same bytes, and pushes through a debouncer and a per-connection queue.
 *
 * The push pipeline does only the work a change needs. A request leaving the debouncer is stamped
 * with the view it is computed for. A full push (services, config, networks) recomputes every type
 * for every connection. An endpoint-only push names its services: it regenerates only their load
 * assignments (once per network view; the cache keeps every other assignment and every CDS, LDS and
 * RDS response), sends CDS/LDS/RDS only to a proxy whose own facts changed (its endpoints), visits
 * only the connections that watch one of them or whose own proxy facts changed, and sends those
 * only what changed. Requests and pushes are computed from the newest view (see #servedView).
 */
import { type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../../observability/log.ts';
import { AggregatedLog } from '../../observability/log-limiter.ts';
import { ErrorCodes, errorMessage, IsthmusError } from '../../model/errors.ts';
import { typeUrl as parseTypeUrl, type TypeUrl } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import { nodeLocality, parseProxy } from '../../model/proxy.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, SECRET_TYPE_URL,
} from '../../model/type-urls.ts';
import { structToJson, unsetValuePath } from '../../proto/wkt.ts';
import { Debouncer } from '../../push/debounce.ts';
import { PushQueue } from '../../push/queue.ts';
import { systemClock, type Clock } from '../../model/clock.ts';
import type { PushRequest } from '../../push/request.ts';
import { resourcesSize, type PreparedResponse } from '../protocol/response.ts';
import { applyRequest, isWildcardType, recordSent, type RequestView, type WatchState } from '../protocol/watch.ts';
import type { ReceivedRequest } from '../protocol/request-wire.ts';
import { nodeIdProblem, quoteInput } from '../protocol/node-id.ts';
import { StreamCaps } from './stream-caps.ts';
import { receiveWith, sendInParts } from './call-transport.ts';
import { RequestFrameDecoder } from './request-frames.ts';
import { responseParts } from '../protocol/response-parts.ts';
import type { BoundedSenderOptions } from './bounded-send.ts';
import { Connection, type AdsCall } from './connection.ts';
import { DeltaConnection, type AnyConnection } from './delta-connection.ts';
import { DeltaStreams, type DeltaCall } from './delta-stream.ts';
import { DebugTypes, isDebugType } from './debug-types.ts';
import { PushScope } from './push-scope.ts';
import { ResponseAssembly } from './assembly.ts';
import { ClassKeys } from './class-keys.ts';
import { Subscriptions } from './subscriptions.ts';
import { ResourceCache, type CacheStats } from './resource-cache.ts';
import { serveStream, type Authenticate, type SessionHost } from './stream-session.ts';
import type { XdsMetrics } from './metrics.ts';
import { DEFAULT_LIMITS, DEFAULT_SEND_TIMEOUT_MS, type GeneratorLookup, type Identity, type ServerLimits } from './types.ts';
import { grpcStatusForCode } from '../../model/grpc-status.ts';

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
  /** Streams are refused (UNAVAILABLE) while this is false; default: always ready. */
  readonly ready?: () => boolean;
}

/** Push order that never references a resource before it exists (CDS before EDS, LDS before RDS). */
const PUSH_ORDER: readonly TypeUrl[] = [CLUSTER_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, SECRET_TYPE_URL];

/** The types a connection watches now, in PUSH_ORDER and then in the order first asked for (as a stable sort would give). */
function pushOrder(watches: ReadonlyMap<TypeUrl, WatchState>): TypeUrl[] {
  const out: TypeUrl[] = [];
  for (const t of PUSH_ORDER) if (watches.has(t)) out.push(t);
  if (out.length < watches.size) for (const t of watches.keys()) if (!PUSH_ORDER.includes(t)) out.push(t);
  return out;
}

export class AdsServer {
  readonly #opts: AdsServerOptions;
  readonly #limits: ServerLimits;
  readonly #clock: Clock;
  readonly #conns = new Set<AnyConnection>();
  readonly #debouncer: Debouncer;
  readonly #queue: PushQueue<AnyConnection>;
  readonly #cache = new ResourceCache();
  readonly #scope = new PushScope((n) => this.#cache.hostOf(n));
  /**
   * Versions the resource cache may be advanced from with the changes of the next push: that of the
   * last push that left the debouncer, and those responses were computed from since.
   */
  #cacheBases = new Set<string>();
  /** Identical subscriptions (e.g. every sidecar's EDS names) share one object, one key and their name bytes. */
  readonly #subscriptions = new Subscriptions();
  readonly debug: DebugTypes;
  readonly #delta: DeltaStreams;
  /** Per watch, its generator's cache key (the proxy's class) now and at its last response. */
  readonly #classKeys: ClassKeys;
  readonly #assembly: ResponseAssembly;
  readonly #session: SessionHost;

  constructor(opts: AdsServerOptions) {
    this.#opts = opts;
    this.#limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.#clock = opts.clock ?? systemClock;
    this.#classKeys = new ClassKeys(opts.generators);
    this.#assembly = new ResponseAssembly({ generators: opts.generators, cache: this.#cache, scope: this.#scope, subscriptions: this.#subscriptions, classKeys: this.#classKeys });
    this.#debouncer = new Debouncer({ afterMs: opts.debounceAfterMs, maxMs: opts.debounceMaxMs, clock: this.#clock }, (r) => { this.#fanOut(r); });
    // Pushes never wait for a proxy to read (see Connection.park); the slot timeout is a second bound.
    this.#queue = new PushQueue(opts.pushThrottle, (c, r) => this.#pushConnection(c, r), { slotTimeoutMs: 5_000 });
    this.#session = {
      log: opts.log, metrics: opts.metrics, limits: this.#limits,
      refusals: new AggregatedLog(opts.log),
      caps: new StreamCaps(this.#limits.maxStreamsPerConnection, this.#limits.maxStreamsPerIdentity),
      connectionCount: () => this.#conns.size,
      ready: opts.ready ?? (() => true),
    };
    this.debug = new DebugTypes({
      connections: () => this.connections(),
      currentConfig: (conn, t) => {
        const watch = conn.watches.get(t);
        return watch ? this.#assembly.whole(conn.proxy, watch, this.#servedView()).resources : [];
      },
      controlPlaneId: opts.controlPlaneId,
      controlPlaneVersion: opts.controlPlaneVersion,
      systemNamespace: opts.systemNamespace,
    });
    this.#delta = new DeltaStreams({
      log: opts.log, metrics: opts.metrics, limits: this.#limits, clock: this.#clock, identityCheck: opts.identityCheck, generators: opts.generators,
      view: () => this.#servedView(),
      add: (c) => { this.#conns.add(c); this.#opts.metrics.connections.set(this.#conns.size); },
      remove: (c) => { this.#forget(c); },
      generate: (c, w, view) => this.#assembly.whole(c.proxy, w, view).resources,
      computed: (c, w, view) => { this.#classKeys.noteSent(c.proxy, w, view); },
      sendOptions: (c) => this.#sendOptions(c),
      refusals: this.#session.refusals,
    });
  }

  get limits(): ServerLimits {
    return this.#limits;
  }

  /** What the resource cache generated so far (tests count misses with it). */
  get cacheStats(): CacheStats {
    return this.#cache.stats;
  }

  connections(): AnyConnection[] {
    return [...this.#conns];
  }

  /** The gRPC handlers for envoy.service.discovery.v3.AggregatedDiscoveryService. */
  implementation(authenticate?: Authenticate): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: AdsCall) => {
        // ACKs that repeat the names of the one before are not copied (request-frames.ts). The decoder
        // is swapped between two requests; a few tries, as Envoy may send its first ones together.
        let framing = 0;
        const frame = (): void => {
          if (framing >= 0 && framing < 8) framing = receiveWith(call, (max) => new RequestFrameDecoder(max)) ? -1 : framing + 1;
        };
        void serveStream<ReceivedRequest, PreparedResponse, Connection>(this.#session, call, authenticate, {
          label: 'ADS',
          connect: (req, identity) => this.#connect(call, req, identity),
          onRequest: (conn, req) => { frame(); return this.#onRequest(conn, req); },
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

  /**
   * The view every response is computed from, requests and pushes alike: the newest. While an
   * endpoint-only change waits in the debouncer, the cache is moved to it as the push will move it
   * (only the changed services' load assignments dropped), so a request in the debounce window
   * neither empties the cache nor sees proxy facts that a push computed from an older view would
   * then take for a change (and answer with CDS/LDS again).
   */
  #servedView(): MeshView {
    const view = this.#opts.view();
    const pending = this.#debouncer.pending;
    if (pending !== undefined && !pending.full) {
      this.#cache.advance(this.#cacheBases, view, pending.hostnames);
      // Advanced or refilled, the cache is about to hold `view`; the pending request will name
      // every change after it, so the push may advance from it.
      this.#cacheBases.add(view.version);
    }
    return view;
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

  #connect(call: AdsCall, req: ReceivedRequest, identity: Identity | undefined): Connection | undefined {
    const node = req.node;
    if (!node?.id) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, 'the first DiscoveryRequest on a stream must carry node.id');
    const metadata = (node.metadata ? structToJson(node.metadata) : {}) as Record<string, unknown>;
    const unset = unsetValuePath(node.metadata, 'node.metadata');
    const problem = nodeIdProblem(node.id, metadata['INSTANCE_IPS']) ?? (unset === undefined ? undefined : `${unset}: a protobuf Value with no kind set (istiod refuses such node metadata too)`);
    if (problem !== undefined) {
      this.#opts.metrics.streamsRefused.inc({ reason: 'node' });
      throw new IsthmusError(ErrorCodes.XdsRequestInvalid, problem);
    }
    const proxy = parseProxy(node.id, metadata, nodeLocality(node.locality));
    if (identity && this.#opts.identityCheck && proxy.namespace !== identity.namespace) {
      this.#opts.metrics.streamsRefused.inc({ reason: 'identity_mismatch' });
      this.#session.refusals.warn('xDS stream refused: identity does not match node', { node: node.id, identity: identity.spiffe });
      call.emit('error', { code: grpcStatusForCode(ErrorCodes.PermissionDenied), details: `authenticated as ${identity.spiffe}, which does not match the node's namespace ${quoteInput(proxy.namespace)}` });
      return undefined;
    }
    const conn: Connection = new Connection(call, proxy, identity, new Date(this.#clock.now()), this.#sendOptions(() => conn));
    // Responses go out as this stream's head plus resource bytes shared by every proxy that gets them.
    sendInParts(call, (m) => responseParts(m as PreparedResponse));
    this.#conns.add(conn);
    this.#opts.metrics.connections.set(this.#conns.size);
    this.#opts.log.info('ADS: new connection', { conId: conn.conId, peer: conn.peer, cluster: proxy.clusterId, network: proxy.network });
    return conn;
  }

  async #onRequest(conn: Connection, req: ReceivedRequest): Promise<void> {
    const t = parseTypeUrl(req.typeUrl ?? '');
    // The names stay encoded unless something reads them (request-wire.ts): most ACKs only compare bytes.
    const count = req.nameCount ?? req.resourceNames?.length ?? 0;
    if (count > this.#limits.maxResourceNames) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `request for ${t} names ${count} resources (limit ${this.#limits.maxResourceNames})`);
    if (isDebugType(t)) {
      // Debug types are request/response: every request is answered and none is tracked.
      await conn.send(this.debug.respond(conn, t, req.resourceNames ?? [], this.#opts.debugAuth));
      return;
    }
    if (!conn.watches.has(t) && conn.watches.size >= this.#limits.maxWatchedTypes) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `too many watched types (limit ${this.#limits.maxWatchedTypes})`);
    if (!this.#opts.generators(conn.proxy, t)) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `unsupported type URL ${t} for a ${conn.proxy.type} proxy (generator ${conn.proxy.generator || 'default'})`);
    const now = new Date(this.#clock.now());
    // Built field by field (every ACK passes here): no spread of temporary objects.
    const view: { -readonly [K in keyof RequestView]: RequestView[K] } = { typeUrl: t, get resourceNames(): readonly string[] { return req.resourceNames ?? []; } };
    if (req.namesWire) view.namesWire = req.namesWire;
    if (req.responseNonce) view.responseNonce = req.responseNonce;
    if (req.errorDetail) view.errorMessage = req.errorDetail.message ?? '';
    const { watch, decision } = applyRequest(conn.watches.get(t), t, view, now);
    watch.subscription = this.#subscriptions.intern(watch.subscription);
    if (watch.namesWire !== undefined) watch.namesWire = this.#subscriptions.internWire(watch.subscription, watch.namesWire);
    conn.watches.set(t, watch);
    if (decision.kind === 'nack') {
      this.#opts.metrics.rejects.inc({ type: t });
      this.#opts.log.warn('ADS: NACK', { conId: conn.conId, type: t, nonce: req.responseNonce, error: decision.error });
    }
    if (decision.kind === 'resubscribe' && decision.added !== undefined && answersWithAddedOnly(conn, t)) {
      // Only new names: answer with just those (the client keeps the rest); only removals: no answer.
      if (decision.added.length > 0) await this.#respond(conn, watch, { names: decision.added }, 'request');
      return;
    }
    if (decision.respond) await this.#respond(conn, watch, undefined, 'request');
  }

  /**
   * Sends the current state of one watched type, or part of it: `{ push }` restricts EDS to the hosts an
   * endpoint push changed, `{ names }` to the names a subscription added.
   * A `push` hands the response over without waiting; a `request` answer waits (bounded) for earlier
   * responses to be read, so a client that sends without reading cannot make us buffer without bound.
   */
  async #respond(conn: Connection, watch: WatchState, part: { readonly push: PushRequest } | { readonly names: readonly string[] } | undefined, mode: 'push' | 'request', pushView?: MeshView): Promise<void> {
    const started = this.#clock.now();
    const view = pushView ?? this.#servedView();
    const a = this.#assembly;
    const { resources, names } = part === undefined ? a.whole(conn.proxy, watch, view)
      : 'push' in part ? a.changed(conn.proxy, watch, view, part.push) : a.named(conn.proxy, watch, view, part.names);
    // An endpoint-only push says nothing when nothing this proxy watches changed.
    if (part !== undefined && 'push' in part && resources.length === 0) return;
    const size = resourcesSize(resources);
    if (size > this.#limits.maxResponseBytes) {
      this.#opts.metrics.pushErrors.inc({ type: watch.typeUrl });
      throw new Error(`response for ${watch.typeUrl} is ${size} bytes (limit ${this.#limits.maxResponseBytes})`);
    }
    const nonce = conn.nextNonce(view.version);
    const resp = { versionInfo: view.version, typeUrl: watch.typeUrl, nonce, resources };
    if (mode === 'push') conn.write(resp);
    else await conn.send(resp);
    this.#classKeys.noteSent(conn.proxy, watch, view);
    // After an endpoint push the client holds the same names as before; after a grown subscription, more.
    const held = part === undefined ? names : { added: 'push' in part ? [] : names };
    recordSent(watch, nonce, view.version, held, new Date(this.#clock.now()));
    this.#opts.metrics.pushes.inc({ type: watch.typeUrl });
    this.#opts.metrics.pushTime.observe({ type: watch.typeUrl }, (this.#clock.now() - started) / 1000);
  }

  /**
   * Stamps a debounced request with its view and queues it for the connections it concerns: all of
   * them for a full push; for an endpoint-only push, those that watch a changed service's load
   * assignments or whose own proxy facts changed (inbound clusters and listeners).
   */
  #fanOut(request: PushRequest): void {
    const view = this.#opts.view();
    const req: PushRequest = { ...request, view };
    const bases = this.#cacheBases;
    this.#cacheBases = new Set([view.version]);
    if (req.full) {
      for (const c of this.#conns) this.#queue.enqueue(c, req);
      return;
    }
    this.#cache.advance(bases, view, req.hostnames);
    for (const c of this.#conns) if (this.#concerns(c, req, view)) this.#queue.enqueue(c, req);
  }

  /** Whether an endpoint-only push has anything for this connection. */
  #concerns(conn: AnyConnection, req: PushRequest, view: MeshView): boolean {
    // The cheap test first (memoized per push and shared subscription): a changed load assignment it watches.
    const eds = conn.watches.get(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
    if (eds !== undefined && this.#scope.touches(req, eds.subscription)) return true;
    // Load assignments also depend on the proxy's place (its own endpoint's locality), which any endpoint push may move.
    for (const watch of conn.watches.values()) if (this.#classKeys.changed(conn.proxy, watch, view)) return true;
    return false;
  }

  async #pushConnection(conn: AnyConnection, req: PushRequest): Promise<void> {
    if (conn.isClosed()) return;
    if (conn.sendBusy) {
      // The proxy has not read the previous responses yet: keep this push (merged) for when it has,
      // and give the slot to the next proxy now.
      conn.park(req, (r) => { this.#queue.enqueue(conn, r); });
      return;
    }
    const types = pushOrder(conn.watches);
    // A push that waited (parked behind a slow proxy, or queued while newer changes came) is computed
    // from the newest view, as requests are: a change since that it does not name comes with its own push.
    const view = this.#servedView();
    try {
      for (const t of types) {
        const watch = conn.watches.get(t);
        if (!watch || conn.isClosed()) continue;
        const eds = t === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL;
        // Load assignments change only for the named services when the push names them all (endpoint
        // and Service changes): state-of-the-world EDS may then carry just those (Envoy keeps the rest).
        // ... unless what they read about the proxy changed (e.g. its locality): then every one may have.
        const factsChanged = !req.full && this.#classKeys.changed(conn.proxy, watch, view);
        const onlyChanged = eds && req.hostsKnown && !factsChanged;
        const needed = onlyChanged ? this.#scope.touches(req, watch.subscription) : req.full || factsChanged;
        if (!needed) continue;
        if (conn instanceof DeltaConnection) {
          const dw = this.#delta.watchOf(conn, t);
          if (dw) await this.#delta.respond(conn, dw, 'push', view);
        } else {
          await this.#respond(conn, watch, onlyChanged ? { push: req } : undefined, 'push', view);
        }
      }
      this.#opts.metrics.convergence.observe((this.#clock.now() - req.start) / 1000);
    } catch (err) {
      this.#opts.log.warn('ADS: push failed', { conId: conn.conId, error: errorMessage(err) });
    }
  }
}

/**
 * Whether a grown subscription is answered with only its new resources, as istiod does: for the types
 * that are not state-of-the-world complete (EDS, RDS), and not for proxyless gRPC, whose subscriptions
 * istiod always answers in full.
 */
function answersWithAddedOnly(conn: AnyConnection, t: TypeUrl): boolean {
  return !isWildcardType(t) && conn.proxy.generator !== 'grpc';
}
