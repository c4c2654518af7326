/**
 * istiod's namespace controller (docs/istio-compat.md §10.3), run by the leader of a cluster: every namespace
 * (except `kube-public`, `kube-node-lease`, `local-path-storage`; kube-system is NOT skipped) holds
 * ConfigMap `istio-ca-root-cert` labelled `istio.io/config: "true"` whose `root-cert.pem` is the mesh's
 * current root bundle. Deleted ConfigMaps are recreated, edited ones restored, new namespaces get one,
 * and a root rotation rewrites them all (`rootChanged()`).
 *
 * Two informers keep it cheap: Namespaces, and ConfigMaps field-selected by name across namespaces.
 */
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Logger } from '../observability/log.ts';
import { silentLogger } from '../observability/log.ts';
import { WorkQueue } from './queue.ts';
import type { Clock } from '../model/clock.ts';

export const CA_ROOT_CONFIGMAP = 'istio-ca-root-cert';
export const CA_ROOT_CONFIGMAP_KEY = 'root-cert.pem';
export const ISTIO_CONFIG_LABEL = 'istio.io/config';
/** Namespaces istiod never writes the root ConfigMap into. */
export const SKIPPED_NAMESPACES: readonly string[] = ['kube-public', 'kube-node-lease', 'local-path-storage'];

interface NamespaceObject extends KubeObject {
  readonly status?: { readonly phase?: string };
}

export interface ConfigMapObject extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
}

/** The ConfigMap a namespace should hold, built over what exists (other keys and labels are kept). */
export function desiredRootConfigMap(namespace: string, name: string, rootCertPem: string, existing?: ConfigMapObject): ConfigMapObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      ...(existing?.metadata ?? {}),
      name,
      namespace,
      labels: { ...(existing?.metadata.labels ?? {}), [ISTIO_CONFIG_LABEL]: 'true' },
    },
    data: { ...(existing?.data ?? {}), [CA_ROOT_CONFIGMAP_KEY]: rootCertPem },
  };
}

/** Whether `cm` already says what it should. */
export function rootConfigMapCurrent(cm: ConfigMapObject, rootCertPem: string): boolean {
  return cm.data?.[CA_ROOT_CONFIGMAP_KEY] === rootCertPem && cm.metadata.labels?.[ISTIO_CONFIG_LABEL] === 'true';
}

export interface NamespaceControllerOptions {
  /** Client of the led cluster. */
  readonly client: KubeClient;
  readonly clusterId: string;
  /** The current root bundle (read at every write). */
  readonly rootCertPem: () => string;
  /** PILOT_CA_CERT_CONFIGMAP; default `istio-ca-root-cert`. */
  readonly configMapName?: string;
  readonly skippedNamespaces?: readonly string[];
  readonly clock?: Clock;
  readonly log?: Logger;
}

export class NamespaceController {
  readonly #opts: NamespaceControllerOptions;
  readonly #name: string;
  readonly #skip: ReadonlySet<string>;
  readonly #log: Logger;
  readonly #namespaces: Informer<NamespaceObject>;
  readonly #configMaps: Informer<ConfigMapObject>;
  readonly #queue: WorkQueue;
  #started = false;

  constructor(opts: NamespaceControllerOptions) {
    this.#opts = opts;
    this.#name = opts.configMapName ?? CA_ROOT_CONFIGMAP;
    this.#skip = new Set(opts.skippedNamespaces ?? SKIPPED_NAMESPACES);
    this.#log = (opts.log ?? silentLogger).scope(`nscontroller/${opts.clusterId}`);
    this.#namespaces = new Informer<NamespaceObject>(opts.client, { path: '/api/v1/namespaces' });
    this.#configMaps = new Informer<ConfigMapObject>(opts.client, { path: '/api/v1/configmaps', fieldSelector: `metadata.name=${this.#name}` });
    this.#queue = new WorkQueue({
      process: (ns) => this.#reconcile(ns),
      ...(opts.clock ? { clock: opts.clock } : {}),
      onError: (ns, err, retry) => { this.#log.warn('writing the root ConfigMap failed', { namespace: ns, error: err, retry }); },
    });
    this.#namespaces.on({
      onAdd: (n) => { this.#queue.add(n.metadata.name); },
      onUpdate: (n) => { this.#queue.add(n.metadata.name); },
    });
    const byCm = (cm: ConfigMapObject) => { if (cm.metadata.namespace) this.#queue.add(cm.metadata.namespace); };
    this.#configMaps.on({ onAdd: byCm, onUpdate: byCm, onDelete: byCm });
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#configMaps.start();
    this.#namespaces.start();
  }

  /** Resolves when both caches have listed and the first pass over every namespace is done. */
  async ready(): Promise<void> {
    await Promise.all([this.#namespaces.synced, this.#configMaps.synced]);
    await this.#queue.idle();
  }

  async stop(): Promise<void> {
    this.#queue.stop();
    await Promise.all([this.#namespaces.stop(), this.#configMaps.stop()]);
  }

  /** The root bundle changed: rewrite every namespace. */
  rootChanged(): void {
    for (const n of this.#namespaces.list()) this.#queue.add(n.metadata.name);
  }

  async #reconcile(ns: string): Promise<void> {
    if (this.#skip.has(ns)) return;
    const nsObj = this.#namespaces.get(ns);
    if (!nsObj || nsObj.metadata.deletionTimestamp || nsObj.status?.phase === 'Terminating') return;
    const root = this.#opts.rootCertPem();
    const cached = this.#configMaps.get(`${ns}/${this.#name}`);
    if (cached && rootConfigMapCurrent(cached, root)) return;
    const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps`;
    if (!cached) {
      try {
        await this.#opts.client.request('POST', base, desiredRootConfigMap(ns, this.#name, root));
        this.#log.info('created the root ConfigMap', { namespace: ns });
        return;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      }
    }
    // It exists (maybe newer than our cache): update what the server has, guarded by resourceVersion.
    const live = await this.#opts.client.getOptional<ConfigMapObject>(`${base}/${encodeURIComponent(this.#name)}`);
    if (!live) throw new Error(`${ns}/${this.#name} vanished while being updated`);
    if (rootConfigMapCurrent(live, root)) return;
    await this.#opts.client.request('PUT', `${base}/${encodeURIComponent(this.#name)}`, desiredRootConfigMap(ns, this.#name, root, live));
    this.#log.info('restored the root ConfigMap', { namespace: ns });
  }
}
