/**
 * Real nodes in the test bed: one cluster with a kube-scheduler and a node (containerd, kubelet,
 * kube-proxy), a Pod from a locally built busybox image runs on it, `kubectl logs` and `kubectl exec`
 * work, a Deployment's two replicas answer on their Service's ClusterIP, CoreDNS resolves its name,
 * `kubectl port-forward` reaches a replica, and
 * `down` leaves nothing behind: no process, network namespace, link, 198.18.0.0/15 address, mount
 * or cgroup the bed created. Prints the time to node Ready, to pod Running, and the bed's memory.
 * The application images (images.ts) are left out here (`images: []`): install-nodes.test.ts uses them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_IMAGE, ensureNodeBinaries } from '../../src/testing/testbed/binaries.ts';
import { TestbedErrorCodes, isTestbedError } from '../../src/testing/testbed/errors.ts';
import { cgroupPids, mountsUnder, rssBytes, shimPids, testbedKubelets } from '../../src/testing/testbed/node-host.ts';
import { inBenchmarkRange, NODE_BRIDGE, rootTablePresent } from '../../src/testing/testbed/node-net.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { isAlive } from '../../src/testing/testbed/procs.ts';
import { until } from '../../src/testing/wait.ts';

// A short directory: containerd's socket path must fit a unix socket address.
const dir = mkdtempSync('/tmp/itb-');
let bed: Testbed | undefined;

after(async () => {
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

interface PodStatus { status?: { phase?: string; podIP?: string; hostIP?: string; containerStatuses?: { state?: Record<string, { reason?: string; message?: string }> }[] } }

function kubectl(c: TestbedCluster, args: readonly string[]): string {
  return execFileSync('kubectl', [`--kubeconfig=${c.kubeconfigPath}`, ...args], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Processes whose command line mentions the bed's directory (containerd, kubelet, shims, etcd...). */
function processesMentioning(path: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmd.includes(path)) out.push(`${pid} ${cmd.slice(0, 120)}`);
    } catch { /* gone */ }
  }
  return out;
}

function ipv4Addresses(): { dev: string; addr: string }[] {
  return execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((l) => { const f = l.split(/\s+/); return { dev: f[1] ?? '', addr: (f[3] ?? '').split('/')[0] ?? '' }; });
}

function linkNames(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '');
}

function netnsNames(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
}

function routesVia(gw: string): string[] {
  return execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`via ${gw} `));
}

function nsfsMountsUnder(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .filter((l) => l.includes(' - nsfs ') && (l.split(' ')[4] ?? '').startsWith(path)).map((l) => l.split(' ')[4] ?? '');
}

function kernelTunables(): Record<string, string> {
  return Object.fromEntries(['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'].map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));
}

function procStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

