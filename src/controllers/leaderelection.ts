/**
 * istiod's leader election (docs/istio-compat.md §10.1), wire-compatible with its lock so Isthmus and istiod
 * replicas can share one: a ConfigMap (default `istio-namespace-controller-election`) in the system
 * namespace of the cluster being LED, annotation `control-plane.alpha.kubernetes.io/leader` holding
 * client-go's LeaderElectionRecord JSON plus Istio's `holderKey`.
 *
 * - `holderIdentity` is the replica's name (POD_NAME), never prefixed;
 * - `holderKey` is the revision (`default`); a candidate that is REMOTE to the led cluster (an external
 *   control plane leading cluster2) prefixes it with `^`;
 * - priority (Istio's LocationPrioritizedComparison): a candidate of the default revision steals from
 *   another revision; for the same revision a local candidate steals from a remote (`^`) holder;
 * - lease 30 s, renew deadline lease/2 (15 s), retry lease/4 (7.5 s) with client-go's 1.2 jitter while
 *   acquiring; expiry is judged, as client-go does, from the LOCAL time the record was last seen to
 *   change (no trust in other clocks); writes use resourceVersion (optimistic concurrency);
 * - on stop, a leader releases the lock (empty holder, 1 s lease) so a successor takes over at once.
 */
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';
import { silentLogger } from '../observability/log.ts';
import { sleep, systemClock, type Clock } from '../model/clock.ts';

export const NAMESPACE_CONTROLLER_ELECTION = 'istio-namespace-controller-election';
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
export const REMOTE_KEY_PREFIX = '^';
export const DEFAULT_LEASE_DURATION_MS = 30_000;
export const CONTROL_PLANE_CLUSTERS_ANNOTATION = 'topology.istio.io/controlPlaneClusters';

/** client-go's LeaderElectionRecord with Istio's holderKey, as JSON. */
export interface LeaderElectionRecord {
  readonly holderIdentity: string;
  readonly holderKey: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: string;
  readonly renewTime: string;
  readonly leaderTransitions: number;
}

/** A lock object as read: the record (if any), its raw text and the object's resourceVersion. */
export interface LockState {
  readonly record: LeaderElectionRecord | undefined;
  readonly raw: string;
  readonly resourceVersion: string;
}

/** Every call takes a signal: stopping aborts the call in flight instead of waiting for the server. */
export interface ElectionLock {
  readonly description: string;
  /** undefined when the lock object does not exist. */
  get(signal?: AbortSignal): Promise<LockState | undefined>;
  /** Throws (e.g. 409) when the object exists already. */
  create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void>;
  /** Throws (409) when `prev.resourceVersion` is stale. */
  update(record: LeaderElectionRecord, prev: LockState, signal?: AbortSignal): Promise<void>;
}

/** RFC 3339 at second precision, as metav1.Time marshals. */
export function metaTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseRecord(raw: string | undefined): LeaderElectionRecord | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const r = JSON.parse(raw) as Partial<LeaderElectionRecord>;
    return {
      holderIdentity: typeof r.holderIdentity === 'string' ? r.holderIdentity : '',
      holderKey: typeof r.holderKey === 'string' ? r.holderKey : '',
      leaseDurationSeconds: typeof r.leaseDurationSeconds === 'number' ? r.leaseDurationSeconds : 0,
      acquireTime: typeof r.acquireTime === 'string' ? r.acquireTime : '',
      renewTime: typeof r.renewTime === 'string' ? r.renewTime : '',
      leaderTransitions: typeof r.leaderTransitions === 'number' ? r.leaderTransitions : 0,
    };
  } catch {
    return undefined;
  }
}

export interface Candidate {
  readonly identity: string;
  readonly revision: string;
  /** Remote to the led cluster: the key gets the `^` prefix. */
  readonly remote: boolean;
  /** The mesh's default revision ('' when unknown). */
  readonly defaultRevision: string;
}

