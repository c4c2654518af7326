/**
 * `isthmus discovery`: the composition root of the control plane. Builds the local cluster's
 * registry, the secret controller for remote clusters, the aggregate store, the xDS server and the
 * debug/metrics HTTP servers, and owns start and stop order.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { ServerCredentials } from '@grpc/grpc-js';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import type { Features } from '../config/features.ts';
import { DebugServer } from '../debug/server.ts';
import { KubeClient } from '../kube/client.ts';
import { SecretController } from '../kube/multicluster/secretcontroller.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { virtualServiceProblems } from '../xds/generators/vs-routes.ts';
import { clusterId as parseClusterId, type ClusterId } from '../model/ids.ts';
import type { MeshSettings, MeshView } from '../model/mesh-view.ts';
import type { MeshNetworks } from '../model/network.ts';
import type { Logger } from '../observability/log.ts';
import { KubeRegistry } from '../registry/kube/controller.ts';
import { ShardStore } from '../registry/shards.ts';
import { AdsServer } from '../xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../xds/server/grpc.ts';
import { xdsMetrics } from '../xds/server/metrics.ts';
import type { GeneratorLookup } from '../xds/server/types.ts';
import { istioCertificateService } from '../proto/services.ts';
import { registerDebugHandlers, type ClusterInfo } from './debug-handlers.ts';
import { IdentityPlane, combine } from './identity.ts';
import { cachedMeshView } from './mesh-view.ts';
import { IstioConfigWatcher } from '../config/istio-config.ts';
import { pushTriggers } from './push-triggers.ts';
import { RegistryComponent } from './registry-component.ts';
import { Injection } from './injection.ts';

export const ANNOTATION_CONTROL_PLANE_CLUSTERS = 'topology.istio.io/controlPlaneClusters';

/** How long shutdown may take before parts blocked on API servers are abandoned. */
export const DEFAULT_SHUTDOWN_BUDGET_MS = 5_000;

/** Whether `p` settles within `ms` (it is not cancelled either way). */
async function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => { resolve(false); }, Math.max(0, ms)); });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface DiscoveryConfig {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly features: Features;
  readonly clusterId: string;
  readonly systemNamespace: string;
  readonly podName: string;
  readonly grpcAddr: string;
  /** TLS xDS + CA address (default :15012); callers authenticate with a token or our client certificate. */
  readonly secureGRPCAddr?: string | undefined;
  readonly httpAddr: string;
  readonly monitoringAddr: string;
  /** HTTPS injection webhook address (istiod's --httpsAddr, default :15017); empty: not served. */
  readonly httpsAddr?: string | undefined;
  readonly meshConfigFile?: string | undefined;
  readonly networksConfigFile?: string | undefined;
  readonly generators?: GeneratorLookup;
  readonly version: string;
  /** Lease of istiod's election lock (default 30 s). */
  readonly leaderLeaseMs?: number | undefined;
}

interface MeshConfigFile { trustDomain?: string; defaultConfig?: { meshId?: string } }

