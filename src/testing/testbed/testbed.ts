/**
 * The multi-cluster test bed as a library: start N independent Kubernetes API servers on loopback,
 * find them again from another process (state.json), stop them, and mint service-account tokens.
 *
 *   const bed = await Testbed.up({ dir: '.testbed', clusters: ['cluster1', 'cluster2'] });
 *   const real = await Testbed.up({ dir: '.testbed', clusters: ['cluster1'], nodes: true }); // + scheduler, a node
 *   const token = await bed.cluster('cluster2').mintToken('sample', 'sleep', { audience: 'istio-ca' });
 *   await bed.down();
 */
import { createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { TestbedErrorCodes, TestbedError } from './errors.ts';
import { ensureBinaries, ensureNodeBinaries, type Binaries, type NodeBinaries } from './binaries.ts';
import { generateClusterCerts } from './certs.ts';
import {
  allocatePorts, clusterFiles, issuerFor, startApiserver, startControllerManager, startEtcd, startScheduler, stopRecord,
  waitApiserver, waitControllerManager, waitEtcd, writeClusterFiles, type ClusterRecord,
} from './cluster.ts';
import { ensureImages, IMAGE_NAMES, type ImageName } from './images.ts';
import { checkKernel } from './kernel.ts';
import { planNode, startNode, type NodeRecord } from './node.ts';
import { PUBLIC_API_PORT, startNodeServices } from './node-services.ts';
import { unmountUnder } from './node-host.ts';
import { claimNodeNetwork, kubernetesServiceIp } from './node-net.ts';
import { adminRequest, tokenKubeconfig, type AdminCredentials, type ApiResponse } from './kubeconfig.ts';
import { isAlive, stopProcess, tail } from './procs.ts';

export interface UpOptions {
  readonly dir: string;
  readonly clusters: readonly string[];
  readonly log?: (line: string) => void;
  /** Use these binaries instead of the cached build (tests of start-up failures). */
  readonly binaries?: Binaries;
  /**
   * Real nodes: per cluster a kube-scheduler, the workload controllers and one node (containerd +
   * kubelet) on a bridge in 198.18.0.0/15 (node.ts). Off by default: the API-server-only bed is faster.
   */
  readonly nodes?: boolean;
  readonly nodeBinaries?: NodeBinaries;
  /**
   * With nodes: the application images to build (scripts/testbed-images.sh, cached by content hash)
   * and import into every node besides pause and busybox. Default: all of them (images.ts).
   */
  readonly images?: readonly ImageName[];
  /** With nodes: where the kernel's /proc is looked for (kernel.ts); tests of a missing feature change it. */
  readonly kernelRoot?: string;
}

interface StateFile {
  clusters: Record<string, ClusterRecord>;
  /** Other processes started for this test bed (e.g. the demo's control plane), stopped by `down`. */
  processes?: Record<string, { pid: number; log: string }>;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): StateFile {
  const p = statePath(dir);
  if (!existsSync(p)) return { clusters: {} };
  return JSON.parse(readFileSync(p, 'utf8')) as StateFile;
}

function writeState(dir: string, state: StateFile): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(statePath(dir), `${JSON.stringify(state, null, 2)}\n`);
}

export function recordAlive(rec: ClusterRecord): boolean {
  return isAlive(rec.pids.apiserver) || isAlive(rec.pids.etcd) || isAlive(rec.pids.controllerManager) ||
    (rec.node !== undefined && (isAlive(rec.node.pids.kubelet) || isAlive(rec.node.pids.containerd)));
}

export interface TokenOptions {
  readonly audience?: string;
  readonly expirationSeconds?: number;
}

export class TestbedCluster {
  readonly #bins: Binaries;
  #record: ClusterRecord;
  readonly creds: AdminCredentials;

  constructor(bins: Binaries, record: ClusterRecord, creds: AdminCredentials) {
    this.#bins = bins;
    this.#record = record;
    this.creds = creds;
  }

