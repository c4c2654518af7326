/**
 * One cluster's Kubernetes registry (istio `pilot/pkg/serviceregistry/kube/controller`): informers for
 * the system Namespace, Services, EndpointSlices, Pods and Nodes; every event is converted and written into
 * the aggregate through a `RegistrySink` under this cluster's id.
 *
 * - A Service event rewrites that Service and its gateways (docs/istio-compat.md §8).
 * - An EndpointSlice event, or an event of a Pod that a slice references (by `targetRef`, or by IP
 *   for endpoints without one), recomputes the endpoints of the affected Services.
 * - A Node's locality labels (region, zone, subzone; nothing else of a Node is kept) give the
 *   locality of the endpoints of its pods, as istiod; a change of them recomputes those endpoints.
 *   Nodes are not required to sync: if their first list fails (e.g. credentials without `nodes`),
 *   the cluster is written without them (localities from slice zones and pod labels), a warning
 *   says so, and every endpoint is recomputed once Nodes do list.
 * - A change of the system namespace's `topology.istio.io/network` label, or of meshNetworks,
 *   re-resolves the network of every endpoint (docs/istio-compat.md §7).
 * Nothing is written until all informers have listed; then the whole cluster is written at once.
 * `stop()` stops the informers and leaves the written state alone: whoever owns the cluster decides
 * whether to `removeCluster` it or let a successor overwrite it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeClient } from '../../kube/client.ts';
import {
  informerSource, type InformerFactory, type InformerHandlers, type InformerLike, type InformerStatus,
} from '../../kube/informer.ts';
import { objectKey, type KubeObject } from '../../kube/types.ts';
import { errorMessage } from '../../model/errors.ts';
import { serviceHostname, type ClusterId, type Hostname } from '../../model/ids.ts';
import { LABEL_TOPOLOGY_NETWORK } from '../../model/labels.ts';
import { NO_NETWORK, tryNetworkId, type MeshNetworks, type NetworkGateway, type NetworkId } from '../../model/network.ts';
import { compileMeshNetworks, mergeGateways, serviceGateways, type CompiledMeshNetworks } from '../network.ts';
import type { RegistrySink } from '../shards.ts';
import {
  convertEndpointSlice, convertService, mergeEndpoints, nodeLocalityOnly, podEssentials, slicePodKeys, sliceServiceName, sliceUnreferencedAddresses, withoutManagedFields,
  type SliceContext,
} from './convert.ts';
import type { KubeEndpointSlice, KubeNamespace, KubeNode, KubePod, KubeService } from './types.ts';
import { readPodList } from './pod-protobuf.ts';
import { silentLogger, type Logger } from '../../observability/log.ts';

export const INFORMER_PATHS = {
  namespaces: '/api/v1/namespaces',
  services: '/api/v1/services',
  endpointslices: '/apis/discovery.k8s.io/v1/endpointslices',
  pods: '/api/v1/pods',
  nodes: '/api/v1/nodes',
} as const;
export type InformerName = keyof typeof INFORMER_PATHS;

export interface KubeRegistryOptions {
  readonly cluster: ClusterId;
  /** The cluster's API client, or a factory of informers (tests). */
  readonly source: KubeClient | InformerFactory;
  readonly sink: RegistrySink;
  /** Namespace whose `topology.istio.io/network` label is the cluster's default network. */
  readonly systemNamespace?: string;
  readonly domainSuffix?: string;
  readonly trustDomain?: string;
  readonly meshNetworks?: MeshNetworks;
  /** Where conversion problems are reported, as warnings (default: nowhere; `src/bootstrap` passes the process logger). */
  readonly log?: Logger;
}

export interface KubeRegistryStatus {
  readonly cluster: ClusterId;
  /** All informers listed and the cluster was written. */
  readonly synced: boolean;
  /** Every informer's last list/watch attempt succeeded. */
  readonly healthy: boolean;
  readonly systemNetwork: NetworkId;
  readonly informers: Readonly<Record<InformerName, InformerStatus>>;
}

interface SliceInfo {
  readonly svcKey: string;
  readonly pods: readonly string[];
  readonly ips: readonly string[];
}

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set) set.add(value);
  else index.set(key, new Set([value]));
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set?.delete(value) && set.size === 0) index.delete(key);
}