function readYamlFile(path: string, what: string): unknown {
  try {
    return parseYaml(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    throw new IsthmusError(ErrorCodes.Usage, `cannot read ${what} ${path}: ${errorMessage(err)}`);
  }
}

/** Whether the namespace annotation lets control plane `self` lead (docs/istio-compat.md §10.2). */
export function annotationSelects(value: string | undefined, self: string): boolean {
  if (!value) return false;
  return value.split(',').map((s) => s.trim()).some((v) => v === '*' || v === self);
}

export class Discovery {
  readonly log: Logger;
  readonly store: ShardStore;
  readonly ads: AdsServer;
  readonly metrics: Registry;
  readonly #cfg: DiscoveryConfig;
  readonly #local: KubeRegistry;
  readonly #secrets: SecretController;
  readonly #remotes = new Map<string, RegistryComponent>();
  readonly #clients = new Map<string, KubeClient>();
  readonly #localClient: KubeClient;
  readonly #localId: ClusterId;
  readonly #config: IstioConfigWatcher;
  readonly #mesh: MeshSettings;
  #debug: DebugServer | undefined;
  #monitoring: DebugServer | undefined;
  #grpc: BoundServer | undefined;
  #secureGrpc: BoundServer | undefined;
  readonly identity: IdentityPlane;
  #ready = false;
  readonly #managedClusters: Gauge<'cluster_type'>;
  readonly #syncStatus: Gauge<'cluster_id' | 'secret' | 'status' | 'reason'>;
  readonly addresses: { grpc?: string; secureGrpc?: string; http?: string; monitoring?: string; https?: string } = {};
  #injection: Injection | undefined;

  constructor(cfg: DiscoveryConfig, log: Logger) {
    this.#cfg = cfg;
    this.log = log;
    this.#localId = parseClusterId(cfg.clusterId);
    this.#localClient = KubeClient.load({ kubeconfig: cfg.kubeconfig, context: cfg.context });
    const meshFile = (cfg.meshConfigFile ? readYamlFile(cfg.meshConfigFile, 'mesh config') : {}) as MeshConfigFile;
    const networks = cfg.networksConfigFile ? readYamlFile(cfg.networksConfigFile, 'mesh networks') as MeshNetworks : undefined;
    this.#mesh = { trustDomain: meshFile.trustDomain ?? cfg.features.trustDomain, domainSuffix: 'cluster.local' };
    this.metrics = new Registry();
    collectDefaultMetrics({ register: this.metrics });

    const triggers = pushTriggers((req) => { this.ads.push(req); });
    this.#config = new IstioConfigWatcher(this.#localClient, {
      domainSuffix: this.#mesh.domainSuffix,
      rootNamespace: cfg.systemNamespace,
      onChange: triggers.configChanged,
      log: log.scope('config'),
    });
    this.store = new ShardStore();
    this.ads = new AdsServer({
      generators: cfg.generators ?? (() => undefined),
      view: cachedMeshView(this.store, this.#config, this.#mesh, (view) => { this.#warnVirtualServices(view); }),
      controlPlaneId: cfg.podName, controlPlaneVersion: cfg.version, systemNamespace: cfg.systemNamespace,
      debounceAfterMs: cfg.features.debounceAfter, debounceMaxMs: cfg.features.debounceMax, pushThrottle: cfg.features.pushThrottle,
      log: log.scope('ads'), metrics: xdsMetrics(this.metrics),
      debugAuth: cfg.features.debugEndpointAuth, identityCheck: cfg.features.xdsIdentityCheck,
      ready: () => this.#ready,
      sendTimeoutMs: cfg.features.xdsSendTimeout, limits: { maxStreamsPerConnection: cfg.features.xdsMaxStreamsPerConnection, maxStreamsPerIdentity: cfg.features.xdsMaxStreamsPerIdentity },
    });
    this.store.setUpdater(triggers.registry);
    // The config cluster registers first: its Services provide the merged defaults (docs/istio-compat.md §7).
    this.store.addCluster(this.#localId);
    const registryOpts = { store: this.store, systemNamespace: cfg.systemNamespace, domainSuffix: this.#mesh.domainSuffix, trustDomain: this.#mesh.trustDomain, meshNetworks: networks, log: log.scope('registry') };
    this.#local = new KubeRegistry({
      cluster: this.#localId, source: this.#localClient, sink: this.store, systemNamespace: cfg.systemNamespace,
      domainSuffix: this.#mesh.domainSuffix, trustDomain: this.#mesh.trustDomain, ...(networks ? { meshNetworks: networks } : {}),
      log: log.scope('registry'),
    });
    this.identity = new IdentityPlane({
      localClient: this.#localClient, localClusterId: this.#localId, systemNamespace: cfg.systemNamespace,
      trustDomain: this.#mesh.trustDomain, tokenAudiences: cfg.features.tokenAudiences.split(',').map((a) => a.trim()).filter(Boolean),
      externalIstiod: cfg.features.externalIstiod, podName: cfg.podName, metrics: this.metrics, log,
      ...(cfg.leaderLeaseMs === undefined ? {} : { leaseDurationMs: cfg.leaderLeaseMs }),
      clusters: {
        localClusterId: this.#localId,
        client: (id) => this.client(id),
        clusterIds: () => [this.#localId, ...this.#secrets.statuses().filter((x) => x.syncStatus !== 'error').map((x) => x.id)],
      },
    });
    // An external control plane (EXTERNAL_ISTIOD) with LOCAL_CLUSTER_SECRET_WATCHER reads its config
    // cluster through KUBECONFIG but finds remote secrets in the cluster it runs in.
    const secretsClient = cfg.features.externalIstiod && cfg.features.localClusterSecretWatcher ? KubeClient.inCluster() : this.#localClient;
    if (secretsClient !== this.#localClient) log.info('watching remote secrets in the cluster the control plane runs in (LOCAL_CLUSTER_SECRET_WATCHER)', { server: secretsClient.server, namespace: cfg.systemNamespace });
    this.#secrets = new SecretController({
      client: secretsClient,
      namespace: cfg.systemNamespace,
      localClusterId: this.#localId,
      syncTimeoutMs: cfg.features.remoteClusterTimeout,
      factory: (id, client) => {
        const c = new RegistryComponent(id, client, registryOpts);
        this.#remotes.set(id, c);
        this.#clients.set(id, client);
        return combine(c, this.identity.leadership(id, client));
      },
      log: log.scope('secrets'),
    });
    const managed = new Gauge({ name: 'istiod_managed_clusters', help: 'Number of clusters managed by istiod', labelNames: ['cluster_type'], registers: [this.metrics] });
    managed.set({ cluster_type: 'local' }, 1);
    this.#managedClusters = managed;
    this.#syncStatus = new Gauge({ name: 'istiod_remote_cluster_sync_status', help: 'Sync status of a remote cluster: 1 synced, 0 not (syncing, timeout, unhealthy, error); reason names a refused kubeconfig field or the error code', labelNames: ['cluster_id', 'secret', 'status', 'reason'], registers: [this.metrics] });
  }

  #vsWarned = new Set<string>();

  /** Each VirtualService that sidecar routes cannot use is named once (again after it was fixed and broke again). */
  #warnVirtualServices(view: MeshView): void {
    const now = new Set(virtualServiceProblems(view));
    for (const p of now) if (!this.#vsWarned.has(p)) this.log.scope('config').warn(`[${ErrorCodes.IstioConfigInvalid}] ${p}`);
    this.#vsWarned = now;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Clients of every known cluster by id (local included), for token review in each cluster. */
  client(id: string): KubeClient | undefined {
    if (id === '' || id === this.#localId) return this.#localClient;
    return this.#secrets.statuses().some((s) => s.id === id && s.syncStatus !== 'error') ? this.#clients.get(id) : undefined;
  }

  clusters(): ClusterInfo[] {
    const local = this.#local.status();
    const out: ClusterInfo[] = [{ id: this.#localId, secret: '', server: this.#localClient.server, syncStatus: local.synced ? 'synced' : 'syncing', healthy: local.healthy, shouldLead: true, leading: this.identity.isLeading(this.#localId) }];
    // (the local cluster is always led by its own control plane)
    for (const s of this.#secrets.statuses()) {
      const comp = this.#remotes.get(s.id);
      if (!comp || s.syncStatus === 'error') { out.push(s); continue; }
      const annotation = comp.registry.systemNamespaceAnnotations()[ANNOTATION_CONTROL_PLANE_CLUSTERS];
      const st = comp.registry.status();
      const informerError = Object.entries(st.informers).find(([, i]) => !i.healthy && i.lastError);
      const overflow = Object.entries(st.informers).find(([, i]) => i.overflow !== undefined);
      const where = `secret ${s.secret} key ${JSON.stringify(s.id)}`;
      const problem = informerError ? { lastError: `${where}: ${informerError[0]}: ${informerError[1].lastError ?? ''}`, reason: informerError[1].lastErrorCode ?? 'ISTHMUS_KUBE_UNREACHABLE' }
        : overflow ? { lastError: `${where}: ${overflow[0]}: ${overflow[1].overflow ?? ''}`, reason: ErrorCodes.KubeResponseTooLarge } : undefined;
      out.push({
        ...s, healthy: st.healthy && s.syncStatus !== 'unhealthy', shouldLead: this.#cfg.features.externalIstiod && annotationSelects(annotation, this.#localId), leading: this.identity.isLeading(s.id),
        ...(s.lastError === undefined && problem ? problem : {}),
      });
    }
    return out;
  }

  async start(): Promise<void> {
    const httpDebug = new DebugServer({ address: this.#cfg.httpAddr, publicPaths: ['/ready'], authorize: (req) => this.#authorizeDebug(req.socket.remoteAddress, req.headers.authorization) });
    httpDebug.handle('/ready', () => (this.#ready ? { status: 200, text: 'ready\n' } : { status: 503, text: 'not ready: waiting for clusters to sync\n' }));
    registerDebugHandlers(httpDebug, {
      clusters: () => this.clusters(),
      registry: () => this.store.snapshot(),
      ads: this.ads,
      pushStatus: () => ({ version: this.store.version, connections: this.ads.connections().length, clusters: this.store.clusters() }),
    });
    const monitoring = new DebugServer({ address: this.#cfg.monitoringAddr, publicPaths: ['/metrics'] });
    monitoring.handle('/metrics', async () => {
      const statuses = this.clusters().filter((x) => x.secret !== '');
      this.#managedClusters.set({ cluster_type: 'remote' }, statuses.filter((x) => x.syncStatus !== 'error').length);
      this.#syncStatus.reset();
      for (const st of statuses) this.#syncStatus.set({ cluster_id: st.id, secret: st.secret, status: st.syncStatus, reason: st.reason ?? '' }, st.syncStatus === 'synced' ? 1 : 0);
      return { status: 200, text: await this.metrics.metrics() };
    });

    await this.identity.start();
    this.#local.start();
    this.#config.start();
    this.#secrets.start();
    const http = await httpDebug.listen();
    this.#debug = httpDebug;
    this.addresses.http = `${http.address}:${http.port}`;
    const mon = await monitoring.listen();
    this.#monitoring = monitoring;
    this.addresses.monitoring = `${mon.address}:${mon.port}`;
    this.#grpc = await startGrpcServer(this.#cfg.grpcAddr, ServerCredentials.createInsecure(), this.ads.limits, [
      { definition: preparedAdsService, implementation: this.ads.implementation() },
    ]);
    this.addresses.grpc = `${this.#cfg.grpcAddr.replace(/:\d+$/, '')}:${this.#grpc.port}`;
    const secureAddr = this.#cfg.secureGRPCAddr ?? ':15012';
    this.#secureGrpc = await startGrpcServer(secureAddr, this.identity.serving.credentials(), this.ads.limits, [
      { definition: preparedAdsService, implementation: this.ads.implementation(this.identity.authn.forAds()) },
      { definition: istioCertificateService, implementation: this.identity.ca.implementation() },
    ]);
    this.addresses.secureGrpc = `${secureAddr.replace(/:\d+$/, '')}:${this.#secureGrpc.port}`;
    const httpsAddr = this.#cfg.httpsAddr ?? ':15017';
    if (httpsAddr !== '') {
      this.#injection = new Injection({
        address: httpsAddr, localClient: this.#localClient, localClusterId: this.#localId, systemNamespace: this.#cfg.systemNamespace,
        trustDomain: this.#mesh.trustDomain, client: (id) => this.client(id ?? ''), ca: this.identity.store, metrics: this.metrics, log: this.log.scope('inject'),
      });
      this.addresses.https = await this.#injection.start();
    }
    this.log.info('control plane listening', { grpc: this.addresses.grpc, secureGrpc: this.addresses.secureGrpc, https: this.addresses.https, http: this.addresses.http, monitoring: this.addresses.monitoring, cluster: this.#localId });
    void Promise.all([this.#local.synced, this.#secrets.ready()]).then(() => {
      this.#ready = true;
      this.log.info('ready: local cluster synced, remote clusters synced or timed out');
    });
  }

  /**
   * Stops everything within `budgetMs`, whatever the API servers do: listeners first, then every
   * controller at once (leader locks are released if the server answers quickly; calls in flight
   * are aborted where the component supports it). Parts still blocked on an unresponsive API
   * server when the budget runs out are abandoned and named in the log and the result; the caller
   * then exits the process.
   */
  async stop(budgetMs = DEFAULT_SHUTDOWN_BUDGET_MS): Promise<readonly string[]> {
    const deadline = Date.now() + budgetMs;
    const late: string[] = [];
    const bounded = async (part: string, work: () => Promise<unknown> | undefined): Promise<void> => {
      const done = (async () => {
        try { await work(); } catch (err) { this.log.warn('shutdown: stopping failed', { part, error: errorMessage(err) }); }
      })();
      if (!await settlesWithin(done, deadline - Date.now())) late.push(part);
    };
    this.ads.close();
    await Promise.all([
      bounded('grpc', () => this.#grpc?.close()),
      bounded('secure grpc', () => this.#secureGrpc?.close()),
      bounded('injection webhook', () => this.#injection?.stop()),
      bounded('debug http', () => this.#debug?.close()),
      bounded('monitoring http', () => this.#monitoring?.close()),
    ]);
    await Promise.all([
      bounded('remote clusters', () => this.#secrets.stop()),
      bounded('local cluster registry', () => this.#local.stop()),
      bounded('istio config watcher', () => this.#config.stop()),
      bounded('identity and leader election', () => this.identity.stop()),
    ]);
    if (late.length > 0) this.log.warn('shutdown: gave up waiting (API server not answering)', { parts: late.join(', '), budgetMs });
    return late;
  }

  /**
   * Debug data: loopback callers (the pod itself), or a bearer token of a service account in the
   * system namespace, verified by TokenReview in the local cluster.
   */
  async #authorizeDebug(addr: string | undefined, authorization: string | undefined): Promise<string | undefined> {
    if (isLoopback(addr)) return undefined;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m?.[1]) return 'debug endpoints need a bearer token of a service account in the system namespace';
    try {
      const who = await this.identity.reviewer.review(this.#localClient, this.#localId, m[1]);
      return who.namespace === this.#cfg.systemNamespace ? undefined : `service account ${who.namespace}/${who.serviceAccount} may not read debug endpoints`;
    } catch {
      return 'authentication failure';
    }
  }
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '::1' || addr?.startsWith('127.') === true || addr?.startsWith('::ffff:127.') === true;
}

export function defaultPodName(): string {
  return osHostname();
}
