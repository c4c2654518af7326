/**
 * Remote clusters from Secrets labelled `istio/multiCluster=true` in the system namespace: each data
 * key is a cluster id, each value a kubeconfig. Clusters are added, replaced and removed while the
 * control plane runs. A replacement is built beside the running component and swapped in only once
 * it has synced, so rotating a secret's token never drops what the old component served.
 */
import { createHash } from 'node:crypto';
import { clusterId as parseClusterId, type ClusterId } from '../../model/ids.ts';
import { errorMessage } from '../../model/errors.ts';
import type { KubeClient, ClientOptions } from '../client.ts';
import { Informer } from '../informer.ts';
import type { KubeObject } from '../types.ts';
import { clientFromUntrustedKubeconfig } from './kubeconfig.ts';

export const MULTICLUSTER_SECRET_LABEL = 'istio/multiCluster';

/** What the control plane runs per remote cluster (a registry, a namespace controller, ...). */
export interface ClusterComponent {
  /** Resolves once the component's caches have listed everything. */
  readonly synced: Promise<void>;
  /** Start publishing into the shared model (called once; for a replacement, after it synced). */
  activate(): void;
  /** Stop; `removeState` is false when a successor has taken over the cluster's state. */
  stop(removeState: boolean): Promise<void>;
}

export type ComponentFactory = (id: ClusterId, client: KubeClient) => ClusterComponent;

export type SyncStatus = 'syncing' | 'synced' | 'timeout' | 'closed' | 'error';

export interface RemoteClusterStatus {
  readonly id: string;
  /** `namespace/name` of the Secret that defines it. */
  readonly secret: string;
  readonly server?: string;
  readonly syncStatus: SyncStatus;
  readonly lastError?: string;
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
  /** A replacement being built; swapped in once it syncs. */
  pending?: { hash: string; server: string; component: ClusterComponent };
}

export interface SecretControllerOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly localClusterId: ClusterId;
  readonly factory: ComponentFactory;
  /** istiod's PILOT_REMOTE_CLUSTER_TIMEOUT: how long readiness waits for a remote cluster. */
  readonly syncTimeoutMs?: number;
  readonly clientOptions?: ClientOptions;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
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
      out.push({ id: e.id, secret: e.secret, server: e.server, syncStatus: e.status, ...(e.lastError === undefined ? {} : { lastError: e.lastError }) });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id) || a.secret.localeCompare(b.secret));
  }

  /** Secret controller informer health, for /debug and readiness. */
  informerStatus() {
    return this.#informer.status();
  }

  #log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.#opts.log?.(level, msg);
  }

  #reject(secret: string, key: string, msg: string): void {
    this.#log('error', msg);
    this.#rejected.set(`${secret}#${key}`, { id: key, secret, syncStatus: 'error', lastError: msg });
  }

  #reconcile(s: SecretObject): void {
    const secret = secretKey(s);
    for (const k of [...this.#rejected.keys()]) if (k.startsWith(`${secret}#`)) this.#rejected.delete(k);
    const data = s.data ?? {};
    const keys = new Set(Object.keys(data));
    // Clusters this secret used to define whose key is gone.
    for (const e of [...this.#clusters.values()]) {
      if (e.secret === secret && !keys.has(e.id)) void this.#remove(e, `key removed from secret ${secret}`);
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
        client = clientFromUntrustedKubeconfig(text, where, this.#opts.clientOptions);
      } catch (err) {
        const msg = errorMessage(err);
        if (existing) {
          existing.lastError = `${msg} (still serving the previous kubeconfig)`;
          this.#log('error', existing.lastError);
        } else {
          this.#reject(secret, key, msg);
        }
        continue;
      }
      const component = this.#opts.factory(id, client);
      if (existing) this.#replace(existing, { hash, server: client.server, component });
      else this.#add(id, secret, hash, client.server, component);
    }
  }

  #add(id: ClusterId, secret: string, hash: string, server: string, component: ClusterComponent): void {
    const entry: Entry = { id, secret, hash, server, component, status: 'syncing' };
    this.#clusters.set(id, entry);
    this.#log('info', `adding cluster ${id} from secret ${secret} (${server})`);
    // A new cluster has nothing to preserve: it publishes as soon as it has data.
    component.activate();
    const waited = this.#watchSync(entry, component);
    if (!this.#listed) this.#initial.push(waited);
  }

  #replace(entry: Entry, next: { hash: string; server: string; component: ClusterComponent }): void {
    const superseded = entry.pending;
    entry.pending = next;
    if (superseded) void superseded.component.stop(false);
    this.#log('info', `secret ${entry.secret} changed cluster ${entry.id}; building a replacement, the current one serves until it has synced`);
    next.component.synced.then(() => {
      if (entry.pending !== next || this.#clusters.get(entry.id) !== entry) return;
      const old = entry.component;
      next.component.activate();
      entry.component = next.component;
      entry.hash = next.hash;
      entry.server = next.server;
      entry.status = 'synced';
      delete entry.pending;
      delete entry.lastError;
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
    for (const e of [...this.#clusters.values()]) if (e.secret === secret) void this.#remove(e, why);
  }

  async #remove(entry: Entry, why: string): Promise<void> {
    this.#clusters.delete(entry.id);
    entry.status = 'closed';
    this.#log('info', `removing cluster ${entry.id}: ${why}`);
    await stopEntry(entry);
  }
}

async function stopEntry(e: Entry): Promise<void> {
  await Promise.all([e.component.stop(true), ...(e.pending ? [e.pending.component.stop(true)] : [])]);
}

function secretKey(s: KubeObject): string {
  return `${s.metadata.namespace ?? ''}/${s.metadata.name}`;
}