  get name(): string { return this.#record.name; }
  get server(): string { return this.#record.server; }
  get kubeconfigPath(): string { return this.#record.kubeconfig; }
  get issuer(): string { return this.#record.issuer; }
  get record(): ClusterRecord { return this.#record; }
  /**
   * With nodes: the API server's address for other networks (a control plane in another cluster),
   * what `create-remote-secret --server` should write. Undefined without nodes.
   */
  get publicServer(): string | undefined {
    const net = this.#record.node?.net;
    return net && `https://${net.publicApiIp}:${PUBLIC_API_PORT}`;
  }
  /** The cluster's real node (`up({ nodes: true })`), if any. */
  get node(): NodeRecord | undefined { return this.#record.node; }

  /** A request to this cluster's API server as cluster admin. */
  async request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    return adminRequest(this.creds, method, path, body);
  }

  /** Like `request`, but throws unless the status is 2xx (or 409 on create, when `allowExists`). */
  async requestOk(method: string, path: string, body?: unknown, allowExists = false): Promise<unknown> {
    const res = await this.request(method, path, body);
    if ((res.status < 200 || res.status > 299) && !(allowExists && res.status === 409)) {
      throw new Error(`${this.name}: ${method} ${path} -> ${res.status} ${res.body.slice(0, 300)}`);
    }
    return res.body ? JSON.parse(res.body) as unknown : undefined;
  }

  async ensureNamespace(ns: string): Promise<void> {
    await this.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, true);
  }

  async ensureServiceAccount(ns: string, name: string): Promise<{ uid: string }> {
    await this.ensureNamespace(ns);
    await this.requestOk('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }, true);
    const sa = await this.requestOk('GET', `/api/v1/namespaces/${ns}/serviceaccounts/${name}`) as { metadata: { uid: string } };
    return { uid: sa.metadata.uid };
  }

  /** Creates service account `ns/name` (and its namespace) if needed and binds it cluster-wide to `clusterRole`. */
  async bindClusterRole(ns: string, name: string, clusterRole: string, bindingName: string): Promise<void> {
    await this.ensureServiceAccount(ns, name);
    await this.requestOk('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: bindingName },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    });
  }

  /** A kubeconfig for this cluster with `token` as its credential, named `name`; `caCertPem` replaces the cluster's CA. */
  tokenKubeconfig(token: string, name = this.name, caCertPem = this.creds.caCertPem): string {
    return tokenKubeconfig({ name, server: this.server, caCertPem, token });
  }

  /** A real token from the TokenRequest API (creates the namespace and service account if needed). */
  async mintToken(ns: string, sa: string, opts: TokenOptions = {}): Promise<string> {
    await this.ensureServiceAccount(ns, sa);
    const spec: Record<string, unknown> = { expirationSeconds: opts.expirationSeconds ?? 3600 };
    if (opts.audience !== undefined) spec['audiences'] = [opts.audience];
    const res = await this.requestOk('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec }) as { status: { token: string } };
    return res.status.token;
  }

  /**
   * A token signed with this cluster's real service-account key but with claims of the caller's
   * choosing: for tests of expired, not-yet-valid or wrong-audience tokens.
   */
  signToken(claims: Record<string, unknown>): string {
    const key = createPrivateKey(readFileSync(clusterFiles(this.#record.dir).saKey));
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'ES256', typ: 'JWT' })}.${enc(claims)}`;
    const sig = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  }

  /** Stops only the API server (etcd keeps the data), e.g. to test an unreachable cluster. */
  async stopApiServer(): Promise<void> {
    await stopProcess(this.#record.pids.apiserver);
  }

  /** Starts the API server again on the same port with the same data. */
  async startApiServer(): Promise<void> {
    if (isAlive(this.#record.pids.apiserver)) return;
    const node = this.#record.node;
    const p = startApiserver(this.#bins, this.name, this.#record.dir, this.#record.ports, node && { serviceCidr: node.net.serviceCidr });
    this.#record = { ...this.#record, pids: { ...this.#record.pids, apiserver: p.pid } };
    await waitApiserver(p, this.creds);
  }
}

export class Testbed {
  readonly dir: string;
  readonly #clusters: Map<string, TestbedCluster>;

  private constructor(dir: string, clusters: Map<string, TestbedCluster>) {
    this.dir = dir;
    this.#clusters = clusters;
  }

  cluster(name: string): TestbedCluster {
    const c = this.#clusters.get(name);
    if (!c) throw new Error(`no test-bed cluster ${name} (have: ${[...this.#clusters.keys()].join(', ')})`);
    return c;
  }

  get clusters(): readonly TestbedCluster[] {
    return [...this.#clusters.values()];
  }

  /** Starts the named clusters in parallel; on any failure stops everything it started. */
  static async up(opts: UpOptions): Promise<Testbed> {
    const dir = resolve(opts.dir);
    const log = opts.log ?? (() => undefined);
    const names = [...new Set(opts.clusters)];
    if (names.length === 0) throw new IsthmusError(ErrorCodes.Usage, 'no clusters named; use e.g. --clusters cluster1,cluster2');
    for (const n of names) {
      if (!NAME.test(n)) throw new IsthmusError(ErrorCodes.Usage, `invalid cluster name ${JSON.stringify(n)}: use 1-32 lower-case letters, digits and '-'`);
    }
    // Before anything starts: a kernel without what nodes need fails here, naming what is missing.
    if (opts.nodes === true) checkKernel(opts.kernelRoot);
    const state = readState(dir);
    for (const n of names) {
      const rec = state.clusters[n];
      if (rec && recordAlive(rec)) {
        throw new TestbedError(TestbedErrorCodes.ClusterExists, `cluster ${n} is already running in ${dir} (server ${rec.server}); run \`npm run testbed -- down\` first or pick another name`);
      }
    }
    // A dead cluster's node may have left mounts, cgroups and its bridge behind: remove them first.
    for (const n of names) {
      const rec = state.clusters[n];
      if (rec?.node) await stopRecord(rec);
    }
    const bins = opts.binaries ?? await ensureBinaries(log);
    const nodeBins = opts.nodes === true ? opts.nodeBinaries ?? await ensureNodeBinaries(log) : undefined;
    const images = nodeBins ? await ensureImages(opts.images ?? IMAGE_NAMES, log) : [];
    // Each cluster reports its record as it grows, so a failure stops exactly what was started.
    const started = new Map<string, ClusterRecord>();
    const result = new Map<string, TestbedCluster>();
    const results = await Promise.allSettled(names.map(async (name) => {
      const c = await startCluster(bins, nodeBins, images, name, join(dir, name), (rec) => { started.set(name, rec); }, log);
      result.set(name, c);
      log(`testbed: ${name} ready at ${c.server} (kubeconfig ${c.kubeconfigPath})`);
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all([...started.values()].map((r) => stopRecord(r)));
      throw failed.reason;
    }
    const next = readState(dir);
    for (const c of result.values()) next.clusters[c.name] = c.record;
    writeState(dir, next);
    return new Testbed(dir, result);
  }

  /** Stops the clusters this object started and forgets them. */
  async down(): Promise<void> {
    await Promise.all(this.clusters.map((c) => stopRecord(c.record)));
    const mine = new Set(this.clusters.map((c) => c.name));
    const state = readState(this.dir);
    writeState(this.dir, { ...state, clusters: Object.fromEntries(Object.entries(state.clusters).filter(([name]) => !mine.has(name))) });
  }
}

/** Stops every cluster recorded in `dir` (from any process) and removes its data. */
export async function downAll(dir: string, keepData = false): Promise<string[]> {
  const state = readState(resolve(dir));
  const names = [...Object.keys(state.processes ?? {}), ...Object.keys(state.clusters)];
  await Promise.all(Object.values(state.processes ?? {}).map((p) => stopProcess(p.pid)));
  await Promise.all(Object.values(state.clusters).map((r) => stopRecord(r)));
  if (!keepData) for (const r of Object.values(state.clusters)) rmSync(r.dir, { recursive: true, force: true });
  writeState(resolve(dir), { clusters: {} });
  return names;
}

async function startCluster(bins: Binaries, nodeBins: NodeBinaries | undefined, images: readonly string[], name: string, dir: string,
  onRecord: (r: ClusterRecord) => void, log: (line: string) => void): Promise<TestbedCluster> {
  const left = await unmountUnder(dir);
  if (left.length > 0) throw new TestbedError(TestbedErrorCodes.ClusterStart, `cannot reuse ${dir}: still mounted: ${left.join(', ')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The node's network slot comes first: the API server's Service range lies in it, and pods reach
  // the API server at the `kubernetes` Service's ClusterIP, which its certificate must name.
  const plan = nodeBins && planNode(`${name}-node`, join(dir, 'node'), claimNodeNetwork());
  const certs = await generateClusterCerts(name, plan ? [kubernetesServiceIp(plan.net), plan.net.publicApiIp] : []);
  const ports = await allocatePorts();
  const server = `https://127.0.0.1:${ports.apiserver}`;
  writeClusterFiles(name, dir, certs, server);
  const creds: AdminCredentials = { server, caCertPem: certs.caCertPem, clientCertPem: certs.adminCertPem, clientKeyPem: certs.adminKeyPem };
  const pids: ClusterRecord['pids'] = { etcd: 0, apiserver: 0, controllerManager: 0 };
  let record: ClusterRecord = { name, dir, server, kubeconfig: clusterFiles(dir).kubeconfig, issuer: issuerFor(name), ports, pids };
  if (plan) record = { ...record, node: plan };
  const report = () => { onRecord({ ...record, pids: { ...pids } }); };
  report();

  const etcd = startEtcd(bins, dir, ports);
  pids.etcd = etcd.pid;
  report();
  await waitEtcd(etcd, ports);
  const api = startApiserver(bins, name, dir, ports, plan && { serviceCidr: plan.net.serviceCidr });
  pids.apiserver = api.pid;
  report();
  await waitApiserver(api, creds);
  const kcm = startControllerManager(bins, dir, plan !== undefined);
  pids.controllerManager = kcm.pid;
  report();
  await waitControllerManager(kcm, creds);
  if (nodeBins && plan) {
    const started = Date.now();
    pids.scheduler = startScheduler(nodeBins, dir).pid;
    report();
    const cluster = { server, caFile: clusterFiles(dir).ca, caCertPem: certs.caCertPem, caKeyPem: certs.caKeyPem, creds };
    const onNode = (n: NodeRecord) => { record = { ...record, node: n }; report(); };
    const ready = await startNode(nodeBins, plan, cluster, [nodeBins.pauseImage, nodeBins.busyboxImage, ...images], onNode);
    const node = await startNodeServices(nodeBins, ready, cluster, onNode);
    record = { ...record, node };
    if (!isAlive(pids.scheduler)) {
      throw new TestbedError(TestbedErrorCodes.ClusterStart, `kube-scheduler of ${name} exited. Last lines of ${clusterFiles(dir).schedulerLog}:\n${tail(clusterFiles(dir).schedulerLog)}`);
    }
    log(`testbed: ${name}: node ${node.name} Ready at ${node.net.nodeIp} (pods ${node.net.podCidr}, services ${node.net.serviceCidr}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return new TestbedCluster(bins, { ...record, pids: { ...pids } }, creds);
}
