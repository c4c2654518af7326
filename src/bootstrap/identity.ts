/**
 * Identity wiring: the CA key material, the authenticators (token review in the cluster the caller
 * names, or our client certificate), the CreateCertificate service, the :15012 serving certificate,
 * and per-cluster leadership (namespace controller, webhook patcher).
 */
import type { Registry } from 'prom-client';
import { CaStore } from '../ca/store.ts';
import { bundleAuthority } from '../ca/server/authority.ts';
import { caMetrics } from '../ca/server/metrics.ts';
import { CaService } from '../ca/server/service.ts';
import { ServingCertificate } from '../ca/server/serving.ts';
import { ClusterLeadership } from '../controllers/cluster-leadership.ts';
import type { KubeClient } from '../kube/client.ts';
import type { ClusterComponent } from '../kube/multicluster/secretcontroller.ts';
import type { Logger } from '../observability/log.ts';
import { AuthenticatorChain, ClientCertAuthenticator, KubeJwtAuthenticator, type ClusterClients } from '../security/authenticate.ts';
import { TokenReviewer } from '../security/tokenreview.ts';

export interface IdentityOptions {
  readonly localClient: KubeClient;
  readonly localClusterId: string;
  readonly systemNamespace: string;
  readonly trustDomain: string;
  readonly tokenAudiences: readonly string[];
  readonly externalIstiod: boolean;
  readonly podName: string;
  readonly clusters: ClusterClients;
  readonly metrics: Registry;
  readonly log: Logger;
  readonly leaseDurationMs?: number;
}

export class IdentityPlane {
  readonly store: CaStore;
  readonly reviewer: TokenReviewer;
  readonly authn: AuthenticatorChain;
  readonly ca: CaService;
  readonly #opts: IdentityOptions;
  #serving: ServingCertificate | undefined;
  #local: ClusterLeadership | undefined;
  readonly #leaders = new Map<string, ClusterLeadership>();

  constructor(opts: IdentityOptions) {
    this.#opts = opts;
    this.store = new CaStore({ client: opts.localClient, namespace: opts.systemNamespace, trustDomain: opts.trustDomain, log: opts.log.scope('ca-store') });
    const caM = caMetrics(opts.metrics);
    this.reviewer = new TokenReviewer({ audiences: opts.tokenAudiences, log: opts.log.scope('tokenreview'), onReview: (cluster) => { caM.tokenReviews.inc({ cluster }); }, onRefusedLocally: (reason) => { caM.tokensRefusedLocally.inc({ reason }); } });
    this.authn = new AuthenticatorChain([
      new ClientCertAuthenticator({ issuers: () => this.store.issuerCertsPem(), trustDomains: [opts.trustDomain], localClusterId: opts.localClusterId }),
      new KubeJwtAuthenticator({ clusters: opts.clusters, reviewer: this.reviewer, trustDomain: opts.trustDomain }),
    ]);
    this.ca = new CaService({
      authenticate: (c) => this.authn.authenticate(c), authority: bundleAuthority(() => this.store.current()),
      trustDomains: [opts.trustDomain], log: opts.log.scope('ca'), metrics: caM,
    });
  }

  /** Loads (or creates) the CA and issues the serving certificate. */
  async start(): Promise<void> {
    await this.store.start();
    this.#serving = await ServingCertificate.create(this.store.current(), { namespace: this.#opts.systemNamespace });
    this.store.onChange((b) => { void this.#serving?.update(b); });
    this.#local = this.leadership(this.#opts.localClusterId, this.#opts.localClient);
    this.#local.activate();
  }

  get serving(): ServingCertificate {
    if (!this.#serving) throw new Error('identity plane not started');
    return this.#serving;
  }

  /** Leadership of one cluster: runs the namespace controller and webhook patcher while leading. */
  leadership(clusterId: string, client: KubeClient): ClusterLeadership {
    const l = new ClusterLeadership({
      clusterId, client, systemNamespace: this.#opts.systemNamespace, localClusterId: this.#opts.localClusterId,
      externalIstiod: this.#opts.externalIstiod, identity: this.#opts.podName,
      rootCertPem: () => this.store.rootCertPem(), onRootChange: (f) => this.store.onRootChange(f),
      log: this.#opts.log.scope(`leader/${clusterId}`),
      ...(this.#opts.leaseDurationMs === undefined ? {} : { leaseDurationMs: this.#opts.leaseDurationMs }),
    });
    this.#leaders.set(clusterId, l);
    return l;
  }

  /** Whether this replica currently holds the election lock of the cluster. */
  isLeading(clusterId: string): boolean {
    return this.#leaders.get(clusterId)?.isLeader() ?? false;
  }

  async stop(): Promise<void> {
    await this.#local?.stop();
    await this.store.stop();
  }
}

/** Runs several components of one cluster as one: synced when the first is, activated and stopped together. */
export function combine(primary: ClusterComponent, ...others: ClusterComponent[]): ClusterComponent {
  return {
    synced: primary.synced,
    activate: () => { primary.activate(); for (const o of others) o.activate(); },
    stop: async (removeState) => { await Promise.all([primary.stop(removeState), ...others.map((o) => o.stop(removeState))]); },
  };
}
