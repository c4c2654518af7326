/**
 * One real node of a test-bed cluster: its own containerd (root, state, socket and config under the
 * cluster's directory, running in the node's network namespace) and a kubelet registered with the
 * cluster's API server (in the root namespace, serving on the node IP), pods networked by the CNI
 * bridge of the node's namespace (node-net.ts). Images come from local archives
 * (`ctr images import`), never from a registry. kube-proxy, CoreDNS and the LoadBalancer allocator
 * are started by node-services.ts once the node is Ready.
 *
 * Settings this machine needs (measured, see the README): containerd with `restrict_oom_score_adj`
 * (root lacks CAP_SYS_RESOURCE), runc v2 without the systemd cgroup driver; the kubelet on cgroupfs,
 * cgroup v1 allowed, no swap check, eviction and image GC off, no iptables chains of its own.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { errorMessage } from '../../model/errors.ts';
import { TestbedErrorCodes, TestbedError } from './errors.ts';
import { PAUSE_IMAGE, type NodeBinaries } from './binaries.ts';
import { issueFromCa } from './certs.ts';
import { adminKubeconfig, adminRequest, type AdminCredentials } from './kubeconfig.ts';
import {
  createCgroup, killPid, ownCgroup, removeCgroups, removeLinksInto, restoreKernelTunablesIfLast, saveKernelTunables, shimPids, unmountUnder,
} from './node-host.ts';
import { cniConfig, netnsPath, releaseNodeNetwork, type NodeNetwork } from './node-net.ts';
import { isAlive, startProcess, stopProcess, tail, type Started } from './procs.ts';

/** What state.json keeps about a node so any process can tear it down. */
export interface NodeRecord {
  readonly name: string;
  readonly dir: string;
  readonly net: NodeNetwork;
  readonly socket: string;
  readonly cgroupRoot: string;
  /** cgroup directories the bed created for `cgroupRoot` (removed on down). */
  readonly cgroupsCreated: readonly string[];
  readonly pids: { containerd: number; kubelet: number; kubeProxy: number; relayRoot: number; relayNode: number; relayPublic?: number; coredns: number; lbAllocator: number };
}

export function nodeFiles(dir: string) {
  return {
    containerdConfig: join(dir, 'containerd.toml'),
    containerdRoot: join(dir, 'containerd', 'root'),
    containerdState: join(dir, 'containerd', 'state'),
    socket: join(dir, 'containerd.sock'),
    containerdLog: join(dir, 'containerd.log'),
    cniConfDir: join(dir, 'cni', 'net.d'),
    ipamDir: join(dir, 'cni', 'ipam'),
    kubeletRoot: join(dir, 'kubelet'),
    kubeletConfig: join(dir, 'kubelet-config.yaml'),
    kubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletLog: join(dir, 'kubelet.log'),
    proxyConfig: join(dir, 'kube-proxy-config.yaml'),
    proxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
    proxyLog: join(dir, 'kube-proxy.log'),
    relaySocket: join(dir, 'apiserver.sock'),
    relayLog: join(dir, 'apiserver-relay.log'),
    corefile: join(dir, 'Corefile'),
    corednsKubeconfig: join(dir, 'coredns.kubeconfig'),
    corednsLog: join(dir, 'coredns.log'),
    lbLog: join(dir, 'lb-allocator.log'),
    podLogs: join(dir, 'pod-logs'),
  };
}

const exec = promisify(execFile);
const CNI_BIN = '/usr/lib/cni';

function containerdConfig(dir: string, net: NodeNetwork): string {
  const f = nodeFiles(dir);
  const q = (s: string) => JSON.stringify(s);
  return [
    'version = 2',
    `root = ${q(f.containerdRoot)}`,
    `state = ${q(f.containerdState)}`,
    'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",',
    '  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",',
    '  "io.containerd.internal.v1.tracing"]',
    '[grpc]', `  address = ${q(f.socket)}`,
    '[ttrpc]', `  address = ${q(`${f.socket}.ttrpc`)}`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${q(PAUSE_IMAGE)}`,
    '  restrict_oom_score_adj = true',
    '  netns_mounts_under_state_dir = true',
    '  disable_apparmor = true',
    `  stream_server_address = ${q(net.uplinkIp)}`,
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '        SystemdCgroup = false',
    `        Root = ${q(join(f.containerdState, 'runc'))}`,
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${q(CNI_BIN)}`,
    `    conf_dir = ${q(f.cniConfDir)}`,
    '',
  ].join('\n');
}

