/**
 * The aggregate model of all clusters (reference: docs/istio-compat.md §7):
 * - services merged by hostname: the first cluster (in registration order) that has the Service
 *   provides it; every cluster adds its VIPs (and external addresses) under its own id; service
 *   accounts are unioned; ports of other clusters are ignored (istiod only logs the mismatch);
 * - endpoints kept in shards per (hostname, namespace, cluster): a cluster's change or removal
 *   touches only its own shards;
 * - network gateways per cluster plus static meshNetworks gateways.
 * Writers are per-cluster registries (through `RegistrySink`); readers take a `RegistrySnapshot`,
 * which is cheap (top-level map copies; shard arrays, services and gateways are immutable and shared)
 * and cached until the next change. Changes are reported through `XdsUpdater`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Endpoint } from '../model/endpoint.ts';
import type { ClusterId, Hostname } from '../model/ids.ts';
import type { NetworkGateway } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import { mergeGateways } from './network.ts';

/** The push side, as the registries see it (Istio's `XDSUpdater`, reduced to what registries need). */
export interface XdsUpdater {
  /**
   * A Service was added, changed or removed in some cluster, or the identities (service accounts) of
   * its endpoints changed, which clusters carry as the names a server certificate must have: a full
   * push for that host (istiod does the same when a shard's service accounts change).
   */
  serviceChanged(hostname: Hostname, namespace: string): void;
  /** Only the endpoints of a host changed: an EDS (incremental) push suffices. */
  endpointsChanged(hostname: Hostname, namespace: string): void;
  /** The set of network gateways changed: a full push (Istio's `NetworksTrigger`). */
  networksChanged(): void;
}

/** What one cluster's registry writes. */
export interface RegistrySink {
  upsertService(cluster: ClusterId, svc: Service): void;
  deleteService(cluster: ClusterId, hostname: Hostname): void;
  /** Replaces the cluster's endpoints of a host; an empty list removes the shard. */
  setEndpoints(cluster: ClusterId, hostname: Hostname, namespace: string, endpoints: readonly Endpoint[]): void;
  /** Replaces the gateways the cluster's registry found. */
  setGateways(cluster: ClusterId, gateways: readonly NetworkGateway[]): void;
}

export interface EndpointShard {
  readonly cluster: ClusterId;
  readonly namespace: string;
  readonly endpoints: readonly Endpoint[];
}

type ShardsByNamespace = ReadonlyMap<string, ReadonlyMap<ClusterId, readonly Endpoint[]>>;

/**
 * A host's endpoints (all namespaces, in cluster order), kept per shard map: a write replaces the
 * host's shard map, so a host whose endpoints did not change gives every later snapshot the same
 * array, and generators that keep work per host's endpoints (inbound-index.ts) see it unchanged.
 */
const unions = new WeakMap<ShardsByNamespace, { readonly clusters: readonly ClusterId[]; readonly endpoints: readonly Endpoint[] }>();

