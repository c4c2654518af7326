/**
 * One test-bed cluster: its own etcd, kube-apiserver and kube-controller-manager on loopback ports,
 * its own CA, service-account signing key and issuer. Without nodes, the controller manager runs only
 * the controllers a node-less cluster needs (service accounts and their tokens, namespaces, garbage
 * collection, cluster-role aggregation) and pods are written by tests, never run. With nodes
 * (node.ts), a kube-scheduler runs too and the controller manager also runs the workload controllers
 * (deployments, replica sets, endpoints, endpoint slices, the root-CA publisher, node lifecycle, which
 * lifts the not-ready taint of a new node); they stay off
 * without nodes because tests there write pods and EndpointSlices by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../model/errors.ts';
import { TestbedErrorCodes, TestbedError } from './errors.ts';
import type { Binaries, NodeBinaries } from './binaries.ts';
import type { ClusterCerts } from './certs.ts';
import { adminKubeconfig, adminRequest, type AdminCredentials } from './kubeconfig.ts';
import { stopNode, type NodeRecord } from './node.ts';
import { freePort, isAlive, startProcess, stopProcess, tail, type Started } from './procs.ts';

export interface ClusterPorts {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiserver: number;
}

/** What is persisted about a running cluster (state.json) so another process can stop it. */
export interface ClusterRecord {
  readonly name: string;
  readonly dir: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly issuer: string;
  readonly ports: ClusterPorts;
  readonly pids: { etcd: number; apiserver: number; controllerManager: number; scheduler?: number };
  /** Set when the cluster has a real node. */
  readonly node?: NodeRecord;
}

export function issuerFor(name: string): string {
  return `https://${name}.testbed.isthmus.local`;
}

function files(dir: string) {
  return {
    ca: join(dir, 'pki', 'ca.crt'),
    caKey: join(dir, 'pki', 'ca.key'),
    serverCert: join(dir, 'pki', 'apiserver.crt'),
    serverKey: join(dir, 'pki', 'apiserver.key'),
    saKey: join(dir, 'pki', 'sa.key'),
    saPub: join(dir, 'pki', 'sa.pub'),
    adminCert: join(dir, 'pki', 'admin.crt'),
    adminKey: join(dir, 'pki', 'admin.key'),
    kubeconfig: join(dir, 'kubeconfig'),
    etcdData: join(dir, 'etcd'),
    etcdLog: join(dir, 'etcd.log'),
    apiserverLog: join(dir, 'kube-apiserver.log'),
    kcmLog: join(dir, 'kube-controller-manager.log'),
    schedulerLog: join(dir, 'kube-scheduler.log'),
  };
}

export function writeClusterFiles(name: string, dir: string, certs: ClusterCerts, server: string): void {
  const f = files(dir);
  mkdirSync(join(dir, 'pki'), { recursive: true, mode: 0o700 });
  writeFileSync(f.ca, certs.caCertPem);
  writeFileSync(f.caKey, certs.caKeyPem, { mode: 0o600 });
  writeFileSync(f.serverCert, certs.serverCertPem);
  writeFileSync(f.serverKey, certs.serverKeyPem, { mode: 0o600 });
  writeFileSync(f.saKey, certs.saKeyPem, { mode: 0o600 });
  writeFileSync(f.saPub, certs.saPubPem);
  writeFileSync(f.adminCert, certs.adminCertPem);
  writeFileSync(f.adminKey, certs.adminKeyPem, { mode: 0o600 });
  writeFileSync(f.kubeconfig, adminKubeconfig(name, credentials(certs, server)), { mode: 0o600 });
}

export function credentials(certs: ClusterCerts, server: string): AdminCredentials {
  return { server, caCertPem: certs.caCertPem, clientCertPem: certs.adminCertPem, clientKeyPem: certs.adminKeyPem };
}

export async function allocatePorts(): Promise<ClusterPorts> {
  return { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
}

export function startEtcd(bins: Binaries, dir: string, ports: ClusterPorts): Started {
  const f = files(dir);
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return startProcess(bins.etcd, [
    '--name=default', `--data-dir=${f.etcdData}`,
    `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=default=${peer}`,
    '--unsafe-no-fsync', '--quota-backend-bytes=2147483648', '--log-level=warn',
  ], f.etcdLog);
}

/** API server settings of a cluster with nodes. */
export interface ApiserverNodeOptions {
  readonly serviceCidr: string;
}

export function startApiserver(bins: Binaries, name: string, dir: string, ports: ClusterPorts, nodes?: ApiserverNodeOptions): Started {
  const f = files(dir);
  // With nodes: the Node authorizer for kubelets, the API server dials kubelets by their node IP with the
  // admin client certificate, and ClusterIPs come from the node slot's range (inside 198.18.0.0/15).
  const nodeArgs = nodes === undefined ? [] : [
    '--enable-admission-plugins=NodeRestriction',
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${f.adminCert}`, `--kubelet-client-key=${f.adminKey}`,
    // Webhooks (and aggregated APIs) that name a Service are dialled at one of its endpoints (a pod
    // address, which the root namespace routes to the node) instead of its ClusterIP, which only
    // exists in the node's namespace (kube-proxy's rules).
    '--enable-aggregator-routing=true',
  ];
  return startProcess(bins.kubeApiserver, [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${f.serverCert}`, `--tls-private-key-file=${f.serverKey}`, `--client-ca-file=${f.ca}`,
    `--service-account-issuer=${issuerFor(name)}`, `--service-account-key-file=${f.saPub}`,
    `--service-account-signing-key-file=${f.saKey}`,
    `--authorization-mode=${nodes ? 'Node,RBAC' : 'RBAC'}`, `--service-cluster-ip-range=${nodes?.serviceCidr ?? '10.96.0.0/16'}`,
    '--allow-privileged=true',
    '--endpoint-reconciler-type=none', '--enable-priority-and-fairness=false', '--profiling=false',
    '--watch-cache=true', '--v=1', ...nodeArgs,
  ], f.apiserverLog);
}