function kubeletConfig(dir: string, net: NodeNetwork, cgroupRoot: string, caFile: string): string {
  const f = nodeFiles(dir);
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: net.nodeIp,
    port: 10250,
    healthzPort: 0,
    readOnlyPort: 0,
    containerRuntimeEndpoint: `unix://${f.socket}`,
    cgroupDriver: 'cgroupfs',
    cgroupRoot,
    failCgroupV1: false,
    failSwapOn: false,
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%', 'nodefs.inodesFree': '0%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: caFile } },
    authorization: { mode: 'AlwaysAllow' },
    clusterDomain: 'cluster.local',
    clusterDNS: [net.gatewayIp],
    resolvConf: '',
    volumePluginDir: join(dir, 'volume-plugins'),
    podLogsDir: f.podLogs,
    serializeImagePulls: false,
    registerNode: true,
    nodeStatusUpdateFrequency: '5s',
    syncFrequency: '10s',
  });
}

/** What `startNode` needs from its cluster. */
export interface NodeClusterInfo {
  readonly server: string;
  readonly caFile: string;
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly creds: AdminCredentials;
}

/** The node's names and places, before anything starts (so a failed start can be torn down). */
export function planNode(name: string, dir: string, net: NodeNetwork): NodeRecord {
  return {
    name, dir, net, socket: nodeFiles(dir).socket, cgroupRoot: join(ownCgroup(), `isthmus-testbed-${net.netns}`),
    cgroupsCreated: [], pids: { containerd: 0, kubelet: 0, kubeProxy: 0, relayRoot: 0, relayNode: 0, coredns: 0, lbAllocator: 0 },
  };
}

/**
 * Starts containerd, imports the images, starts the kubelet and waits until the node is Ready.
 * `onRecord` receives the record as soon as anything exists to tear down, and again as pids fill in.
 */
export async function startNode(bins: NodeBinaries, plan: NodeRecord, cluster: NodeClusterInfo,
  images: readonly string[], onRecord: (r: NodeRecord) => void, timeoutMs = 120_000): Promise<NodeRecord> {
  const { name, dir, net, cgroupRoot } = plan;
  const f = nodeFiles(dir);
  if (f.socket.length > 100) {
    throw new TestbedError(TestbedErrorCodes.NodeStart, `node ${name}: the socket path ${f.socket} is too long for a unix socket; use a shorter --dir`);
  }
  for (const d of [f.containerdRoot, f.containerdState, f.cniConfDir, f.ipamDir, f.kubeletRoot, f.podLogs]) mkdirSync(d, { recursive: true });
  let record: NodeRecord = { ...plan, cgroupsCreated: createCgroup(cgroupRoot) };
  onRecord(record);

  writeFileSync(f.containerdConfig, containerdConfig(dir, net));
  writeFileSync(join(f.cniConfDir, '10-isthmus.conflist'), cniConfig(net, f.ipamDir));
  // containerd (and so the CNI plugins it runs) lives in the node's network namespace; nsenter changes
  // nothing else, so the kubelet and containerd still see the same mounts.
  const containerd = startProcess('nsenter', [`--net=${netnsPath(net)}`, '--', 'containerd', `--config=${f.containerdConfig}`, '--log-level=warn'], f.containerdLog);
  record = { ...record, pids: { ...record.pids, containerd: containerd.pid } };
  onRecord(record);
  await waitFor(`node ${name}: containerd`, containerd, async () => {
    await exec('ctr', ['--address', f.socket, 'version'], { timeout: 3000 });
    return true;
  }, 30_000);
  for (const image of images) {
    try {
      await exec('ctr', ['--address', f.socket, '--namespace', 'k8s.io', 'images', 'import', image], { timeout: 60_000 });
    } catch (err) {
      throw new TestbedError(TestbedErrorCodes.ImageImport, `node ${name}: importing ${image} into containerd failed: ${errorMessage(err)}. containerd log ${f.containerdLog}:\n${tail(f.containerdLog)}`);
    }
  }

  const cert = await issueFromCa(cluster.caCertPem, cluster.caKeyPem, `CN=system:node:${name}, O=system:nodes`, 'client');
  writeFileSync(f.kubeconfig, adminKubeconfig(name, { server: cluster.server, caCertPem: cluster.caCertPem, clientCertPem: cert.certPem, clientKeyPem: cert.keyPem }), { mode: 0o600 });
  writeFileSync(f.kubeletConfig, kubeletConfig(dir, net, cgroupRoot, cluster.caFile));
  saveKernelTunables();
  const kubelet = startProcess(bins.kubelet, [
    `--config=${f.kubeletConfig}`, `--kubeconfig=${f.kubeconfig}`, `--root-dir=${f.kubeletRoot}`,
    `--cert-dir=${join(f.kubeletRoot, 'pki')}`, `--hostname-override=${name}`, `--node-ip=${net.nodeIp}`, '--v=1',
  ], f.kubeletLog);
  record = { ...record, pids: { ...record.pids, kubelet: kubelet.pid } };
  onRecord(record);
  await waitFor(`node ${name}: kubelet`, kubelet, async () => nodeReady(cluster.creds, name), timeoutMs);
  return record;
}