function podIps(pod: KubePod): string[] {
  const ips = new Set((pod.status?.podIPs ?? []).map((p) => p.ip));
  if (pod.status?.podIP) ips.add(pod.status.podIP);
  return [...ips];
}

/** Kubernetes' own validation caps an EndpointSlice at 1,000 endpoints; a remote claiming more is refused. */
export const MAX_ENDPOINTS_PER_SLICE = 1000;

function sliceRefusal(obj: KubeObject): string | undefined {
  const endpoints: unknown = (obj as { endpoints?: unknown }).endpoints;
  if (endpoints === undefined || endpoints === null) return undefined;
  if (!Array.isArray(endpoints)) return 'endpoints is not a list';
  return endpoints.length > MAX_ENDPOINTS_PER_SLICE ? `has ${endpoints.length} endpoints; Kubernetes allows at most ${MAX_ENDPOINTS_PER_SLICE} per slice (slice ignored)` : undefined;
}

/** Whether a pod update can change the endpoints built from it. */
function podMatters(a: KubePod, b: KubePod): boolean {
  return !isDeepStrictEqual(a.metadata.labels ?? {}, b.metadata.labels ?? {})
    || a.spec?.serviceAccountName !== b.spec?.serviceAccountName
    || a.spec?.nodeName !== b.spec?.nodeName
    || !isDeepStrictEqual(podIps(a), podIps(b));
}

export class KubeRegistry {
  readonly cluster: ClusterId;
  /** Resolves once all informers have listed and the cluster has been written. */
  readonly synced: Promise<void>;
  readonly #sink: RegistrySink;
  readonly #systemNamespace: string;
  readonly #domainSuffix: string;
  readonly #trustDomain: string;
  readonly #log: Logger;
  readonly #namespaces: InformerLike<KubeNamespace>;
  readonly #services: InformerLike<KubeService>;
  readonly #slices: InformerLike<KubeEndpointSlice>;
  readonly #pods: InformerLike<KubePod>;
  readonly #nodes: InformerLike<KubeNode>;
  #nodeProbe: ReturnType<typeof setInterval> | undefined;
  #mesh: CompiledMeshNetworks;
  #systemNetwork = NO_NETWORK;
  #ready = false;
  #started = false;
  #resolveSynced: () => void = () => undefined;
  readonly #sliceInfo = new Map<string, SliceInfo>();
  readonly #slicesBySvc = new Map<string, Set<string>>();
  readonly #slicesByPod = new Map<string, Set<string>>();
  readonly #slicesByIp = new Map<string, Set<string>>();
  readonly #podsByIp = new Map<string, Set<string>>();
  readonly #podIps = new Map<string, readonly string[]>();
  readonly #hostnames = new Map<string, Hostname>();
  readonly #gatewaysBySvc = new Map<string, readonly NetworkGateway[]>();

