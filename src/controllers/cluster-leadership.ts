/**
 * What one control-plane replica runs for one cluster it may lead: decide whether to lead it at all
 * (docs/istio-compat.md §10.2), campaign for istiod's namespace-controller lock in that cluster, and while leading run the
 * namespace controller and the webhook patcher there. Fits the secret controller's `ClusterComponent`
 * (synced / activate / stop), so the composition root can create one per remote cluster and one for the
 * local cluster.
 */
import type { KubeClient } from '../kube/client.ts';
import type { ClusterComponent } from '../kube/multicluster/secretcontroller.ts';
import { errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';
import { silentLogger } from '../observability/log.ts';
import { ConfigMapLock, LeaderElection, NAMESPACE_CONTROLLER_ELECTION, shouldLeadCluster } from './leaderelection.ts';
import { NamespaceController } from './namespacecontroller.ts';
import type { Clock } from '../model/clock.ts';
import { WebhookPatcher } from './webhookpatcher.ts';

export interface ClusterLeadershipOptions {
  readonly clusterId: string;
  /** Client of the cluster to lead. */
  readonly client: KubeClient;
  readonly systemNamespace: string;
  /** This control plane's own cluster id. */
  readonly localClusterId: string;
  /** EXTERNAL_ISTIOD. */
  readonly externalIstiod: boolean;
  /** POD_NAME of this replica. */
  readonly identity: string;
  readonly revision?: string;
  readonly leaseDurationMs?: number;
  /** ENABLE_LEADER_ELECTION (default true). */
  readonly electionEnabled?: boolean;
  readonly rootCertPem: () => string;
  /** Subscribe to root changes; returns an unsubscribe function (e.g. `(f) => caStore.onRootChange(f)`). */
  readonly onRootChange?: (listener: () => void) => () => void;
  /** Patch webhook caBundles (default true). */
  readonly patchWebhooks?: boolean;
  readonly clock?: Clock;
  readonly log?: Logger;
}

export class ClusterLeadership implements ClusterComponent {
  readonly synced: Promise<void> = Promise.resolve();
  readonly #opts: ClusterLeadershipOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #election: LeaderElection | undefined;
  #running: { ns: NamespaceController; webhooks: WebhookPatcher | undefined } | undefined;
  #stopping: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;
  #activation: Promise<void> | undefined;

  constructor(opts: ClusterLeadershipOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).scope(`leadership/${opts.clusterId}`);
  }

  get isLocal(): boolean {
    return this.#opts.clusterId === this.#opts.localClusterId;
  }

  isLeader(): boolean {
    return this.#election?.isLeader() ?? false;
  }

  /** The namespace controller while leading (for readiness checks and tests). */
  get namespaceController(): NamespaceController | undefined {
    return this.#running?.ns;
  }

  activate(): void {
    this.#activation ??= this.#activate().catch((err: unknown) => {
      this.#log.error('cannot decide whether to lead this cluster; not leading it', { error: errorMessage(err) });
    });
  }

  /** Resolves once the lead/no-lead decision is made and, if leading, the election has started. */
  async activated(): Promise<void> {
    await this.#activation;
  }

  async #activate(): Promise<void> {
    const o = this.#opts;
    const lead = await shouldLeadCluster(o.client, o.systemNamespace, o.localClusterId, o.externalIstiod, {
      isLocalCluster: this.isLocal, signal: this.#abort.signal, ...(o.clock ? { clock: o.clock } : {}),
    });
    if (this.#abort.signal.aborted) return;
    if (!lead) {
      this.#log.info('not leading this cluster (no EXTERNAL_ISTIOD, or its controlPlaneClusters annotation does not name us)');
      return;
    }
    this.#unsubscribe = o.onRootChange?.(() => { this.#running?.ns.rootChanged(); this.#running?.webhooks?.rootChanged(); });
    this.#election = new LeaderElection({
      lock: new ConfigMapLock(o.client, o.systemNamespace, NAMESPACE_CONTROLLER_ELECTION),
      identity: o.identity,
      remote: !this.isLocal,
      ...(o.revision === undefined ? {} : { revision: o.revision }),
      ...(o.leaseDurationMs === undefined ? {} : { leaseDurationMs: o.leaseDurationMs }),
      ...(o.electionEnabled === undefined ? {} : { enabled: o.electionEnabled }),
      ...(o.clock ? { clock: o.clock } : {}),
      ...(o.log ? { log: o.log.scope(o.clusterId) } : {}),
      onStartedLeading: () => { this.#startControllers(); },
      onStoppedLeading: () => { this.#stopping = this.#stopControllers(); },
    });
    this.#election.start();
  }

  #startControllers(): void {
    const o = this.#opts;
    const common = { client: o.client, clusterId: o.clusterId, rootCertPem: o.rootCertPem, ...(o.clock ? { clock: o.clock } : {}), ...(o.log ? { log: o.log } : {}) };
    const ns = new NamespaceController(common);
    const webhooks = o.patchWebhooks === false ? undefined : new WebhookPatcher({ ...common, ...(o.revision === undefined ? {} : { revision: o.revision }) });
    this.#running = { ns, webhooks };
    ns.start();
    webhooks?.start();
  }

  async #stopControllers(): Promise<void> {
    const r = this.#running;
    this.#running = undefined;
    if (r) await Promise.all([r.ns.stop(), r.webhooks?.stop()]);
  }

  /** Stops campaigning (releasing the lock if leading) and the controllers. `release=false` simulates a crash. */
  async stop(_removeState = true, release = true): Promise<void> {
    this.#abort.abort();
    await this.#activation;
    this.#unsubscribe?.();
    await this.#election?.stop({ release });
    await this.#stopping;
    await this.#stopControllers();
  }
}