const BASE_CONTROLLERS = 'serviceaccount-controller,serviceaccount-token-controller,namespace-controller,garbage-collector-controller,clusterrole-aggregation-controller';
const NODE_CONTROLLERS = 'endpointslice-controller,endpoints-controller,replicaset-controller,deployment-controller,' +
  'root-ca-certificate-publisher-controller,pod-garbage-collector-controller,node-lifecycle-controller';

export function startControllerManager(bins: Binaries, dir: string, nodes = false): Started {
  const f = files(dir);
  return startProcess(bins.kubeControllerManager, [
    `--kubeconfig=${f.kubeconfig}`, '--leader-elect=false', '--secure-port=0',
    `--controllers=${BASE_CONTROLLERS}${nodes ? `,${NODE_CONTROLLERS}` : ''}`,
    `--service-account-private-key-file=${f.saKey}`, `--root-ca-file=${f.ca}`,
    '--use-service-account-credentials=false', '--v=1',
  ], f.kcmLog);
}

export function startScheduler(bins: NodeBinaries, dir: string): Started {
  const f = files(dir);
  return startProcess(bins.kubeScheduler, [
    `--kubeconfig=${f.kubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1',
  ], f.schedulerLog);
}

async function failFast(what: string, p: Started, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let exited: number | string | undefined;
  void p.exited.then((c) => { exited = c; });
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (exited !== undefined || !isAlive(p.pid)) {
      const log = tail(p.logPath);
      const code = /address already in use/i.test(log) ? TestbedErrorCodes.PortBusy : TestbedErrorCodes.ClusterStart;
      throw new TestbedError(code, `${what} exited (${String(exited)}) before it was ready. Last lines of ${p.logPath}:\n${log}`);
    }
    try {
      if (await cond()) return;
    } catch (err) {
      lastErr = errorMessage(err);
    }
    await sleep(100);
  }
  throw new TestbedError(TestbedErrorCodes.ClusterStart, `${what} not ready after ${timeoutMs} ms (${lastErr}). Last lines of ${p.logPath}:\n${tail(p.logPath)}`);
}

export async function waitEtcd(p: Started, ports: ClusterPorts, timeoutMs = 20_000): Promise<void> {
  await failFast('etcd', p, async () => {
    const res = await fetch(`http://127.0.0.1:${ports.etcdClient}/health`);
    return res.ok;
  }, timeoutMs);
}

export async function waitApiserver(p: Started, creds: AdminCredentials, timeoutMs = 60_000): Promise<void> {
  await failFast('kube-apiserver', p, async () => (await adminRequest(creds, 'GET', '/readyz', undefined, 2000)).status === 200, timeoutMs);
}

/**
 * The controller manager is ready once the `default` service account exists in `default` and the
 * aggregated `view` cluster role has its rules (RBAC tests bind to it).
 */
export async function waitControllerManager(p: Started, creds: AdminCredentials, timeoutMs = 60_000): Promise<void> {
  await failFast('kube-controller-manager', p, async () => {
    if ((await adminRequest(creds, 'GET', '/api/v1/namespaces/default/serviceaccounts/default', undefined, 2000)).status !== 200) return false;
    const view = await adminRequest(creds, 'GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/view', undefined, 2000);
    return view.status === 200 && ((JSON.parse(view.body) as { rules?: unknown[] }).rules ?? []).length > 0;
  }, timeoutMs);
}

export async function stopRecord(rec: ClusterRecord): Promise<void> {
  // Reverse start order: the node, the scheduler and the controller manager, the API server, its storage.
  const first = await Promise.allSettled([rec.node && stopNode(rec.node), rec.pids.scheduler !== undefined && stopProcess(rec.pids.scheduler),
    stopProcess(rec.pids.controllerManager)]);
  await stopProcess(rec.pids.apiserver);
  await stopProcess(rec.pids.etcd);
  const failed = first.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

export { files as clusterFiles };
