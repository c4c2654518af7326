/**
 * Where the injector's inputs come from at run time: the `istio-sidecar-injector` ConfigMap of the
 * config cluster (watched; an invalid change is logged with its reason and the last good config
 * stays), and namespace labels of the cluster a webhook call comes from (read on demand, cached
 * briefly).
 */
import type { KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import { LABEL_TOPOLOGY_NETWORK } from '../model/labels.ts';
import { errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';
import { INJECTOR_CONFIGMAP, parseInjectorConfig, type InjectorConfig, type ValueDefaults } from './config.ts';
import type { NamespaceInfo } from './server.ts';

interface ConfigMap extends KubeObject { readonly data?: Readonly<Record<string, string>> }

/** Parses the ConfigMap data (every template is test-rendered against a sample pod). */
export const loadInjectorConfig = parseInjectorConfig;

export class InjectorConfigSource {
  readonly #informer: Informer<ConfigMap>;
  readonly #defaults: ValueDefaults;
  readonly #log: Logger;
  #builtinConfig: InjectorConfig | undefined;
  /** undefined: the built-in templates (no valid ConfigMap seen, or it was deleted). */
  #current: InjectorConfig | undefined;
  #lastRv = '';

  constructor(client: KubeClient, namespace: string, defaults: ValueDefaults, log: Logger) {
    this.#defaults = defaults;
    this.#log = log;
    // The built-in templates are compiled on first use, not at start: a ConfigMap usually replaces
    // them, and compiling them costs about 80 ms of CPU (unit tests render them against pods).
    this.#current = undefined;
    this.#informer = new Informer<ConfigMap>(client, { path: `/api/v1/namespaces/${namespace}/configmaps`, fieldSelector: `metadata.name=${INJECTOR_CONFIGMAP}` });
    const load = (cm: ConfigMap) => { this.#load(cm); };
    this.#informer.on({
      onAdd: load,
      onUpdate: load,
      onDelete: () => { this.#current = undefined; this.#log.warn(`ConfigMap ${namespace}/${INJECTOR_CONFIGMAP} deleted: using the built-in templates and values`); },
    });
  }

  #load(cm: ConfigMap): void {
    const rv = cm.metadata.resourceVersion ?? '';
    if (rv !== '' && rv === this.#lastRv) return;
    this.#lastRv = rv;
    try {
      const loaded = loadInjectorConfig(cm.data ?? {}, this.#defaults);
      this.#current = loaded;
      this.#log.info(`loaded ConfigMap ${cm.metadata.namespace ?? ''}/${INJECTOR_CONFIGMAP}`, { templates: [...loaded.templates.keys()].join(','), resourceVersion: rv });
    } catch (err) {
      this.#log.error(`ConfigMap ${cm.metadata.namespace ?? ''}/${INJECTOR_CONFIGMAP} is invalid; keeping the previous injector config`, { error: errorMessage(err) });
    }
  }

  current(): InjectorConfig {
    if (this.#current) return this.#current;
    this.#builtinConfig ??= loadInjectorConfig({}, this.#defaults);
    return this.#builtinConfig;
  }

  get synced(): Promise<void> {
    return this.#informer.synced;
  }

  start(): void { this.#informer.start(); }
  async stop(): Promise<void> { await this.#informer.stop(); }
}

/** Namespace labels per (cluster, name), cached for `ttlMs`; the system namespace's network label too. */
export class NamespaceLookup {
  readonly #clients: (clusterId: string | undefined) => KubeClient | undefined;
  readonly #systemNamespace: string;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; value: Promise<Readonly<Record<string, string>> | undefined> }>();

  constructor(clients: (clusterId: string | undefined) => KubeClient | undefined, systemNamespace: string, ttlMs = 5000) {
    this.#clients = clients;
    this.#systemNamespace = systemNamespace;
    this.#ttlMs = ttlMs;
  }

  #labels(clusterId: string | undefined, ns: string): Promise<Readonly<Record<string, string>> | undefined> {
    const key = `${clusterId ?? ''}/${ns}`;
    const hit = this.#cache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < this.#ttlMs) return hit.value;
    const client = this.#clients(clusterId);
    if (!client) return Promise.resolve(undefined);
    const value = client.getOptional<KubeObject>(`/api/v1/namespaces/${encodeURIComponent(ns)}`).then((n) => (n === undefined ? undefined : n.metadata.labels ?? {}));
    // A failed read is not cached.
    value.catch(() => { this.#cache.delete(key); });
    if (this.#cache.size > 4096) this.#cache.clear();
    this.#cache.set(key, { at: now, value });
    return value;
  }

  async info(clusterId: string | undefined, namespace: string): Promise<NamespaceInfo> {
    const [labels, system] = await Promise.all([this.#labels(clusterId, namespace), this.#labels(clusterId, this.#systemNamespace).catch(() => undefined)]);
    return { labels, systemNetwork: system?.[LABEL_TOPOLOGY_NETWORK] };
  }
}
