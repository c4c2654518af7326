/**
 * The control plane in one process without API servers (like Istio's fake discovery server):
 * Kubernetes objects in, xDS out. Each cluster is a set of in-memory informers (fake-kube.ts) that
 * the product's own controllers read: the first cluster is the config cluster, with the local
 * `KubeRegistry` writing straight into the `ShardStore` and the `IstioConfigWatcher`, as in
 * `Discovery`; every other cluster is a `RegistryComponent`, as the secret controller builds for a
 * remote secret. Registry writes and config changes become pushes through `pushTriggers`, and the
 * view is `cachedMeshView`, the same functions `Discovery` uses, into the real AdsServer and
 * generators over loopback grpc-js (pipeline.ts), whose debouncer holds every push until `flush`.
 *
 *   const d = await FakeDiscovery.start({ clusters: [{ id: 'cluster1', network: 'network1', objects: [...] }] });
 *   const s = await d.sidecar('11', [[CDS, []], [EDS, [name]]]);
 *   d.apply('cluster1', endpointSlice(...));
 *   await d.flush();
 *   await d.expectNoResponse(s);
 *   await d.close();
 */
import { cachedMeshView } from '../bootstrap/mesh-view.ts';
import { pushTriggers } from '../bootstrap/push-triggers.ts';
import { RegistryComponent } from '../bootstrap/registry-component.ts';
import { IstioConfigWatcher } from '../config/istio-config.ts';
import type { KubeObject } from '../kube/types.ts';
import { clusterId, type ClusterId, type TypeUrl } from '../model/ids.ts';
import { LABEL_TOPOLOGY_NETWORK } from '../model/labels.ts';
import type { MeshSettings } from '../model/mesh-view.ts';
import type { MeshNetworks } from '../model/network.ts';
import type { Logger } from '../observability/log.ts';
import type { DiscoveryResponse } from '../proto/types.ts';
import type { PushRequest } from '../push/request.ts';
import { KubeRegistry } from '../registry/kube/controller.ts';
import { ShardStore } from '../registry/shards.ts';
import { generatorLookup } from '../xds/generators/prepared.ts';
import type { GeneratorLookup } from '../xds/server/types.ts';
import type { AdsTestClient } from './ads-client.ts';
import { FakeKubeCluster } from './fake-kube.ts';
import { namespace } from './kube-objects.ts';
import { Pipeline, type SidecarPlacement, type Subscriptions } from './pipeline.ts';

export interface FakeClusterSpec {
  readonly id: string;
  /** The system namespace's `topology.istio.io/network` label (unless `objects` has that namespace). */
  readonly network?: string;
  /** What the cluster holds when the control plane starts. */
  readonly objects?: readonly KubeObject[];
}

export interface FakeDiscoveryOptions {
  /** The first is the config cluster (its Istio config objects are read); the others are remote. */
  readonly clusters: readonly FakeClusterSpec[];
  readonly meshNetworks?: MeshNetworks;
  /** Default: the real generators (every call is recorded either way, in `calls`). */
  readonly generators?: GeneratorLookup;
}

const SYSTEM_NAMESPACE = 'istio-system';

/** A Logger that keeps warnings and errors (conversion problems the product reports). */
function recordingLogger(into: string[], scope = ''): Logger {
  const keep = (msg: string) => { into.push(scope ? `${scope}: ${msg}` : msg); };
  return { debug: () => undefined, info: () => undefined, warn: keep, error: keep, scope: (s) => recordingLogger(into, scope ? `${scope}/${s}` : s) };
}

export class FakeDiscovery {
  readonly pipeline: Pipeline;
  readonly store: ShardStore;
  /** Every push request the registries and the config watcher asked for, in order (cleared by `clearCalls`). */
  readonly pushes: PushRequest[];
  /** Warnings the registries and the config watcher reported (bad objects). */
  readonly warnings: string[];
  readonly #clusters: ReadonlyMap<string, FakeKubeCluster>;
  readonly #stop: () => Promise<void>;

  private constructor(pipeline: Pipeline, store: ShardStore, clusters: ReadonlyMap<string, FakeKubeCluster>, parts: { pushes: PushRequest[]; warnings: string[]; stop: () => Promise<void> }) {
    this.pipeline = pipeline;
    this.store = store;
    this.#clusters = clusters;
    this.pushes = parts.pushes;
    this.warnings = parts.warnings;
    this.#stop = parts.stop;
  }