export function candidateKey(c: Candidate): string {
  return c.remote ? `${REMOTE_KEY_PREFIX}${c.revision}` : c.revision;
}

/** Istio's LocationPrioritizedComparison: may `me` take a valid lock held under `holderKey`? */
export function canSteal(me: Candidate, holderKey: string): boolean {
  const holderRemote = holderKey.startsWith(REMOTE_KEY_PREFIX);
  const holderRevision = holderRemote ? holderKey.slice(REMOTE_KEY_PREFIX.length) : holderKey;
  if (me.revision !== holderRevision && me.defaultRevision !== '' && me.defaultRevision === me.revision) return true;
  return me.revision === holderRevision && !me.remote && holderRemote;
}

/**
 * client-go's tryAcquireOrRenew decision, pure: the record to write, or undefined when another holder's
 * lease is valid and may not be stolen. `observedValid`: the observed lease has not expired by our clock.
 */
export function nextRecord(me: Candidate, observed: LeaderElectionRecord | undefined, observedValid: boolean, now: number, leaseSeconds: number): LeaderElectionRecord | undefined {
  const mine = observed?.holderIdentity === me.identity;
  if (observed && observed.holderIdentity !== '' && !mine && observedValid && !canSteal(me, observed.holderKey)) return undefined;
  const t = metaTime(now);
  return {
    holderIdentity: me.identity,
    holderKey: candidateKey(me),
    leaseDurationSeconds: leaseSeconds,
    acquireTime: mine && observed.acquireTime ? observed.acquireTime : t,
    renewTime: t,
    leaderTransitions: observed ? (mine ? observed.leaderTransitions : observed.leaderTransitions + 1) : 0,
  };
}

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; annotations?: Record<string, string> };
  [k: string]: unknown;
}

/** The ConfigMap lock (client-go `configmaps` resource lock). */
export class ConfigMapLock implements ElectionLock {
  readonly description: string;
  readonly #client: KubeClient;
  readonly #ns: string;
  readonly #name: string;
  #last: ConfigMap | undefined;

  constructor(client: KubeClient, namespace: string, name = NAMESPACE_CONTROLLER_ELECTION) {
    this.#client = client;
    this.#ns = namespace;
    this.#name = name;
    this.description = `${namespace}/${name}`;
  }

  #path(item = true): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.#ns)}/configmaps`;
    return item ? `${base}/${encodeURIComponent(this.#name)}` : base;
  }

  async get(signal?: AbortSignal): Promise<LockState | undefined> {
    const cm = await this.#client.getOptional<ConfigMap>(this.#path(), signal);
    this.#last = cm;
    if (!cm) return undefined;
    const raw = cm.metadata.annotations?.[LEADER_ANNOTATION] ?? '';
    return { record: parseRecord(raw), raw, resourceVersion: cm.metadata.resourceVersion ?? '' };
  }

  async create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    await this.#client.request('POST', this.#path(false), {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: this.#name, namespace: this.#ns, annotations: { [LEADER_ANNOTATION]: JSON.stringify(record) } },
    }, 'application/json', signal ? { signal } : {});
  }

  async update(record: LeaderElectionRecord, prev: LockState, signal?: AbortSignal): Promise<void> {
    const base: ConfigMap = this.#last ?? { metadata: { name: this.#name, namespace: this.#ns } };
    const body: ConfigMap = {
      ...base,
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { ...base.metadata, resourceVersion: prev.resourceVersion, annotations: { ...base.metadata.annotations, [LEADER_ANNOTATION]: JSON.stringify(record) } },
    };
    await this.#client.request('PUT', this.#path(), body, 'application/json', signal ? { signal } : {});
  }
}