  constructor(opts: KubeRegistryOptions) {
    this.cluster = opts.cluster;
    this.#sink = opts.sink;
    this.#systemNamespace = opts.systemNamespace ?? 'istio-system';
    this.#domainSuffix = opts.domainSuffix ?? 'cluster.local';
    serviceHostname('probe', 'probe', this.#domainSuffix); // throws ISTHMUS_INVALID_ID for a bad suffix, here rather than per event
    this.#trustDomain = opts.trustDomain ?? 'cluster.local';
    this.#log = opts.log ?? silentLogger;
    this.#mesh = this.#compile(opts.meshNetworks);
    const make = informerSource(opts.source);
    const onOverflow = (m: string) => { this.#log.warn(`cluster ${this.cluster}: ${m}`); };
    this.#namespaces = make<KubeNamespace>({ path: INFORMER_PATHS.namespaces, fieldSelector: `metadata.name=${this.#systemNamespace}`, onOverflow });
    this.#services = make<KubeService>({ path: INFORMER_PATHS.services, reduce: withoutManagedFields, onOverflow });
    this.#slices = make<KubeEndpointSlice>({ path: INFORMER_PATHS.endpointslices, refuse: sliceRefusal, reduce: withoutManagedFields, onOverflow });
    this.#pods = make<KubePod>({ path: INFORMER_PATHS.pods, reduce: podEssentials, readProtobufList: readPodList, onOverflow });
    this.#nodes = make<KubeNode>({ path: INFORMER_PATHS.nodes, reduce: nodeLocalityOnly, onOverflow });
    this.synced = new Promise((resolve) => { this.#resolveSynced = resolve; });

    this.#namespaces.on(this.#handlers('namespace', (key) => { if (key === this.#systemNamespace) this.#syncSystemNamespace(); }));
    this.#services.on(this.#handlers('service', (key) => { this.#syncService(key); }));
    this.#slices.on(this.#handlers('endpointslice', (key) => { this.#syncSlice(key); }));
    this.#pods.on(this.#handlers<KubePod>('pod', (key, old) => { this.#syncPod(key, old); }));
    this.#nodes.on(this.#handlers<KubeNode>('node', (key, old) => { this.#syncNode(key, old); }));
  }

  /** Starts the informers (once); `synced` resolves after their first lists. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const all = this.#informers();
    for (const i of Object.values(all)) i.start();
    const core = [this.#namespaces, this.#services, this.#slices, this.#pods];
    Promise.all([...core.map((i) => i.synced), this.#nodesListedOrFailed()]).then(() => { this.#initialSync(); }, (err: unknown) => {
      this.#log.warn(`cluster ${this.cluster}: informers failed to sync: ${errorMessage(err)}`);
    });
    this.#nodes.synced.then(() => { this.#nodesSynced(); }, () => undefined);
  }

  async stop(): Promise<void> {
    clearInterval(this.#nodeProbe);
    await Promise.all(Object.values(this.#informers()).map((i) => i.stop()));
  }

  /** Resolves when Nodes have listed, or their list failed once (the cluster is then written without them). */
  #nodesListedOrFailed(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearInterval(this.#nodeProbe); resolve(); };
      this.#nodes.synced.then(done, done);
      this.#nodeProbe = setInterval(() => {
        const st = this.#nodes.status();
        if (st.healthy || st.synced) return;
        this.#log.warn(`cluster ${this.cluster}: cannot list Nodes (${st.lastError ?? 'unknown error'}); endpoint localities come from EndpointSlice zones and pod labels until they list (grant get/list/watch on nodes)`);
        done();
      }, 100);
    });
  }

  /** Nodes listed after the cluster was written without them: every endpoint's locality may change. */
  #nodesSynced(): void {
    if (!this.#ready) return;
    this.#recomputeAll();
  }

  hasSynced(): boolean {
    return this.#ready;
  }

  /** Annotations of the cluster's system namespace (e.g. `topology.istio.io/controlPlaneClusters`). */
  systemNamespaceAnnotations(): Readonly<Record<string, string>> {
    return this.#namespaces.get(this.#systemNamespace)?.metadata.annotations ?? {};
  }

  /** The network of the system namespace's label (`''` if unlabelled). */
  get systemNetwork(): NetworkId {
    return this.#systemNetwork;
  }

  status(): KubeRegistryStatus {
    const informers = Object.fromEntries(Object.entries(this.#informers()).map(([k, i]) => [k, i.status()])) as Record<InformerName, InformerStatus>;
    // Nodes only refine localities (and may be forbidden to a narrow remote secret, which is warned
    // about): a cluster whose Namespaces, Services, EndpointSlices and Pods are watched is healthy.
    const core = [informers.namespaces, informers.services, informers.endpointslices, informers.pods];
    return { cluster: this.cluster, synced: this.#ready, healthy: core.every((s) => s.healthy), systemNetwork: this.#systemNetwork, informers };
  }

  /** New meshNetworks: re-resolves every endpoint's network and every Service's gateways. */
  setMeshNetworks(meshNetworks: MeshNetworks | undefined): void {
    this.#mesh = this.#compile(meshNetworks);
    if (!this.#ready) return;
    for (const svc of this.#services.list()) this.#syncService(objectKey(svc));
    this.#recomputeAll();
  }

  #informers(): Record<InformerName, InformerLike<KubeObject>> {
    return { namespaces: this.#namespaces, services: this.#services, endpointslices: this.#slices, pods: this.#pods, nodes: this.#nodes };
  }

  #compile(mn: MeshNetworks | undefined): CompiledMeshNetworks {
    const compiled = compileMeshNetworks(mn, this.cluster);
    for (const w of compiled.warnings) this.#log.warn(`cluster ${this.cluster}: ${w}`);
    return compiled;
  }

  /** Informer handlers that run only after the initial sync and report their own failures. */
  #handlers<T extends KubeObject>(kind: string, fn: (key: string, old?: T) => void): InformerHandlers<T> {
    const run = (obj: T, old?: T) => {
      if (this.#ready) this.#guard(`${kind} ${objectKey(obj)}`, () => { fn(objectKey(obj), old); });
    };
    return { onAdd: (o) => { run(o); }, onUpdate: (o, old) => { run(o, old); }, onDelete: (o) => { run(o); } };
  }

  /** Runs one unit of work; a failure is reported and does not stop the others. */
  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.warn(`cluster ${this.cluster}: handling ${what}: ${errorMessage(err)}`);
    }
  }

  #initialSync(): void {
    this.#systemNetwork = this.#readSystemNetwork();
    for (const pod of this.#pods.list()) this.#guard(`pod ${objectKey(pod)}`, () => { this.#indexPod(objectKey(pod)); });
    for (const slice of this.#slices.list()) this.#guard(`endpointslice ${objectKey(slice)}`, () => { this.#indexSlice(objectKey(slice)); });
    for (const svc of this.#services.list()) this.#guard(`service ${objectKey(svc)}`, () => { this.#syncService(objectKey(svc)); });
    this.#recomputeAll();
    this.#ready = true;
    this.#resolveSynced();
  }

  #readSystemNetwork(): NetworkId {
    const value = this.#namespaces.get(this.#systemNamespace)?.metadata.labels?.[LABEL_TOPOLOGY_NETWORK] ?? '';
    const net = tryNetworkId(value);
    if (net === undefined) {
      this.#log.warn(`cluster ${this.cluster}: namespace ${this.#systemNamespace} has an invalid ${LABEL_TOPOLOGY_NETWORK} ${JSON.stringify(value)}`);
      return NO_NETWORK;
    }
    return net;
  }

  #syncSystemNamespace(): void {
    const net = this.#readSystemNetwork();
    if (net === this.#systemNetwork) return;
    this.#systemNetwork = net;
    this.#recomputeAll();
  }

  #syncService(key: string): void {
    const obj = this.#services.get(key);
    let gateways: readonly NetworkGateway[] = [];
    if (obj) {
      const svc = convertService(obj, { cluster: this.cluster, domainSuffix: this.#domainSuffix, trustDomain: this.#trustDomain });
      this.#sink.upsertService(this.cluster, svc);
      this.#hostnames.set(key, svc.hostname);
      const found = serviceGateways(svc, this.cluster, this.#mesh);
      for (const w of found.warnings) this.#log.warn(`cluster ${this.cluster}: ${w}`);
      gateways = found.gateways;
    } else {
      const hostname = this.#hostnames.get(key);
      if (hostname) this.#sink.deleteService(this.cluster, hostname);
      this.#hostnames.delete(key);
    }
    const prev = this.#gatewaysBySvc.get(key) ?? [];
    if (isDeepStrictEqual(prev, gateways)) return;
    if (gateways.length > 0) this.#gatewaysBySvc.set(key, gateways);
    else this.#gatewaysBySvc.delete(key);
    this.#sink.setGateways(this.cluster, mergeGateways(...this.#gatewaysBySvc.values()));
  }

  /** Re-indexes a slice; answers the services whose endpoints it affected (before and after). */
  #indexSlice(key: string): Set<string> {
    const affected = new Set<string>();
    const prev = this.#sliceInfo.get(key);
    if (prev) {
      affected.add(prev.svcKey);
      removeFrom(this.#slicesBySvc, prev.svcKey, key);
      for (const p of prev.pods) removeFrom(this.#slicesByPod, p, key);
      for (const ip of prev.ips) removeFrom(this.#slicesByIp, ip, key);
      this.#sliceInfo.delete(key);
    }
    const slice = this.#slices.get(key);
    const name = slice ? sliceServiceName(slice) : undefined;
    if (slice && name) {
      const info: SliceInfo = { svcKey: `${slice.metadata.namespace ?? ''}/${name}`, pods: slicePodKeys(slice), ips: sliceUnreferencedAddresses(slice) };
      this.#sliceInfo.set(key, info);
      affected.add(info.svcKey);
      addTo(this.#slicesBySvc, info.svcKey, key);
      for (const p of info.pods) addTo(this.#slicesByPod, p, key);
      for (const ip of info.ips) addTo(this.#slicesByIp, ip, key);
    }
    return affected;
  }

  #syncSlice(key: string): void {
    for (const svcKey of this.#indexSlice(key)) this.#recompute(svcKey);
  }

  /** Re-indexes a pod's IPs; answers the IPs it had and has. */
  #indexPod(key: string): string[] {
    const before = this.#podIps.get(key) ?? [];
    for (const ip of before) removeFrom(this.#podsByIp, ip, key);
    const pod = this.#pods.get(key);
    const after = pod ? podIps(pod) : [];
    for (const ip of after) addTo(this.#podsByIp, ip, key);
    if (after.length > 0) this.#podIps.set(key, after);
    else this.#podIps.delete(key);
    return [...new Set([...before, ...after])];
  }

  #syncPod(key: string, old: KubePod | undefined): void {
    const ips = this.#indexPod(key);
    const pod = this.#pods.get(key);
    if (pod && old && !podMatters(old, pod)) return;
    const slices = new Set(this.#slicesByPod.get(key));
    for (const ip of ips) for (const s of this.#slicesByIp.get(ip) ?? []) slices.add(s);
    const services = new Set<string>();
    for (const s of slices) {
      const info = this.#sliceInfo.get(s);
      if (info) services.add(info.svcKey);
    }
    for (const svcKey of services) this.#recompute(svcKey);
  }

  /** A Node's locality labels changed (or it came or went): recompute the services with endpoints on it. */
  #syncNode(name: string, old: KubeNode | undefined): void {
    const node = this.#nodes.get(name);
    if (node && old && isDeepStrictEqual(node.metadata.labels ?? {}, old.metadata.labels ?? {})) return;
    const services = new Set<string>();
    for (const pod of this.#pods.list()) {
      if (pod.spec?.nodeName !== name) continue;
      for (const s of this.#slicesByPod.get(objectKey(pod)) ?? []) {
        const info = this.#sliceInfo.get(s);
        if (info) services.add(info.svcKey);
      }
    }
    for (const slice of this.#slices.list()) {
      const info = this.#sliceInfo.get(objectKey(slice));
      if (info && (slice.endpoints ?? []).some((ep) => ep.nodeName === name)) services.add(info.svcKey);
    }
    for (const svcKey of [...services].sort()) this.#recompute(svcKey);
  }

  #recomputeAll(): void {
    for (const svcKey of [...this.#slicesBySvc.keys()].sort()) this.#guard(`endpoints of ${svcKey}`, () => { this.#recompute(svcKey); });
  }

  #sliceContext(): SliceContext {
    return {
      cluster: this.cluster,
      podByKey: (ns, name) => this.#pods.get(`${ns}/${name}`),
      podsByIp: (ip) => [...(this.#podsByIp.get(ip) ?? [])].sort().flatMap((k) => this.#pods.get(k) ?? []),
      nodeByName: (name) => this.#nodes.get(name),
      network: { systemNetwork: this.#systemNetwork, meshNetworks: this.#mesh },
    };
  }

  /** Rebuilds one service's endpoints in this cluster from all its slices. */
  #recompute(svcKey: string): void {
    const slash = svcKey.indexOf('/');
    const namespace = svcKey.slice(0, slash);
    let hostname: Hostname;
    try {
      hostname = serviceHostname(svcKey.slice(slash + 1), namespace, this.#domainSuffix);
    } catch (err) {
      this.#log.warn(`cluster ${this.cluster}: endpoints of ${svcKey}: ${errorMessage(err)}`);
      return;
    }
    const ctx = this.#sliceContext();
    const lists = [...(this.#slicesBySvc.get(svcKey) ?? [])].sort()
      .flatMap((k) => this.#slices.get(k) ?? [])
      .map((slice) => convertEndpointSlice(slice, ctx));
    this.#sink.setEndpoints(this.cluster, hostname, namespace, mergeEndpoints(lists));
  }
}
