/**
 * Remote clusters from Secrets labelled `istio/multiCluster=true` in the system namespace: each data
 * key is a cluster id, each value a kubeconfig. Clusters are added, replaced and removed while the
 * control plane runs. A replacement is built beside the running component and swapped in only once
 * it has synced, so rotating a secret's token never drops what the old component served.
 *
 * A removed cluster's state goes at once: removal never waits on the remote API server. A cluster
 * whose API server stops answering (a liveness probe, see `LivenessProbe`) is reported `unhealthy`
 * and keeps serving its last state. A kubeconfig outside the allow list is refused with the field
 * named (`reason`), in the log and in `statuses()`.
 */
import { createHash } from 'node:crypto';
import { clusterId as parseClusterId, type ClusterId } from '../../model/ids.ts';
import { ErrorCodes, errorMessage, isIsthmusError } from '../../model/errors.ts';
import type { KubeClient, ClientOptions } from '../client.ts';
import { Informer } from '../informer.ts';
import { LivenessProbe } from '../liveness.ts';
import type { KubeObject } from '../types.ts';
import { RefusedKubeconfigField, clientFromUntrustedKubeconfig } from './kubeconfig.ts';
import { silentLogger, type Logger } from '../../observability/log.ts';

export const MULTICLUSTER_SECRET_LABEL = 'istio/multiCluster';
/**
 * Largest list page read from a remote API server (16 MiB). Informers ask a too-large page again
 * with a tenth of the page size, so an honest cluster with big objects still lists; a server that
 * sends more than this for a single object is refused and reported.
 */
export const REMOTE_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** What the control plane runs per remote cluster (a registry, a namespace controller, ...). */
export interface ClusterComponent {
  /** Resolves once the component's caches have listed everything. */
  readonly synced: Promise<void>;
  /** Start publishing into the shared model (called once; for a replacement, after it synced). */
  activate(): void;
  /**
   * Stop; `removeState` is false when a successor has taken over the cluster's state. The state
   * must be gone (and no write may follow) when the call returns its promise, before any await:
   * a removed cluster must not linger while its API server fails to answer.
   */
  stop(removeState: boolean): Promise<void>;
}

export type ComponentFactory = (id: ClusterId, client: KubeClient) => ClusterComponent;

/** `unhealthy`: synced once, but its API server does not answer now (its last state is kept). */
export type SyncStatus = 'syncing' | 'synced' | 'timeout' | 'closed' | 'error' | 'unhealthy';

export interface RemoteClusterStatus {
  readonly id: string;
  /** `namespace/name` of the Secret that defines it. */
  readonly secret: string;
  readonly server?: string;
  readonly syncStatus: SyncStatus;
  readonly lastError?: string;
  /** Short, bounded cause for metrics: an error code, with the refused field for refusals. */
  readonly reason?: string;
}

interface SecretObject extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

interface Entry {
  id: ClusterId;
  secret: string;
  hash: string;
  server: string;
  component: ClusterComponent;
  status: SyncStatus;
  lastError?: string;
  reason?: string;
  probe: LivenessProbe;
  /** A replacement being built; swapped in once it syncs. */
  pending?: { hash: string; server: string; component: ClusterComponent; probe: LivenessProbe };
}

export interface SecretControllerOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly localClusterId: ClusterId;
  readonly factory: ComponentFactory;
  /** istiod's PILOT_REMOTE_CLUSTER_TIMEOUT: how long readiness waits for a remote cluster. */
  readonly syncTimeoutMs?: number;
  /**
   * Liveness probe of each remote API server: period and deadline. Defaults derive from the sync
   * timeout, so a frozen server is reported within it: each is a sixth and a third of it, at
   * least 1 s and at most 5 s (with the default 30 s: unhealthy within 10 s).
   */
  readonly livenessIntervalMs?: number;
  readonly livenessTimeoutMs?: number;
  readonly clientOptions?: ClientOptions;
  readonly log?: Logger;
}

export class SecretController {
  readonly #opts: SecretControllerOptions;
  readonly #informer: Informer<SecretObject>;
  readonly #clusters = new Map<string, Entry>();
  /** Problems that belong to no running cluster: bad keys, malformed kubeconfigs. */
  readonly #rejected = new Map<string, RemoteClusterStatus>();
  #initial: Promise<unknown>[] = [];
  #listed = false;