export interface LeaderElectionOptions {
  readonly lock: ElectionLock;
  readonly identity: string;
  /** Default `default`. */
  readonly revision?: string;
  /** Whether this candidate is remote to the led cluster. */
  readonly remote: boolean;
  /** The default revision of the mesh; default `default`. */
  readonly defaultRevision?: string;
  /** Default 30 s; renew deadline and retry period follow istiod (lease/2, lease/4) unless given. */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** How long stopping waits to release the lock before leaving it to expire (default 2 s). */
  readonly releaseTimeoutMs?: number;
  /** ENABLE_LEADER_ELECTION=false: lead at once without a lock. */
  readonly enabled?: boolean;
  readonly clock?: Clock;
  /** [0,1) for the acquire jitter; injected for tests. */
  readonly random?: () => number;
  readonly log?: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

/** Read through a call so the compiler does not assume the loop condition still holds after an await. */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

export class LeaderElection {
  readonly #opts: LeaderElectionOptions;
  readonly #me: Candidate;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #leading = false;
  #lastRenew = 0;
  #observedRaw: string | undefined;
  #observedAt = 0;
  #observed: LockState | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#me = { identity: opts.identity, revision: opts.revision ?? 'default', remote: opts.remote, defaultRevision: opts.defaultRevision ?? 'default' };
    this.#clock = opts.clock ?? systemClock;
    this.#log = (opts.log ?? silentLogger).scope('leader');
    this.#leaseMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? this.#leaseMs / 2;
    this.#retryMs = opts.retryPeriodMs ?? this.#leaseMs / 4;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  get key(): string {
    return candidateKey(this.#me);
  }