/** Entries of a directory outside the bed where the runtime leaves files (shim sockets, CNI results). */
function entries(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const OUTSIDE = ['/run/containerd/s', '/var/lib/cni/results', '/var/log/containers'];

test('a pod runs on a real test-bed node; logs, exec, port-forward, a ClusterIP and cluster DNS work; down removes everything', { timeout: 600_000 }, async (t) => {
  const outsideBefore = new Map(OUTSIDE.map((p) => [p, new Set(entries(p))]));
  const tunablesBefore = kernelTunables();
  const t0 = Date.now();
  bed = await Testbed.up({ dir, clusters: ['nodes1'], nodes: true, images: [], log: (l) => { t.diagnostic(l); } });
  const upMs = Date.now() - t0;
  const c = bed.cluster('nodes1');
  const node = c.node;
  assert.ok(node, 'the cluster has a node record');
  t.diagnostic(`up with a Ready node: ${(upMs / 1000).toFixed(1)} s`);
  console.log(`testbed-nodes: node Ready ${(upMs / 1000).toFixed(1)} s after up started (cached binaries)`);

  // The node as the API server sees it.
  const nodeObj = await c.requestOk('GET', `/api/v1/nodes/${node.name}`) as { status: { addresses: { type: string; address: string }[]; conditions: { type: string; status: string }[] } };
  assert.equal(nodeObj.status.conditions.find((x) => x.type === 'Ready')?.status, 'True');
  const internal = nodeObj.status.addresses.find((a) => a.type === 'InternalIP')?.address ?? '';
  assert.equal(internal, node.net.nodeIp);
  assert.ok(inBenchmarkRange(internal), `node IP ${internal} lies in 198.18.0.0/15`);

  // A pod from the locally built image, never pulled.
  await c.ensureNamespace('demo');
  const script = 'echo "hello from $(hostname)"; trap "exit 0" TERM; while true; do sleep 1; done';
  await c.requestOk('POST', '/api/v1/namespaces/demo/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello' },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', script] }],
    },
  });
  const t1 = Date.now();
  const pod = await until('pod demo/hello Running', async () => {
    const p = await c.requestOk('GET', '/api/v1/namespaces/demo/pods/hello') as PodStatus;
    const waiting = p.status?.containerStatuses?.[0]?.state?.['waiting'];
    if (waiting?.reason && /Err|BackOff|Invalid/.test(waiting.reason)) throw new Error(`pod stuck: ${waiting.reason} ${waiting.message ?? ''}`);
    return p.status?.phase === 'Running' ? p : undefined;
  }, { timeoutMs: 120_000, intervalMs: 200 });
  const runMs = Date.now() - t1;
  console.log(`testbed-nodes: pod Running ${(runMs / 1000).toFixed(1)} s after it was created`);
  const podIP = pod.status?.podIP ?? '';
  assert.ok(inBenchmarkRange(podIP), `pod IP ${podIP} lies in 198.18.0.0/15`);
  assert.equal(pod.status?.hostIP, node.net.nodeIp);
  assert.equal(podIP.split('.').slice(0, 3).join('.'), node.net.podCidr.split('.').slice(0, 3).join('.'), `pod IP ${podIP} is in the node's pod range ${node.net.podCidr}`);

  const logs = await until('hello in the pod log', () => {
    const out = kubectl(c, ['logs', '-n', 'demo', 'hello']);
    return out.includes('hello from hello') ? out : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500 });
  assert.match(logs, /^hello from hello$/m);

  const execOut = kubectl(c, ['exec', '-n', 'demo', 'hello', '--', '/bin/sh', '-c', 'echo "exec in $(hostname)"; ip -4 -o addr show eth0']);
  assert.match(execOut, /^exec in hello$/m);
  assert.ok(execOut.includes(`inet ${podIP}/24`), `exec ran inside the pod's network namespace:\n${execOut}`);

  // A Deployment of two replicas behind a Service: the controller manager writes the EndpointSlice,
  // kube-proxy the ClusterIP's rules, and a pod reaches both replicas through the ClusterIP.
  const web = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www';
  await c.requestOk('POST', '/apis/apps/v1/namespaces/demo/deployments', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: {
      replicas: 2, selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'web', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', web], ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  });
  const svc = await c.requestOk('POST', '/api/v1/namespaces/demo/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  }) as { spec: { clusterIP: string } };
  const clusterIP = svc.spec.clusterIP;
  assert.ok(inBenchmarkRange(clusterIP), `ClusterIP ${clusterIP} lies in 198.18.0.0/15`);
  const t3 = Date.now();
  const slice = await until('an EndpointSlice with two ready endpoints', async () => {
    const list = await c.requestOk('GET', '/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb') as
      { items: { metadata: { labels?: Record<string, string> }; endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] };
    const ready = list.items.flatMap((i) => i.endpoints ?? []).filter((e) => e.conditions?.ready === true);
    return ready.length === 2 ? list.items[0] : undefined;
  }, { timeoutMs: 120_000, intervalMs: 250 });
  console.log(`testbed-nodes: Deployment of 2 replicas ready in its EndpointSlice ${((Date.now() - t3) / 1000).toFixed(1)} s after creation`);
  assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
  const seen = new Set<string>();
  await until('both replicas answering on the ClusterIP', () => {
    const out = kubectl(c, ['exec', '-n', 'demo', 'hello', '--', '/bin/sh', '-c', `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 ${clusterIP} 80`]);
    const m = /hello from (web-[a-z0-9-]+)/.exec(out);
    if (m?.[1]) seen.add(m[1]);
    return seen.size === 2 ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  console.log(`testbed-nodes: pod -> ClusterIP ${clusterIP}:80 answered by ${[...seen].join(' and ')}`);

  // Cluster DNS: the pod's resolver is the node's CoreDNS, which answers the Service's name.
  const resolvConf = kubectl(c, ['exec', '-n', 'demo', 'hello', '--', 'cat', '/etc/resolv.conf']);
  assert.match(resolvConf, new RegExp(`^nameserver ${node.net.gatewayIp.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(resolvConf, /^search demo\.svc\.cluster\.local svc\.cluster\.local cluster\.local/m);
  const lookup = kubectl(c, ['exec', '-n', 'demo', 'hello', '--', 'nslookup', 'web.demo.svc.cluster.local']);
  assert.ok(lookup.includes(`Address: ${clusterIP}`), `web.demo.svc.cluster.local resolves to ${clusterIP}:\n${lookup}`);
  console.log(`testbed-nodes: web.demo.svc.cluster.local -> ${clusterIP} from the pod through CoreDNS at ${node.net.gatewayIp}`);
  const byName = kubectl(c, ['exec', '-n', 'demo', 'hello', '--', '/bin/sh', '-c', `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 web 80`]);
  assert.match(byName, /^hello from web-/m, 'the short name `web` (through the search path) answers on port 80');

  // kubectl port-forward: API server -> kubelet -> containerd's streaming server in the node namespace.
  const pf = spawn('kubectl', [`--kubeconfig=${c.kubeconfigPath}`, 'port-forward', '-n', 'demo', 'deployment/web', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let pfOut = '';
    pf.stdout.on('data', (b: Buffer) => { pfOut += b.toString(); });
    pf.stderr.on('data', (b: Buffer) => { pfOut += b.toString(); });
    const localPort = await until('kubectl port-forward listening', () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(pfOut)?.[1], { timeoutMs: 30_000, intervalMs: 100 });
    const body = await (await fetch(`http://127.0.0.1:${localPort}/`)).text();
    assert.match(body, /^hello from web-/, `port-forward reaches a web pod: ${body}`);
    console.log(`testbed-nodes: kubectl port-forward 127.0.0.1:${localPort} -> deployment/web:8080 answered "${body.trim()}"`);
  } finally {
    pf.kill();
  }

  // Memory of the whole bed: control plane, containerd, kubelet, shims and the pod's processes.
  const rec = c.record;
  const pids = [rec.pids.etcd, rec.pids.apiserver, rec.pids.controllerManager, rec.pids.scheduler ?? 0,
    node.pids.containerd, node.pids.kubelet, node.pids.kubeProxy, node.pids.relayRoot, node.pids.relayNode, node.pids.coredns, node.pids.lbAllocator, ...shimPids(node.socket), ...cgroupPids(node.cgroupRoot)];
  const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
  const parts = { etcd: rec.pids.etcd, 'kube-apiserver': rec.pids.apiserver, 'kube-controller-manager': rec.pids.controllerManager,
    'kube-scheduler': rec.pids.scheduler ?? 0, containerd: node.pids.containerd, kubelet: node.pids.kubelet, 'kube-proxy': node.pids.kubeProxy, coredns: node.pids.coredns, 'lb-allocator': node.pids.lbAllocator };
  const total = [...new Set(pids)].reduce((s, p) => s + rssBytes(p), 0);
  console.log(`testbed-nodes: bed memory (RSS) ${mib(total)} MiB: ${Object.entries(parts).map(([k, p]) => `${k} ${mib(rssBytes(p))}`).join(', ')} MiB, ` +
    `socat relays ${mib(rssBytes(node.pids.relayRoot) + rssBytes(node.pids.relayNode))}, shims+pods ${mib([...shimPids(node.socket), ...cgroupPids(node.cgroupRoot)].reduce((s, p) => s + rssBytes(p), 0))} MiB`);

  // What must exist now, so that its absence after `down` means something.
  const podLinks = execFileSync('ip', ['-n', node.net.netns, '-o', 'link', 'show', 'master', NODE_BRIDGE], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '');
  assert.ok(podLinks.length >= 1, 'the pod has a veth on the node bridge');
  assert.ok(netnsNames().includes(node.net.netns), 'the node network namespace exists');
  assert.ok(linkNames().includes(node.net.netns), 'the node veth exists in the root namespace');
  assert.ok(nsfsMountsUnder(dir).length >= 1, 'the pod network namespace is mounted under the bed directory');
  assert.ok(mountsUnder(dir).length >= 3, 'containerd has rootfs/shm mounts under the bed directory');
  assert.ok(ipv4Addresses().some((a) => a.addr === node.net.nodeIp), 'the node address exists');
  const cgroupBefore = cgroupPids(node.cgroupRoot);
  assert.ok(cgroupBefore.length >= 2, 'pause and the container run in the node cgroup');
  const everyPid = [...pids];
  const outsideDuring = OUTSIDE.flatMap((p) => entries(p).filter((e) => !outsideBefore.get(p)?.has(e)).map((e) => join(p, e)));
  assert.ok(outsideDuring.length >= 3, `the runtime wrote shim sockets, CNI results and log links: ${outsideDuring.join(', ')}`);

  const t2 = Date.now();
  await bed.down();
  bed = undefined;
  console.log(`testbed-nodes: down took ${((Date.now() - t2) / 1000).toFixed(1)} s`);

  // Killed orphans are reaped by the machine's init, which may take a moment.
  const lingering = () => everyPid.filter((p) => p > 0 && isAlive(p) && !/^State:\s+Z/m.test(procStatus(p)));
  await until('the bed\'s processes to exit', () => (lingering().length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 })
    .catch(() => undefined);
  assert.deepEqual(lingering().map((p) => `${p} ${procStatus(p).split('\n')[0] ?? ''}`), [], 'no process of the bed is left');
  assert.deepEqual(processesMentioning(dir), [], 'no process mentions the bed directory');
  assert.deepEqual(shimPids(node.socket), [], 'no containerd shim is left');
  assert.deepEqual(mountsUnder(dir), [], 'no mount is left under the bed directory');
  assert.deepEqual(nsfsMountsUnder(dir), [], 'no network namespace is left');
  assert.equal(netnsNames().includes(node.net.netns), false, 'the node network namespace is gone (with its bridge, pod veths and rules)');
  assert.equal(linkNames().includes(node.net.netns), false, 'the node veth is gone');
  const mine = ipv4Addresses().filter((a) => [node.net.nodeIp, node.net.uplinkIp, node.net.gatewayIp, podIP].includes(a.addr) || a.dev === node.net.netns);
  assert.deepEqual(mine, [], 'no address of the bed is left');
  assert.deepEqual(routesVia(node.net.uplinkIp), [], 'no route of the bed is left');
  assert.deepEqual(cgroupPids(node.cgroupRoot), [], 'no process is left in the node cgroup');
  assert.equal(existsSync(join('/sys/fs/cgroup/pids', node.cgroupRoot)), false, 'the node cgroup is removed');
  assert.deepEqual(outsideDuring.filter((p) => existsSync(p)), [], 'no shim socket, CNI result or log link is left outside the bed');
  // The kubelet sets these host-wide; the bed puts them back when its last kubelet stops.
  if (testbedKubelets().length === 0) assert.deepEqual(kernelTunables(), tunablesBefore, 'kernel settings are as before');
});

test('a kubelet that dies fails up with its log named, and up tears down what it started', { timeout: 300_000 }, async () => {
  const failDir = mkdtempSync('/tmp/itbf-');
  try {
    const real = await ensureNodeBinaries();
    const kubelet = join(failDir, 'broken-kubelet');
    writeFileSync(kubelet, '#!/bin/sh\necho "broken kubelet: cannot start (on purpose)" >&2\nexit 1\n', { mode: 0o755 });
    const linksBefore = new Set([...linkNames(), ...netnsNames()]);
    const err = await Testbed.up({ dir: failDir, clusters: ['broken'], nodes: true, images: [], nodeBinaries: { ...real, kubelet } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(isTestbedError(err, TestbedErrorCodes.NodeStart), `a NodeStart error, got ${String(err)}`);
    assert.match(err.message, /node broken-node: kubelet exited/);
    assert.ok(err.message.includes(join(failDir, 'broken', 'node', 'kubelet.log')), 'the message names the kubelet log');
    assert.match(err.message, /broken kubelet: cannot start \(on purpose\)/);
    // Other tests on the machine make links and namespaces of their own: look only at the bed's names.
    const bedNames = (names: string[]) => names.filter((l) => /^itb\d+$/.test(l) && !linksBefore.has(l));
    assert.deepEqual(bedNames(linkNames()), [], 'no node veth is left');
    assert.deepEqual(bedNames(netnsNames()), [], 'no node network namespace is left');
    assert.deepEqual(mountsUnder(failDir), [], 'no mount is left');
    await until('no process of the failed bed', () => (processesMentioning(failDir).length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 })
      .catch(() => undefined);
    assert.deepEqual(processesMentioning(failDir), [], 'no process is left');
  } finally {
    rmSync(failDir, { recursive: true, force: true });
  }
});

test('networks: a pod of cluster1 reaches a LoadBalancer address of cluster2 and nothing else of it', { timeout: 600_000 }, async () => {
  const netDir = mkdtempSync('/tmp/itbn-');
  let two: Testbed | undefined;
  try {
    const t0 = Date.now();
    two = await Testbed.up({ dir: netDir, clusters: ['net1', 'net2'], nodes: true, images: [] });
    console.log(`testbed-nodes: two clusters with Ready nodes in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const [c1, c2] = [two.cluster('net1'), two.cluster('net2')];
    const n2 = c2.node;
    assert.ok(n2 && c1.node);
    const pod = (c: TestbedCluster, name: string, script: string, labels: Record<string, string> = {}) => c.requestOk('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['/bin/sh', '-c', script] }] },
    });
    await pod(c2, 'web', 'mkdir -p /www && echo "hello from net2" > /www/index.html && exec httpd -f -p 8080 -h /www', { app: 'web' });
    await pod(c1, 'client', 'trap "exit 0" TERM; while true; do sleep 1; done');
    const svc = await c2.requestOk('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    }) as { spec: { clusterIP: string } };
    const lbIP = await until('a LoadBalancer address in the status of net2/web', async () => {
      const s = await c2.requestOk('GET', '/api/v1/namespaces/default/services/web') as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(lbIP.split('.').slice(0, 3).join('.'), n2.net.lbPool.split('.').slice(0, 3).join('.'), `${lbIP} comes from net2's pool ${n2.net.lbPool}`);
    const running = async (c: TestbedCluster, name: string) => until(`${c.name}/${name} Running`, async () => {
      const p = await c.requestOk('GET', `/api/v1/namespaces/default/pods/${name}`) as PodStatus;
      return p.status?.phase === 'Running' ? p.status.podIP : undefined;
    }, { timeoutMs: 120_000, intervalMs: 200 });
    const webIP = await running(c2, 'web');
    await running(c1, 'client');
    const fromClient = (host: string, port: number) => kubectl(c1, ['exec', 'client', '--', '/bin/sh', '-c',
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${host} ${port}; echo "exit=$?"`]);
    const viaLb = await until('net2/web through its LoadBalancer address from net1', () => {
      const out = fromClient(lbIP, 80);
      return out.includes('hello from net2') ? out : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500 });
    assert.match(viaLb, /hello from net2/);
    console.log(`testbed-nodes: net1 pod -> net2 LoadBalancer ${lbIP}:80 answered`);
    // Everything else of net2 is out of reach: its pod, its node address, its ClusterIP, its DNS.
    for (const [host, port] of [[webIP, 8080], [n2.net.nodeIp, 10250], [svc.spec.clusterIP, 80], [n2.net.gatewayIp, 53]] as const) {
      const out = fromClient(host, port);
      assert.doesNotMatch(out, /hello from net2|HTTP\//, `${host}:${port} of net2 must be unreachable from net1`);
      assert.doesNotMatch(out, /exit=0/, `${host}:${port} of net2 must be unreachable from net1:\n${out}`);
    }
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '0', 'host-wide forwarding stays off');
    const nets = [c1.node.net, n2.net];
    await two.down();
    two = undefined;
    for (const n of nets) {
      assert.equal(rootTablePresent(n), false, `the root nftables table of ${n.netns} is removed`);
      assert.deepEqual(routesVia(n.uplinkIp), [], `no route via ${n.netns} is left`);
      assert.equal(netnsNames().includes(n.netns), false, `namespace ${n.netns} is gone`);
    }
  } finally {
    await two?.down();
    rmSync(netDir, { recursive: true, force: true });
  }
});

test('an image that fails to import fails up naming the image and containerd\'s log, and leaves nothing', { timeout: 300_000 }, async () => {
  const failDir = mkdtempSync('/tmp/itbi-');
  try {
    const real = await ensureNodeBinaries();
    const busyboxImage = join(failDir, 'not-an-image.tar');
    writeFileSync(busyboxImage, 'this is not a docker archive\n');
    const before = new Set([...linkNames(), ...netnsNames()]);
    const err = await Testbed.up({ dir: failDir, clusters: ['badimage'], nodes: true, images: [], nodeBinaries: { ...real, busyboxImage } })
      .then(() => undefined, (e: unknown) => e);
    assert.ok(isTestbedError(err, TestbedErrorCodes.ImageImport), `an ImageImport error, got ${String(err)}`);
    assert.ok(err.message.includes(busyboxImage), 'the message names the image archive');
    assert.ok(err.message.includes(join(failDir, 'badimage', 'node', 'containerd.log')), 'the message names containerd\'s log');
    const bedNames = (names: string[]) => names.filter((l) => /^itb\d+$/.test(l) && !before.has(l));
    assert.deepEqual(bedNames([...linkNames(), ...netnsNames()]), [], 'no node veth or namespace is left');
    assert.deepEqual(mountsUnder(failDir), [], 'no mount is left');
    await until('no process of the failed bed', () => (processesMentioning(failDir).length === 0 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 })
      .catch(() => undefined);
    assert.deepEqual(processesMentioning(failDir), [], 'no process is left');
  } finally {
    rmSync(failDir, { recursive: true, force: true });
  }
});

test('a kernel without the overlay filesystem fails up before anything starts, naming the feature and the fix', async () => {
  const failDir = mkdtempSync('/tmp/itbk-');
  // A root whose /proc shows everything but overlay (the real files, minus that line).
  const root = join(failDir, 'root');
  const copy = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  copy('proc/self/ns/net', '');
  copy('proc/filesystems', readFileSync('/proc/filesystems', 'utf8').split('\n').filter((l) => !/\boverlay$/.test(l)).join('\n'));
  copy('proc/self/mountinfo', readFileSync('/proc/self/mountinfo', 'utf8'));
  copy('proc/sys/net/ipv4/ip_forward', '1\n');
  try {
    const before = new Set([...linkNames(), ...netnsNames()]);
    const err = await Testbed.up({ dir: join(failDir, 'bed'), clusters: ['nokernel'], nodes: true, kernelRoot: root }).then(() => undefined, (e: unknown) => e);
    assert.ok(isTestbedError(err, TestbedErrorCodes.NodeStart), `a NodeStart error, got ${String(err)}`);
    console.log(`testbed-nodes: without overlay, up says: ${err.message.replaceAll('\n', ' ')}`);
    assert.match(err.message, /the overlay filesystem \(needed by containerd's overlayfs snapshotter/);
    assert.match(err.message, /modprobe overlay/);
    assert.deepEqual([...linkNames(), ...netnsNames()].filter((l) => !before.has(l)), [], 'no link or namespace was created');
    assert.equal(existsSync(join(failDir, 'bed', 'nokernel')), false, 'no cluster directory was made');
  } finally {
    rmSync(failDir, { recursive: true, force: true });
  }
});
