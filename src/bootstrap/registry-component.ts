/**
 * The per-cluster component the secret controller runs for each remote cluster: a Kubernetes
 * registry writing through a staging sink, so a replacement takes over only when activated.
 */
import type { KubeClient } from '../kube/client.ts';
import type { InformerFactory } from '../kube/informer.ts';
import type { ClusterComponent } from '../kube/multicluster/secretcontroller.ts';
import type { ClusterId } from '../model/ids.ts';
import type { MeshNetworks } from '../model/network.ts';
import type { Logger } from '../observability/log.ts';
import { KubeRegistry } from '../registry/kube/controller.ts';
import type { ShardStore } from '../registry/shards.ts';
import { StagingSink } from '../registry/staging.ts';

export interface RegistryComponentOptions {
  readonly store: ShardStore;
  readonly systemNamespace: string;
  readonly domainSuffix: string;
  readonly trustDomain: string;
  readonly meshNetworks?: MeshNetworks | undefined;
  readonly log: Logger;
}

export class RegistryComponent implements ClusterComponent {
  readonly registry: KubeRegistry;
  readonly synced: Promise<void>;
  readonly #staging: StagingSink;
  readonly #store: ShardStore;
  readonly #cluster: ClusterId;

  /** `source`: the remote cluster's client, or a factory of informers (the in-process test harness). */
  constructor(cluster: ClusterId, source: KubeClient | InformerFactory, opts: RegistryComponentOptions) {
    this.#cluster = cluster;
    this.#store = opts.store;
    this.#staging = new StagingSink(opts.store, cluster);
    const log = opts.log.scope(cluster);
    this.registry = new KubeRegistry({
      cluster, source, sink: this.#staging, systemNamespace: opts.systemNamespace,
      domainSuffix: opts.domainSuffix, trustDomain: opts.trustDomain,
      ...(opts.meshNetworks ? { meshNetworks: opts.meshNetworks } : {}),
      log,
    });
    this.synced = this.registry.synced;
    this.registry.start();
  }

  activate(): void {
    this.#staging.activate();
  }

  /**
   * Drops the cluster's state first, synchronously, then stops the informers (which abort their
   * requests): removal never waits on an API server that does not answer.
   */
  async stop(removeState: boolean): Promise<void> {
    this.#staging.close();
    if (removeState) this.#store.removeCluster(this.#cluster);
    await this.registry.stop();
  }
}
