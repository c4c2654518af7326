/**
 * A registry sink that holds a cluster's writes until it is activated, then makes the store hold
 * exactly that state: new data is written first, then whatever the cluster had before and the new
 * state lacks is removed. This is how a replacement registry (a rotated remote secret) takes over a
 * cluster without a moment in which its endpoints are missing. After activation writes pass through.
 */
import type { Endpoint } from '../model/endpoint.ts';
import type { ClusterId, Hostname } from '../model/ids.ts';
import type { NetworkGateway } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import type { RegistrySink, ShardStore } from './shards.ts';

export class StagingSink implements RegistrySink {
  readonly #store: ShardStore;
  readonly #cluster: ClusterId;
  #active = false;
  readonly #services = new Map<Hostname, Service>();
  readonly #shards = new Map<string, { hostname: Hostname; namespace: string; endpoints: readonly Endpoint[] }>();
  #gateways: readonly NetworkGateway[] | undefined;

  constructor(store: ShardStore, cluster: ClusterId) {
    this.#store = store;
    this.#cluster = cluster;
  }

  get active(): boolean {
    return this.#active;
  }

  #closed = false;

  /** Whether writes are still accepted; after `close()` every write is dropped. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Drops every later write: the registry behind it is stopping (removed or replaced). */
  close(): void {
    this.#closed = true;
    this.#services.clear();
    this.#shards.clear();
    this.#gateways = undefined;
  }

  #check(cluster: ClusterId): void {
    if (cluster !== this.#cluster) throw new Error(`staging sink of ${this.#cluster} got a write for ${cluster}`);
  }

  upsertService(cluster: ClusterId, svc: Service): void {
    this.#check(cluster);
    if (this.#closed) return;
    if (this.#active) this.#store.upsertService(cluster, svc);
    else this.#services.set(svc.hostname, svc);
  }

  deleteService(cluster: ClusterId, hostname: Hostname): void {
    this.#check(cluster);
    if (this.#closed) return;
    if (this.#active) this.#store.deleteService(cluster, hostname);
    else this.#services.delete(hostname);
  }

  setEndpoints(cluster: ClusterId, hostname: Hostname, namespace: string, endpoints: readonly Endpoint[]): void {
    this.#check(cluster);
    if (this.#closed) return;
    if (this.#active) { this.#store.setEndpoints(cluster, hostname, namespace, endpoints); return; }
    const key = `${hostname}\u0000${namespace}`;
    if (endpoints.length === 0) this.#shards.delete(key);
    else this.#shards.set(key, { hostname, namespace, endpoints });
  }

  setGateways(cluster: ClusterId, gateways: readonly NetworkGateway[]): void {
    this.#check(cluster);
    if (this.#closed) return;
    if (this.#active) this.#store.setGateways(cluster, gateways);
    else this.#gateways = gateways;
  }

  /** Publishes the staged state as the cluster's whole state; later writes go straight through. */
  activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    const before = this.#store.clusterContents(this.#cluster);
    this.#store.addCluster(this.#cluster);
    for (const svc of this.#services.values()) this.#store.upsertService(this.#cluster, svc);
    for (const s of this.#shards.values()) this.#store.setEndpoints(this.#cluster, s.hostname, s.namespace, s.endpoints);
    if (this.#gateways !== undefined || before.hasGateways) this.#store.setGateways(this.#cluster, this.#gateways ?? []);
    for (const h of before.services) if (!this.#services.has(h)) this.#store.deleteService(this.#cluster, h);
    for (const [h, ns] of before.shards) if (!this.#shards.has(`${h}\u0000${ns}`)) this.#store.setEndpoints(this.#cluster, h, ns, []);
    this.#services.clear();
    this.#shards.clear();
    this.#gateways = undefined;
  }
}