function sameOrder(a: readonly ClusterId[], b: readonly ClusterId[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const NOOP_UPDATER: XdsUpdater = { serviceChanged() { /* none */ }, endpointsChanged() { /* none */ }, networksChanged() { /* none */ } };

/**
 * The merged services of one or more snapshots: shared by every snapshot until a service changes,
 * so an endpoint change neither copies them nor sorts them again.
 */
class ServicesPart {
  readonly byHost: ReadonlyMap<Hostname, Service>;
  #sorted: readonly Service[] | undefined;

  constructor(byHost: ReadonlyMap<Hostname, Service>) {
    this.byHost = byHost;
  }

  sorted(): readonly Service[] {
    this.#sorted ??= Object.freeze([...this.byHost.values()].sort((a, b) => (a.hostname < b.hostname ? -1 : 1)));
    return this.#sorted;
  }
}

/** An immutable view of the aggregate at one version. */
export class RegistrySnapshot {
  readonly version: number;
  /** Clusters in registration order. */
  readonly clusters: readonly ClusterId[];
  readonly gateways: readonly NetworkGateway[];
  readonly #services: ServicesPart;
  readonly #shards: ReadonlyMap<Hostname, ShardsByNamespace>;

  constructor(version: number, clusters: readonly ClusterId[], services: ServicesPart, shards: ReadonlyMap<Hostname, ShardsByNamespace>, gateways: readonly NetworkGateway[]) {
    this.version = version;
    this.clusters = clusters;
    this.#services = services;
    this.#shards = shards;
    this.gateways = gateways;
  }

  /** Merged services, sorted by hostname. */
  services(): readonly Service[] {
    return this.#services.sorted();
  }

  service(hostname: Hostname): Service | undefined {
    return this.#services.byHost.get(hostname);
  }

  /** Shards of a host (all namespaces, or one), in cluster registration order. */
  shardsFor(hostname: Hostname, namespace?: string): EndpointShard[] {
    const byNs = this.#shards.get(hostname);
    if (!byNs) return [];
    const out: EndpointShard[] = [];
    const order = new Map(this.clusters.map((c, i) => [c, i]));
    for (const [ns, byCluster] of byNs) {
      if (namespace !== undefined && ns !== namespace) continue;
      for (const [cluster, endpoints] of byCluster) out.push({ cluster, namespace: ns, endpoints });
    }
    return out.sort((a, b) => (order.get(a.cluster) ?? 0) - (order.get(b.cluster) ?? 0) || (a.namespace < b.namespace ? -1 : 1));
  }

  /** The union of a host's shards (shared, never to be modified). */
  endpoints(hostname: Hostname, namespace?: string): readonly Endpoint[] {
    if (namespace !== undefined) return this.shardsFor(hostname, namespace).flatMap((s) => s.endpoints);
    const byNs = this.#shards.get(hostname);
    if (!byNs) return [];
    const known = unions.get(byNs);
    if (known !== undefined && sameOrder(known.clusters, this.clusters)) return known.endpoints;
    const endpoints = Object.freeze(this.shardsFor(hostname).flatMap((s) => s.endpoints));
    unions.set(byNs, { clusters: this.clusters, endpoints });
    return endpoints;
  }

  /** Hosts that have endpoint shards. */
  endpointHostnames(): Hostname[] {
    return [...this.#shards.keys()].sort();
  }
}

export class ShardStore implements RegistrySink {
  #updater: XdsUpdater;
  #clusters: ClusterId[] = [];
  /** Per host, each cluster's own Service (immutable inner maps, replaced on write). */
  readonly #perCluster = new Map<Hostname, ReadonlyMap<ClusterId, Service>>();
  readonly #merged = new Map<Hostname, Service>();
  readonly #shards = new Map<Hostname, ShardsByNamespace>();
  readonly #clusterGateways = new Map<ClusterId, readonly NetworkGateway[]>();
  #staticGateways: readonly NetworkGateway[] = [];
  #gateways: readonly NetworkGateway[] = [];
  #version = 0;
  #snapshot: RegistrySnapshot | undefined;
  /** The merged services as snapshots see them; dropped when one changes. */
  #servicesPart: ServicesPart | undefined;

  constructor(updater: XdsUpdater = NOOP_UPDATER) {
    this.#updater = updater;
  }

  /** Connects the push side (replaces the previous updater). */
  setUpdater(updater: XdsUpdater): void {
    this.#updater = updater;
  }

  /**
   * Registers a cluster; the first registered cluster's Services provide merged defaults (register
   * the config cluster first). Clusters are also registered implicitly on their first write.
   */
  addCluster(cluster: ClusterId): void {
    if (!this.#clusters.includes(cluster)) {
      this.#clusters = [...this.#clusters, cluster];
      this.#changed();
    }
  }

  upsertService(cluster: ClusterId, svc: Service): void {
    this.addCluster(cluster);
    const prev = this.#perCluster.get(svc.hostname);
    if (prev && isDeepStrictEqual(prev.get(cluster), svc)) return;
    this.#perCluster.set(svc.hostname, new Map(prev).set(cluster, svc));
    this.#remerge(svc.hostname);
    this.#updater.serviceChanged(svc.hostname, svc.namespace);
  }

  deleteService(cluster: ClusterId, hostname: Hostname): void {
    const prev = this.#perCluster.get(hostname);
    const old = prev?.get(cluster);
    if (!prev || !old) return;
    const next = new Map(prev);
    next.delete(cluster);
    if (next.size === 0) this.#perCluster.delete(hostname);
    else this.#perCluster.set(hostname, next);
    this.#remerge(hostname);
    this.#updater.serviceChanged(hostname, old.namespace);
  }

  setEndpoints(cluster: ClusterId, hostname: Hostname, namespace: string, endpoints: readonly Endpoint[]): void {
    const before = this.#identities(hostname);
    if (!this.#writeShard(cluster, hostname, namespace, endpoints)) return;
    this.#changed();
    this.#announceEndpoints(hostname, namespace, before);
  }

  /** The identities a host's endpoints serve as, over all its shards (`<namespace>/<account>`, sorted). */
  #identities(hostname: Hostname): string {
    const ids = new Set<string>();
    for (const [ns, byCluster] of this.#shards.get(hostname) ?? []) {
      for (const eps of byCluster.values()) for (const ep of eps) if (ep.serviceAccount !== '') ids.add(`${ep.pod?.namespace ?? ns}/${ep.serviceAccount}`);
    }
    return [...ids].sort().join(',');
  }

  /** An endpoint-only push, unless the host's endpoint identities changed from `before` (then a full one). */
  #announceEndpoints(hostname: Hostname, namespace: string, before: string): void {
    if (this.#identities(hostname) === before) this.#updater.endpointsChanged(hostname, namespace);
    else this.#updater.serviceChanged(hostname, namespace);
  }

  setGateways(cluster: ClusterId, gateways: readonly NetworkGateway[]): void {
    this.addCluster(cluster);
    if (gateways.length === 0) this.#clusterGateways.delete(cluster);
    else this.#clusterGateways.set(cluster, Object.freeze([...gateways]));
    this.#regateway();
  }

  /** Gateways that belong to no cluster registry: meshNetworks `gateways[].address` entries. */
  setStaticGateways(gateways: readonly NetworkGateway[]): void {
    this.#staticGateways = Object.freeze([...gateways]);
    this.#regateway();
  }

  /** Drops everything a cluster contributed (its secret was deleted) and reports what changed. */
  removeCluster(cluster: ClusterId): void {
    if (!this.#clusters.includes(cluster)) return;
    const changedServices: [Hostname, string][] = [];
    for (const [hostname, byCluster] of this.#perCluster) {
      const svc = byCluster.get(cluster);
      if (svc) changedServices.push([hostname, svc.namespace]);
    }
    const changedShards: [Hostname, string][] = [];
    for (const [hostname, byNs] of this.#shards) {
      for (const [ns, byCluster] of byNs) if (byCluster.has(cluster)) changedShards.push([hostname, ns]);
    }
    for (const [hostname] of changedServices) {
      const next = new Map(this.#perCluster.get(hostname));
      next.delete(cluster);
      if (next.size === 0) this.#perCluster.delete(hostname);
      else this.#perCluster.set(hostname, next);
    }
    this.#clusters = this.#clusters.filter((c) => c !== cluster);
    // Re-merge every host: removing a cluster can change which cluster provides the defaults.
    for (const [hostname] of changedServices) this.#remerge(hostname);
    const before = new Map(changedShards.map(([hostname]) => [hostname, this.#identities(hostname)]));
    for (const [hostname, ns] of changedShards) this.#writeShard(cluster, hostname, ns, []);
    this.#changed();
    for (const [hostname, ns] of changedServices) this.#updater.serviceChanged(hostname, ns);
    for (const [hostname, ns] of changedShards) this.#announceEndpoints(hostname, ns, before.get(hostname) ?? '');
    if (this.#clusterGateways.delete(cluster)) this.#regateway();
  }

  /** What one cluster contributed: its services' hostnames and its shards' (hostname, namespace). */
  clusterContents(cluster: ClusterId): { services: Hostname[]; shards: [Hostname, string][]; hasGateways: boolean } {
    const services: Hostname[] = [];
    for (const [hostname, byCluster] of this.#perCluster) if (byCluster.has(cluster)) services.push(hostname);
    const shards: [Hostname, string][] = [];
    for (const [hostname, byNs] of this.#shards) {
      for (const [ns, byCluster] of byNs) if (byCluster.has(cluster)) shards.push([hostname, ns]);
    }
    return { services, shards, hasGateways: this.#clusterGateways.has(cluster) };
  }

  /** The current state; the same object until the next change. */
  snapshot(): RegistrySnapshot {
    this.#servicesPart ??= new ServicesPart(new Map(this.#merged));
    this.#snapshot ??= new RegistrySnapshot(this.#version, Object.freeze([...this.#clusters]), this.#servicesPart, new Map(this.#shards), this.#gateways);
    return this.#snapshot;
  }

  get version(): number { return this.#version; }
  clusters(): readonly ClusterId[] { return this.snapshot().clusters; }
  services(): readonly Service[] { return this.snapshot().services(); }
  service(hostname: Hostname): Service | undefined { return this.#merged.get(hostname); }
  endpoints(hostname: Hostname, namespace?: string): readonly Endpoint[] { return this.snapshot().endpoints(hostname, namespace); }
  shardsFor(hostname: Hostname, namespace?: string): EndpointShard[] { return this.snapshot().shardsFor(hostname, namespace); }
  gateways(): readonly NetworkGateway[] { return this.#gateways; }

  #changed(): void {
    this.#version++;
    this.#snapshot = undefined;
  }

  /** Writes one shard; answers whether anything changed. */
  #writeShard(cluster: ClusterId, hostname: Hostname, namespace: string, endpoints: readonly Endpoint[]): boolean {
    const byNs = this.#shards.get(hostname);
    const byCluster = byNs?.get(namespace);
    const prev = byCluster?.get(cluster);
    if (endpoints.length === 0 && prev === undefined) return false;
    if (prev !== undefined && isDeepStrictEqual(prev, endpoints)) return false;
    if (endpoints.length > 0) this.addCluster(cluster);
    const nextCluster = new Map(byCluster);
    if (endpoints.length === 0) nextCluster.delete(cluster);
    else nextCluster.set(cluster, Object.freeze([...endpoints]));
    const nextNs = new Map(byNs);
    if (nextCluster.size === 0) nextNs.delete(namespace);
    else nextNs.set(namespace, nextCluster);
    if (nextNs.size === 0) this.#shards.delete(hostname);
    else this.#shards.set(hostname, nextNs);
    return true;
  }

  #remerge(hostname: Hostname): void {
    const byCluster = this.#perCluster.get(hostname);
    const merged = byCluster ? mergeServices(this.#clusters, byCluster) : undefined;
    if (merged) this.#merged.set(hostname, merged);
    else this.#merged.delete(hostname);
    this.#servicesPart = undefined;
    this.#changed();
  }

  #regateway(): void {
    const next = Object.freeze(mergeGateways(this.#staticGateways, ...this.#clusterGateways.values()));
    if (isDeepStrictEqual(next, this.#gateways)) return;
    this.#gateways = next;
    this.#changed();
    this.#updater.networksChanged();
  }
}

/**
 * Istio's aggregate merge: the Service of the first cluster in `order` that has one is the base;
 * each cluster contributes its own VIPs and external addresses; service accounts are unioned.
 */
export function mergeServices(order: readonly ClusterId[], byCluster: ReadonlyMap<ClusterId, Service>): Service | undefined {
  const clusters = order.filter((c) => byCluster.has(c));
  for (const c of byCluster.keys()) if (!clusters.includes(c)) clusters.push(c);
  const [first, ...rest] = clusters.map((c) => byCluster.get(c)).filter((s): s is Service => s !== undefined);
  if (!first) return undefined;
  if (rest.length === 0) return first;
  const vips = new Map(first.clusterVIPs);
  const external = new Map(first.clusterExternalAddresses);
  const accounts = new Set(first.serviceAccounts);
  for (const svc of rest) {
    for (const [c, addrs] of svc.clusterVIPs) if (!vips.get(c)?.length) vips.set(c, addrs);
    for (const [c, addrs] of svc.clusterExternalAddresses) if (!external.get(c)?.length) external.set(c, addrs);
    for (const sa of svc.serviceAccounts) accounts.add(sa);
  }
  return { ...first, clusterVIPs: vips, clusterExternalAddresses: external, serviceAccounts: [...accounts].sort() };
}