  /** Builds the control plane over `opts.clusters`, lets every informer list, and pushes the first config. */
  static async start(opts: FakeDiscoveryOptions): Promise<FakeDiscovery> {
    const [configCluster, ...remotes] = opts.clusters;
    if (!configCluster) throw new Error('FakeDiscovery: at least one cluster (the config cluster)');
    const mesh: MeshSettings = { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' };
    const warnings: string[] = [];
    const log = recordingLogger(warnings);
    const fakes = new Map(opts.clusters.map((c) => [c.id, new FakeKubeCluster(c.id)] as const));
    const fake = (id: string) => { const f = fakes.get(id); if (!f) throw new Error(`FakeDiscovery: no cluster ${id}`); return f; };

    for (const c of opts.clusters) {
      const objects = c.objects ?? [];
      const hasSystemNs = objects.some((o) => o.kind === 'Namespace' && o.metadata.name === SYSTEM_NAMESPACE);
      fake(c.id).seed(...(c.network !== undefined && !hasSystemNs ? [namespace(SYSTEM_NAMESPACE, { [LABEL_TOPOLOGY_NETWORK]: c.network })] : []), ...objects);
    }

    // In Discovery's order: the config watcher, the store, the xDS server and the push wiring, then the registries.
    const pushes: PushRequest[] = [];
    const to = { server: (_req: PushRequest): void => undefined };
    const triggers = pushTriggers((req) => { pushes.push(req); to.server(req); });
    const config = new IstioConfigWatcher(fake(configCluster.id).informers, {
      domainSuffix: mesh.domainSuffix, rootNamespace: SYSTEM_NAMESPACE, onChange: triggers.configChanged, log: log.scope('config'),
    });
    const store = new ShardStore();
    const localId: ClusterId = clusterId(configCluster.id);
    store.addCluster(localId);
    const pipeline = await Pipeline.start(cachedMeshView(store, config, mesh), opts.generators ?? generatorLookup());
    to.server = (req) => { pipeline.push(req); };
    store.setUpdater(triggers.registry);
    try {
      return await FakeDiscovery.#startRegistries(pipeline, store, config, fakes, { configCluster: localId, remotes: remotes.map((r) => clusterId(r.id)), mesh, log, pushes, warnings, meshNetworks: opts.meshNetworks });
    } catch (err) {
      await pipeline.close();
      throw err;
    }
  }

  /** The registries, started as Discovery starts them; the config watcher; the first push. */
  static async #startRegistries(
    pipeline: Pipeline, store: ShardStore, config: IstioConfigWatcher, fakes: ReadonlyMap<string, FakeKubeCluster>,
    o: { configCluster: ClusterId; remotes: readonly ClusterId[]; mesh: MeshSettings; log: Logger; pushes: PushRequest[]; warnings: string[]; meshNetworks: MeshNetworks | undefined },
  ): Promise<FakeDiscovery> {
    const { mesh, log } = o;
    const fake = (id: string) => { const f = fakes.get(id); if (!f) throw new Error(`FakeDiscovery: no cluster ${id}`); return f; };
    const local = new KubeRegistry({
      cluster: o.configCluster, source: fake(o.configCluster).informers, sink: store, systemNamespace: SYSTEM_NAMESPACE,
      domainSuffix: mesh.domainSuffix, trustDomain: mesh.trustDomain, ...(o.meshNetworks ? { meshNetworks: o.meshNetworks } : {}),
      log: log.scope('registry'),
    });
    const registryOpts = { store, systemNamespace: SYSTEM_NAMESPACE, domainSuffix: mesh.domainSuffix, trustDomain: mesh.trustDomain, meshNetworks: o.meshNetworks, log: log.scope('registry') };
    // A remote cluster's component starts its registry at once; a new one publishes as soon as it has data (the secret controller activates it).
    const components = o.remotes.map((id) => new RegistryComponent(id, fake(id).informers, registryOpts));
    for (const c of components) c.activate();
    for (const f of fakes.values()) f.checkSeedsWatched();
    local.start();
    config.start();
    await Promise.all([local.synced, ...components.map((c) => c.synced)]);
    await pipeline.flush();
    o.pushes.length = 0;
    pipeline.clearCalls();
    const stop = async () => {
      await Promise.all([local.stop(), config.stop(), ...components.map((c) => c.stop(false))]);
    };
    return new FakeDiscovery(pipeline, store, fakes, { pushes: o.pushes, warnings: o.warnings, stop });
  }

  cluster(id: string): FakeKubeCluster {
    const c = this.#clusters.get(id);
    if (!c) throw new Error(`FakeDiscovery: no cluster ${id} (have ${[...this.#clusters.keys()].join(', ')})`);
    return c;
  }

  /** Adds or updates objects in cluster `id`, as the API server's watch would report them. */
  apply(id: string, ...objs: readonly KubeObject[]): void {
    this.cluster(id).apply(...objs);
  }

  delete(id: string, kind: string, ns: string, name: string): void {
    this.cluster(id).delete(kind, ns, name);
  }

  /** Generator calls since the last `clearCalls`, as `<type> <names|*>`. */
  get calls(): readonly string[] {
    return this.pipeline.calls;
  }

  clearCalls(): void {
    this.pipeline.clearCalls();
    this.pushes.length = 0;
  }

  sidecar(id: string, subscriptions: Subscriptions, at?: SidecarPlacement): Promise<AdsTestClient> {
    return this.pipeline.sidecar(id, subscriptions, at);
  }

  /** Releases the held pushes and waits until every one was handed to its streams. */
  flush(): Promise<void> {
    return this.pipeline.flush();
  }

  resubscribe(c: AdsTestClient, t: TypeUrl, names: readonly string[]): void {
    this.pipeline.resubscribe(c, t, names);
  }

  received(c: AdsTestClient, ms?: number): Promise<DiscoveryResponse[]> {
    return this.pipeline.received(c, ms);
  }

  expectNoResponse(c: AdsTestClient, ms?: number): Promise<void> {
    return this.pipeline.expectNoResponse(c, ms);
  }

  async close(): Promise<void> {
    await this.pipeline.close();
    await this.#stop();
  }
}