  constructor(opts: SecretControllerOptions) {
    this.#opts = opts;
    this.#informer = new Informer<SecretObject>(opts.client, {
      path: `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/secrets`,
      labelSelector: `${MULTICLUSTER_SECRET_LABEL}=true`,
    });
    this.#informer.on({
      onAdd: (s) => { this.#reconcile(s); },
      onUpdate: (s) => { this.#reconcile(s); },
      onDelete: (s) => { this.#removeSecret(secretKey(s), 'secret deleted'); },
    });
  }

  start(): void {
    this.#informer.start();
  }

  /**
   * Resolves when the secrets have been listed and every cluster known then has synced or hit the
   * sync timeout (istiod's readiness rule).
   */
  async ready(): Promise<void> {
    await this.#informer.synced;
    this.#listed = true;
    await Promise.all(this.#initial);
  }

  async stop(): Promise<void> {
    await this.#informer.stop();
    await Promise.all([...this.#clusters.values()].map((e) => stopEntry(e)));
    this.#clusters.clear();
  }

  statuses(): RemoteClusterStatus[] {
    const out: RemoteClusterStatus[] = [...this.#rejected.values()];
    for (const e of this.#clusters.values()) {
      const live = e.probe.status();
      if (e.status === 'synced' && !live.alive) {
        const msg = `secret ${e.secret} key ${JSON.stringify(e.id)}: API server ${e.server} is not answering (${live.lastError ?? 'probe failed'}) since ${new Date(live.since).toISOString()}; serving its last known state`;
        out.push({ id: e.id, secret: e.secret, server: e.server, syncStatus: 'unhealthy', lastError: msg, reason: ErrorCodes.RemoteClusterUnhealthy });
        continue;
      }
      out.push({
        id: e.id, secret: e.secret, server: e.server, syncStatus: e.status,
        ...(e.lastError === undefined ? {} : { lastError: e.lastError }), ...(e.reason === undefined ? {} : { reason: e.reason }),
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id) || a.secret.localeCompare(b.secret));
  }

  /** Secret controller informer health, for /debug and readiness. */
  informerStatus() {
    return this.#informer.status();
  }

  #log(level: 'info' | 'warn' | 'error', msg: string): void {
    (this.#opts.log ?? silentLogger)[level](msg);
  }

  #reject(secret: string, key: string, msg: string, reason?: string): void {
    this.#log('error', msg);
    this.#rejected.set(`${secret}#${key}`, { id: key, secret, syncStatus: 'error', lastError: msg, ...(reason === undefined ? {} : { reason }) });
  }

  #probe(id: ClusterId, client: KubeClient): LivenessProbe {
    const timeout = this.#opts.syncTimeoutMs ?? 30_000;
    const clamp = (v: number) => Math.min(5_000, Math.max(1_000, Math.floor(v)));
    return new LivenessProbe(client, {
      intervalMs: this.#opts.livenessIntervalMs ?? clamp(timeout / 6),
      timeoutMs: this.#opts.livenessTimeoutMs ?? clamp(timeout / 3),
      onChange: (alive, detail) => {
        if (alive) this.#log('info', `cluster ${id}: API server ${client.server} answers again`);
        else this.#log('warn', `cluster ${id}: API server ${client.server} is not answering (${detail}); marked unhealthy, serving its last known state`);
      },
    });
  }

  #reconcile(s: SecretObject): void {
    const secret = secretKey(s);
    for (const k of [...this.#rejected.keys()]) if (k.startsWith(`${secret}#`)) this.#rejected.delete(k);
    const data = s.data ?? {};
    const keys = new Set(Object.keys(data));
    // Clusters this secret used to define whose key is gone.
    for (const e of [...this.#clusters.values()]) {
      if (e.secret === secret && !keys.has(e.id)) this.#remove(e, `key removed from secret ${secret}`);
    }
    for (const key of keys) {
      const where = `secret ${secret} key ${JSON.stringify(key)}`;
      let id: ClusterId;
      try {
        id = parseClusterId(key);
      } catch (err) {
        this.#reject(secret, key, `${where}: ${errorMessage(err)}`);
        continue;
      }
      if (id === this.#opts.localClusterId) {
        this.#reject(secret, key, `${where}: names the local cluster ${id}; a remote secret must not point at the cluster the control plane runs in (ignored)`);
        continue;
      }
      const existing = this.#clusters.get(id);
      if (existing && existing.secret !== secret) {
        this.#reject(secret, key, `${where}: cluster ${id} is already defined by secret ${existing.secret} (ignored)`);
        continue;
      }
      const text = Buffer.from(data[key] ?? '', 'base64').toString('utf8');
      const hash = createHash('sha256').update(text).digest('hex');
      if (existing && (existing.hash === hash || existing.pending?.hash === hash)) continue;
      let client: KubeClient;
      try {
        client = clientFromUntrustedKubeconfig(text, where, { maxResponseBytes: REMOTE_MAX_RESPONSE_BYTES, ...this.#opts.clientOptions });
      } catch (err) {
        const msg = errorMessage(err);
        const reason = err instanceof RefusedKubeconfigField ? `${err.code} ${err.field}` : isIsthmusError(err) ? err.code : ErrorCodes.KubeConfig;
        if (existing) {
          existing.lastError = `${msg} (still serving the previous kubeconfig)`;
          existing.reason = reason;
          this.#log('error', existing.lastError);
        } else {
          this.#reject(secret, key, msg, reason);
        }
        continue;
      }
      const component = this.#opts.factory(id, client);
      const probe = this.#probe(id, client);
      if (existing) this.#replace(existing, { hash, server: client.server, component, probe });
      else this.#add(id, secret, hash, client.server, component, probe);
    }
  }

  #add(id: ClusterId, secret: string, hash: string, server: string, component: ClusterComponent, probe: LivenessProbe): void {
    const entry: Entry = { id, secret, hash, server, component, probe, status: 'syncing' };
    probe.start();
    this.#clusters.set(id, entry);
    this.#log('info', `adding cluster ${id} from secret ${secret} (${server})`);
    // A new cluster has nothing to preserve: it publishes as soon as it has data.
    component.activate();
    const waited = this.#watchSync(entry, component);
    if (!this.#listed) this.#initial.push(waited);
  }

  #replace(entry: Entry, next: { hash: string; server: string; component: ClusterComponent; probe: LivenessProbe }): void {
    const superseded = entry.pending;
    entry.pending = next;
    next.probe.start();
    if (superseded) {
      superseded.probe.stop();
      void superseded.component.stop(false);
    }
    this.#log('info', `secret ${entry.secret} changed cluster ${entry.id}; building a replacement, the current one serves until it has synced`);
    next.component.synced.then(() => {
      if (entry.pending !== next || this.#clusters.get(entry.id) !== entry) return;
      const old = entry.component;
      next.component.activate();
      entry.probe.stop();
      entry.probe = next.probe;
      entry.component = next.component;
      entry.hash = next.hash;
      entry.server = next.server;
      entry.status = 'synced';
      delete entry.pending;
      delete entry.lastError;
      delete entry.reason;
      this.#log('info', `cluster ${entry.id} switched to the new kubeconfig`);
      void old.stop(false);
    }, (err: unknown) => {
      entry.lastError = `replacement failed: ${errorMessage(err)}`;
    });
  }

  async #watchSync(entry: Entry, component: ClusterComponent): Promise<void> {
    const timeoutMs = this.#opts.syncTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout'); }, timeoutMs); });
    const result = await Promise.race([component.synced.then(() => 'synced' as const, () => 'error' as const), timedOut]);
    clearTimeout(timer);
    if (entry.component !== component) return;
    if (result === 'timeout') {
      entry.status = 'timeout';
      this.#log('warn', `cluster ${entry.id} did not sync within ${timeoutMs} ms; serving without it until it does`);
      void component.synced.then(() => { if (entry.component === component) entry.status = 'synced'; }, () => undefined);
    } else {
      entry.status = result;
    }
  }

  #removeSecret(secret: string, why: string): void {
    for (const k of [...this.#rejected.keys()]) if (k.startsWith(`${secret}#`)) this.#rejected.delete(k);
    for (const e of [...this.#clusters.values()]) if (e.secret === secret) this.#remove(e, why);
  }

  /**
   * Forgets the cluster now. Components drop their state synchronously when stopped (before any
   * await), so nothing here waits on the remote API server, which may never answer.
   */
  #remove(entry: Entry, why: string): void {
    this.#clusters.delete(entry.id);
    entry.status = 'closed';
    this.#log('info', `removing cluster ${entry.id}: ${why}`);
    stopEntry(entry).catch((err: unknown) => { this.#log('warn', `cluster ${entry.id}: stopping after removal: ${errorMessage(err)}`); });
  }
}

async function stopEntry(e: Entry): Promise<void> {
  e.probe.stop();
  e.pending?.probe.stop();
  await Promise.all([e.component.stop(true), ...(e.pending ? [e.pending.component.stop(true)] : [])]);
}

function secretKey(s: KubeObject): string {
  return `${s.metadata.namespace ?? ''}/${s.metadata.name}`;
}