/** Ready, and schedulable: the node-lifecycle controller has lifted the `not-ready` taint. */
async function nodeReady(creds: AdminCredentials, name: string): Promise<boolean> {
  const res = await adminRequest(creds, 'GET', `/api/v1/nodes/${name}`, undefined, 2000);
  if (res.status !== 200) return false;
  const node = JSON.parse(res.body) as {
    spec?: { taints?: { key: string }[] };
    status?: { conditions?: { type: string; status: string; message?: string }[] };
  };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') throw new Error(`node not Ready: ${ready?.message ?? 'no Ready condition yet'}`);
  const taint = node.spec?.taints?.find((t) => t.key.startsWith('node.kubernetes.io/'));
  if (taint) throw new Error(`node Ready but still tainted ${taint.key}`);
  return true;
}

export async function waitFor(what: string, p: Started, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isAlive(p.pid)) {
      throw new TestbedError(TestbedErrorCodes.NodeStart, `${what} exited before it was ready. Last lines of ${p.logPath}:\n${tail(p.logPath)}`);
    }
    try {
      if (await cond()) return;
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(250);
  }
  throw new TestbedError(TestbedErrorCodes.NodeStart, `${what} not ready after ${timeoutMs} ms (${last}). Last lines of ${p.logPath}:\n${tail(p.logPath)}`);
}

/**
 * Tears a node down without its API server: CoreDNS, kube-proxy and the relays, the kubelet (so it restarts nothing), then every
 * process in the node's cgroup (the pods), containerd and its shims, every mount under the node's
 * directory (rootfs, shm, network namespaces: their veths go with them), the cgroups, the kubelet's
 * log links, the shims' sockets, CNI's cached results and finally the node's network namespace.
 */
export async function stopNode(rec: NodeRecord): Promise<void> {
  const ids = sandboxAndContainerIds(rec.dir);
  // Every step runs even if one before it failed, so one surprise never leaves the rest behind.
  const failures: string[] = [];
  const step = async (what: string, fn: () => unknown) => {
    try { await fn(); } catch (err) { failures.push(`${what}: ${errorMessage(err)}`); }
  };
  await step('stop services', () => Promise.all([rec.pids.lbAllocator, rec.pids.coredns, rec.pids.kubeProxy, rec.pids.relayPublic ?? 0, rec.pids.relayNode, rec.pids.relayRoot].filter((p) => p > 0).map((p) => stopProcess(p))));
  await step('stop kubelet', () => stopProcess(rec.pids.kubelet));
  await step('restore kernel settings', () => { restoreKernelTunablesIfLast(); });
  await step('kill pods', () => removeCgroups(rec.cgroupRoot, []));
  await step('kill shims', () => { for (const pid of shimPids(rec.socket)) killPid(pid); });
  await step('stop containerd', () => stopProcess(rec.pids.containerd));
  await step('kill shims', () => { for (const pid of shimPids(rec.socket)) killPid(pid); });
  await step('unmount', () => unmountUnder(rec.dir));
  await step('remove cgroups', () => removeCgroups(rec.cgroupRoot, rec.cgroupsCreated));
  await step('remove log links', () => { removeLinksInto('/var/log/containers', nodeFiles(rec.dir).podLogs); });
  await step('remove runtime files', () => { removeRuntimeLeftovers(rec.socket, ids); });
  await step('delete network namespace', () => { releaseNodeNetwork(rec.net); });
  if (failures.length > 0) throw new TestbedError(TestbedErrorCodes.NodeStart, `node ${rec.name}: down left work undone (run down again):\n${failures.join('\n')}`);
}

/** Ids of the tasks containerd ran: one directory each in its (the bed's) state directory. */
function sandboxAndContainerIds(dir: string): string[] {
  return readdirSafe(join(nodeFiles(dir).containerdState, 'io.containerd.runtime.v2.task', 'k8s.io')).filter((id) => /^[0-9a-f]{64}$/.test(id));
}

/**
 * Files outside the bed's directory that killed shims leave: their sockets (named by the sha256 of
 * `<containerd address>/<namespace>/<id>`) and the CNI results cached per sandbox.
 */
function removeRuntimeLeftovers(socket: string, ids: readonly string[]): void {
  for (const id of ids) rmSafe(join('/run/containerd/s', createHash('sha256').update(`${socket}/k8s.io/${id}`).digest('hex')));
  for (const d of ['/run/containerd/s', '/run/containerd']) {
    try { rmdirSync(d); } catch { /* in use by another containerd, or absent */ }
  }
  const results = '/var/lib/cni/results';
  for (const name of readdirSafe(results)) if (ids.some((id) => name.includes(`-${id}-`))) rmSafe(join(results, name));
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function rmSafe(p: string): void {
  try { unlinkSync(p); } catch { /* gone */ }
}