  start(): void {
    if (this.#abort) return;
    this.#abort = new AbortController();
    if (this.#opts.enabled === false) { this.#become(true); return; }
    this.#loop = this.#run(this.#abort.signal);
  }

  /**
   * Stops campaigning; a leader releases the lock unless `release` is false (as a crash would).
   * Bounded whatever the API server does: the call in flight is aborted, and the release gets
   * `releaseTimeoutMs` before the lock is left to expire.
   */
  async stop(opts: { readonly release?: boolean } = {}): Promise<void> {
    const abort = this.#abort;
    if (!abort) return;
    abort.abort();
    await this.#loop;
    this.#abort = undefined;
    this.#loop = undefined;
    if (this.#leading && opts.release !== false && this.#opts.enabled !== false) await this.#release();
    if (this.#leading) this.#become(false);
  }

  async #run(signal: AbortSignal): Promise<void> {
    const random = this.#opts.random ?? Math.random;
    while (!signal.aborted) {
      let ok = false;
      let heldByOther = false;
      try {
        ({ ok, heldByOther } = await this.#tryAcquireOrRenew(signal));
      } catch (err) {
        if (isAborted(signal)) break;
        this.#log.warn('lock update failed', { lock: this.#opts.lock.description, error: errorMessage(err) });
      }
      if (isAborted(signal)) break;
      const now = this.#clock.now();
      if (this.#leading) {
        if (ok) this.#lastRenew = now;
        else if (heldByOther || now - this.#lastRenew >= this.#renewDeadlineMs) this.#become(false);
      } else if (ok) {
        this.#lastRenew = now;
        this.#become(true);
      }
      const wait = this.#leading ? this.#retryMs : this.#retryMs * (1 + 0.2 * random());
      await sleep(this.#clock, wait, signal);
    }
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<{ ok: boolean; heldByOther: boolean }> {
    const lock = this.#opts.lock;
    const now = this.#clock.now();
    const leaseSeconds = Math.max(1, Math.round(this.#leaseMs / 1000));
    const state = await lock.get(signal);
    if (!state) {
      const rec = nextRecord(this.#me, undefined, false, now, leaseSeconds);
      if (!rec) return { ok: false, heldByOther: false };
      try {
        await lock.create(rec, signal);
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 409) return { ok: false, heldByOther: false };
        throw err;
      }
      return { ok: true, heldByOther: false };
    }
    if (state.raw !== this.#observedRaw) {
      this.#observedRaw = state.raw;
      this.#observedAt = now;
    }
    this.#observed = state;
    const observed = state.record;
    const valid = observed !== undefined && this.#observedAt + observed.leaseDurationSeconds * 1000 > now;
    const rec = nextRecord(this.#me, observed, valid, now, leaseSeconds);
    if (!rec) return { ok: false, heldByOther: true };
    try {
      await lock.update(rec, state, signal);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) return { ok: false, heldByOther: false };
      throw err;
    }
    if (observed && observed.holderIdentity !== '' && observed.holderIdentity !== this.#me.identity) {
      this.#log.info('took over the lock', { lock: lock.description, from: observed.holderIdentity, fromKey: observed.holderKey, expired: !valid });
    }
    return { ok: true, heldByOther: false };
  }

  async #release(): Promise<void> {
    const now = this.#clock.now();
    const signal = AbortSignal.timeout(this.#opts.releaseTimeoutMs ?? 2_000);
    try {
      const state = await this.#opts.lock.get(signal);
      if (state?.record?.holderIdentity !== this.#me.identity) return;
      await this.#opts.lock.update({
        holderIdentity: '', holderKey: '', leaseDurationSeconds: 1, acquireTime: metaTime(now), renewTime: metaTime(now),
        leaderTransitions: state.record.leaderTransitions,
      }, state, signal);
    } catch (err) {
      this.#log.warn('releasing the lock failed; it will expire', { lock: this.#opts.lock.description, error: errorMessage(err) });
    }
  }

  #become(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    this.#log.info(leading ? 'started leading' : 'stopped leading', { lock: this.#opts.lock.description, identity: this.#me.identity, key: this.key });
    try {
      if (leading) this.#opts.onStartedLeading();
      else this.#opts.onStoppedLeading();
    } catch (err) {
      this.#log.error('leadership callback failed', { error: errorMessage(err) });
    }
  }

  /** The lock as last read (for debug pages). */
  get observed(): LockState | undefined {
    return this.#observed;
  }
}

/**
 * Should this control plane lead a cluster (docs/istio-compat.md §10.2)? Its own (config) cluster: always. Another cluster:
 * only with EXTERNAL_ISTIOD=true, and only when that cluster's system Namespace annotation
 * `topology.istio.io/controlPlaneClusters` (comma-separated) names our cluster id or `*`.
 */
export function shouldLead(
  clusterNamespaceAnnotations: Readonly<Record<string, string>> | undefined,
  localClusterId: string,
  externalIstiod: boolean,
  isLocalCluster = false,
): boolean {
  if (isLocalCluster) return true;
  if (!externalIstiod) return false;
  const value = clusterNamespaceAnnotations?.[CONTROL_PLANE_CLUSTERS_ANNOTATION] ?? '';
  return value.split(',').map((s) => s.trim()).some((c) => c === '*' || (c !== '' && c === localClusterId));
}

/**
 * Reads the led cluster's system Namespace and applies `shouldLead`, retrying transient errors with
 * backoff (istiod retries too); a missing Namespace means no.
 */
export async function shouldLeadCluster(
  client: KubeClient, systemNamespace: string, localClusterId: string, externalIstiod: boolean,
  opts: { readonly isLocalCluster?: boolean; readonly attempts?: number; readonly clock?: Clock; readonly signal?: AbortSignal } = {},
): Promise<boolean> {
  if (opts.isLocalCluster === true) return true;
  if (!externalIstiod) return false;
  const clock = opts.clock ?? systemClock;
  const signal = opts.signal ?? new AbortController().signal;
  const attempts = opts.attempts ?? 5;
  let delay = 200;
  for (let i = 1; ; i++) {
    try {
      const ns = await client.getOptional<{ metadata: { annotations?: Record<string, string> } }>(`/api/v1/namespaces/${encodeURIComponent(systemNamespace)}`, signal);
      return ns ? shouldLead(ns.metadata.annotations, localClusterId, externalIstiod) : false;
    } catch (err) {
      if (i >= attempts || signal.aborted || (err instanceof KubeApiError && err.status === 403)) throw err;
      await sleep(clock, delay, signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
