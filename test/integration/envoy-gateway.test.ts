/**
 * The east-west gateway as Istio runs it, against a real `isthmus discovery`: Istio's own pilot-agent
 * in router mode (`pilot-agent proxy router`, with the env and args the install renders into the
 * gateway Deployment, its token from the test bed, its certificate from Isthmus's CA) starts
 * upstream Envoy 1.40, which gets its config over delta xDS from the guide's `cross-network-gateway`
 * and `istiod-gateway`/`istiod-vs` objects, applied with kubectl as the guide does.
 *
 *   root ns: kube-apiserver, discovery (127.0.0.1), the test's TLS clients
 *     └─ veth 198.18.10.1 <-> 198.18.10.2 ─ gw: pilot-agent + Envoy (pod IP and LoadBalancer IP 198.18.10.2)
 *          ├─ veth 198.18.11.1 <-> 198.18.11.2 ─ pod: helloworld-0 at 198.18.20.5:5000 (lo), a TLS server
 *          │                                    with a certificate from Isthmus's CA standing in for its sidecar
 *          └─ veth 198.18.12.1 <-> 198.18.12.5 ─ cp: istiod's endpoint, its 15012 and 15017 piped (unix
 *                                               sockets) to the real discovery's on the host's loopback
 *
 * The root namespace has no route to 198.18.20.5: the pod is reachable only through the gateway.
 * Needs root (network namespaces), iproute2 and the cached Envoy and pilot-agent builds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { ensureEnvoy } from '../../src/testing/envoy/binary.ts';
import { UnixBridge } from '../../src/testing/envoy/bridge.ts';
import { ensurePilotAgent } from '../../src/testing/envoy/pilot-agent.ts';
import { requestWorkloadCertificate } from '../../src/testing/envoy/sds.ts';
import { JsonLineProcess } from '../../src/testing/grpc-app/lines.ts';
import { NetnsLab, ROOT, type Netns } from '../../src/testing/netns.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

const PREFIX = 'isthmus-ewgw';
const GW_IP = '198.18.10.2';
const ISTIOD_IP = '198.18.12.5';
const POD_IP = '198.18.20.5';
/** A pod of network2, never dialled (the address exists nowhere). */
const OTHER_NETWORK_IP = '198.18.30.5';
const GW_POD = 'istio-eastwestgateway-0';
const HW = 'helloworld.sample.svc.cluster.local';
const HW_SNI = `outbound_.5000_._.${HW}`;
const ALPN = ['istio-peer-exchange', 'istio'];
const PRIMARY = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: minimal
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: cluster1
      network: network1
`;
const repo = fileURLToPath(new URL('../../', import.meta.url));
const src = (p: string) => join(repo, 'src', p);

const dir = mkdtempSync(join(tmpdir(), 'isthmus-ewgw-'));
let bed: Testbed | undefined;
let c1: TestbedCluster;
let disc: DiscoveryProcess | undefined;
let lab: NetnsLab | undefined;
let gwNs: Netns;
let rootPem = '';
let client: { cert: string; key: string };
let backend: JsonLineProcess;
let agent: JsonLineProcess | undefined;
const bridges: UnixBridge[] = [];
const doors: JsonLineProcess[] = [];

const until = poller({
  timeoutMs: 90_000, intervalMs: 250,
  context: () => `${agent?.tail(40) ?? ''}\n${doors.map((d) => d.tail(5)).join('\n')}\n--- discovery ---\n${disc?.logs().split('\n').slice(-25).join('\n') ?? ''}`,
});

interface Run { code: number; stdout: string; stderr: string }
function run(cmd: string, args: readonly string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(input);
  });
}
async function ok(p: Promise<Run>, what: string): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const isthmus = (args: readonly string[], input?: string) => ok(run(process.execPath, [join(repo, 'bin/isthmus.mjs'), ...args], input), `isthmus ${args.join(' ')}`);
const kubectl = (args: readonly string[], input?: string) => ok(run('kubectl', ['--kubeconfig', c1.kubeconfigPath, ...args], input), `kubectl ${args.join(' ')}`);

async function pod(ns: string, name: string, sa: string, ip: string, labels: Record<string, string>): Promise<void> {
  await c1.ensureServiceAccount(ns, sa);
  await c1.requestOk('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });
  const p = await c1.requestOk('GET', `/api/v1/namespaces/${ns}/pods/${name}`) as Record<string, unknown>;
  await c1.requestOk('PUT', `/api/v1/namespaces/${ns}/pods/${name}/status`, { ...p, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: ip } });
}

async function slice(ns: string, service: string, eps: { ip: string; pod?: string }[], ports: { name: string; port: number }[]): Promise<void> {
  await c1.requestOk('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${service}-test`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', ports: ports.map((p) => ({ ...p, protocol: 'TCP' })),
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: true }, ...(e.pod === undefined ? {} : { targetRef: { kind: 'Pod', name: e.pod, namespace: ns } }) })),
  });
}

async function certificate(ns: string, sa: string, name: string): Promise<{ cert: string; key: string }> {
  const token = await c1.mintToken(ns, sa, { audience: 'istio-ca' });
  const w = await requestWorkloadCertificate(disc?.secureGrpcAddr ?? '', rootPem, token, 'cluster1');
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  writeFileSync(cert, w.chainPem);
  writeFileSync(key, w.keyPem);
  return { cert, key };
}

type EnvEntry = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };

/** The rendered gateway container's env with the downward API resolved for the pod the test plays. */
function resolveEnv(env: readonly EnvEntry[], fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) out[e.name] = e.value;
    else if (path !== undefined && fields[path] !== undefined) out[e.name] = fields[path];
  }
  return out;
}

before(async () => {
  const envoy = await ensureEnvoy();
  const pa = await ensurePilotAgent();
  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');

  // The guide on cluster1: label istio-system, install, the east-west gateway, expose-istiod and expose-services.
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  const iop = join(dir, 'primary.yaml');
  writeFileSync(iop, PRIMARY);
  await isthmus(['install', '-y', '-f', iop, '--kubeconfig', c1.kubeconfigPath]);
  // gen-eastwest-gateway names no cluster: the install takes it from the injector, as injection would.
  const ew = await isthmus(['install', '-y', '-f', '-', '--kubeconfig', c1.kubeconfigPath], await isthmus(['gen-eastwest-gateway', '--network', 'network1']));
  assert.match(ew, /gateways: cluster name cluster1 \(from ConfigMap istio-system\/istio-sidecar-injector\)/);
  for (const verb of ['expose-services', 'expose-istiod']) await kubectl(['apply', '-n', 'istio-system', '-f', '-'], await isthmus(['manifest', verb]));

  // No kubelet: the test plays the pods. istiod's endpoint is a door to the real discovery process;
  // the gateway's LoadBalancer address is its pod address.
  await slice('istio-system', 'istiod', [{ ip: ISTIOD_IP }], [{ name: 'grpc-xds', port: 15010 }, { name: 'https-dns', port: 15012 }, { name: 'https-webhook', port: 15017 }, { name: 'http-monitoring', port: 15014 }]);
  const gwSvc = await c1.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as Record<string, unknown>;
  await c1.requestOk('PUT', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway/status', { ...gwSvc, status: { loadBalancer: { ingress: [{ ip: GW_IP }] } } });
  await pod('istio-system', GW_POD, 'istio-eastwestgateway-service-account', GW_IP, { istio: 'eastwestgateway', app: 'istio-eastwestgateway', 'topology.istio.io/network': 'network1' });
  await c1.ensureNamespace('sample');
  await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld', labels: { app: 'helloworld' } },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] },
  });
  await pod('sample', 'helloworld-0', 'helloworld', POD_IP, { app: 'helloworld', version: 'v1', 'security.istio.io/tlsMode': 'istio' });
  // A second pod on network2: the gateway of network1 (REQUESTED_NETWORK_VIEW=network1) must not forward to it.
  await pod('sample', 'helloworld-n2-0', 'helloworld', OTHER_NETWORK_IP, { app: 'helloworld', version: 'v1', 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/network': 'network2' });
  await slice('sample', 'helloworld', [{ ip: POD_IP, pod: 'helloworld-0' }, { ip: OTHER_NETWORK_IP, pod: 'helloworld-n2-0' }], [{ name: 'http', port: 5000 }]);
  await c1.ensureServiceAccount('sample', 'sleep');

  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  rootPem = await until('istio-ca-root-cert in istio-system', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/istio-system/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
  writeFileSync(join(dir, 'root.pem'), rootPem);
  const server = await certificate('sample', 'helloworld', 'helloworld');
  client = await certificate('sample', 'sleep', 'sleep');

  // The networks.
  lab = await NetnsLab.create(PREFIX);
  gwNs = lab.namespace('gw');
  const podNs = lab.namespace('pod');
  lab.link({ a: ROOT, b: gwNs, aAddr: '198.18.10.1/24', bAddr: `${GW_IP}/24` });
  lab.link({ a: gwNs, b: podNs, aAddr: '198.18.11.1/24', bAddr: '198.18.11.2/24' });
  lab.addAddress(podNs, 'lo', `${POD_IP}/32`);
  lab.route(gwNs, `${POD_IP}/32`, '198.18.11.2');
  const cpNs = lab.namespace('cp');
  lab.link({ a: gwNs, b: cpNs, aAddr: '198.18.12.1/24', bAddr: `${ISTIOD_IP}/24` });
  const [, securePort] = disc.secureGrpcAddr.split(':');
  const [, httpsPort] = disc.httpsAddr.split(':');
  for (const [port, target] of [[15012, securePort], [15017, httpsPort]] as const) {
    const b = await UnixBridge.open(join(dir, `istiod-${port}.sock`), '127.0.0.1', Number(target));
    bridges.push(b);
    doors.push(new JsonLineProcess(`door-${port}`, lab.spawn(cpNs, process.execPath, [src('testing/envoy/bridge.ts'), 'tcp-to-unix', `${ISTIOD_IP}:${port}`, b.path], { stdio: ['ignore', 'pipe', 'pipe'] })));
  }

  backend = new JsonLineProcess('helloworld-0', lab.spawn(podNs, process.execPath, [src('testing/envoy/tls-backend.ts'),
    '--addr', `${POD_IP}:5000`, '--cert', server.cert, '--key', server.key, '--ca', join(dir, 'root.pem'), '--name', 'helloworld-0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await backend.waitFor('helloworld-0 listening', (e) => e.event === 'listening');

  // The gateway pod as the install rendered it: its container's args and env, the downward API resolved.
  const dep = await c1.requestOk('GET', '/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway') as {
    spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { args: string[]; env: EnvEntry[] }[] } } };
  };
  const container = dep.spec.template.spec.containers[0];
  assert.ok(container);
  const env = resolveEnv(container.env, {
    'metadata.name': GW_POD, 'metadata.namespace': 'istio-system', 'status.podIP': GW_IP, 'status.hostIP': GW_IP,
    'spec.serviceAccountName': 'istio-eastwestgateway-service-account', 'spec.nodeName': 'node-1',
  });
  const work = join(dir, 'gw');
  for (const d of ['var/run/secrets/tokens', 'var/run/secrets/istio', 'etc/istio/proxy', 'etc/istio/pod', 'var/lib/istio/data', 'var/run/secrets/workload-spiffe-uds', 'var/run/secrets/workload-spiffe-credentials', 'var/run/secrets/credential-uds']) {
    mkdirSync(join(work, d), { recursive: true });
  }
  writeFileSync(join(work, 'var/run/secrets/tokens/istio-token'), await c1.mintToken('istio-system', 'istio-eastwestgateway-service-account', { audience: 'istio-ca' }));
  writeFileSync(join(work, 'var/run/secrets/istio/root-cert.pem'), rootPem);
  writeFileSync(join(work, 'etc/istio/pod/labels'), Object.entries(dep.spec.template.metadata.labels).map(([k, v]) => `${k}="${v}"`).join('\n'));
  writeFileSync(join(work, 'etc/istio/pod/annotations'), '');
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, `127.0.0.1 localhost\n${ISTIOD_IP} istiod.istio-system.svc\n`);
  // Only what a container image provides differently: where Envoy and the bootstrap template are.
  const proxyConfig = {
    ...(JSON.parse(env['PROXY_CONFIG'] ?? '{}') as Record<string, unknown>),
    binaryPath: envoy, configPath: join(work, 'etc/istio/proxy'), proxyBootstrapTemplatePath: pa.bootstrapTemplate,
    drainDuration: '1s', terminationDrainDuration: '1s',
  };
  const args = container.args.map((a) => a.replace('$(POD_NAMESPACE)', 'istio-system'));
  const script = ['set -e', `mount --bind ${hosts} /etc/hosts`, `cd "${work}"`, `exec "${pa.bin}" ${args.map((a) => `'${a}'`).join(' ')}`].join('\n');
  agent = new JsonLineProcess('pilot-agent', lab.spawn(gwNs, 'unshare', ['--mount', '--', 'sh', '-c', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env, PROXY_CONFIG: JSON.stringify(proxyConfig) },
  }));
});

after(async () => {
  await lab?.destroy();
  for (const b of bridges) await b.close();
  await disc?.stop();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

/** Envoy's admin API (127.0.0.1:15000 inside the gateway's namespace). */
async function admin(path: string): Promise<string> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', gwNs, 'curl', '-sf', '--max-time', '5', `http://127.0.0.1:15000${path}`], { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

interface Dialed { socket: TLSSocket; peer: X509Certificate; ms: number; firstLine: string }

/**
 * TLS as a client sidecar (or a remote proxy) would: the mesh root as the only trust anchor, optionally
 * a workload certificate. Resolves after the handshake, and after the server's first line when `readLine`.
 */
function dial(port: number, opts: { servername: string; alpn: string[]; mtls: boolean; readLine: boolean; host?: string }): Promise<Dialed> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({
      host: opts.host ?? GW_IP, port, servername: opts.servername, ALPNProtocols: opts.alpn, ca: rootPem,
      ...(opts.mtls ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      // SPIFFE certificates carry no DNS name: the caller checks the URI SAN itself, as Envoy does.
      ...(opts.servername.startsWith('outbound_.') ? { checkServerIdentity: () => undefined } : {}),
    });
    s.setTimeout(15_000, () => { s.destroy(new Error('timed out')); });
    s.once('error', reject);
    s.once('close', () => { reject(new Error('closed before the handshake finished')); });
    s.once('secureConnect', () => {
      const peer = s.getPeerX509Certificate();
      if (peer === undefined) { reject(new Error('no peer certificate')); return; }
      const ms = performance.now() - t0;
      if (!opts.readLine) { resolve({ socket: s, peer, ms, firstLine: '' }); return; }
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve({ socket: s, peer, ms, firstLine: buf.slice(0, nl) });
      });
    });
  });
}

const stat = (stats: string, k: string) => Number(new RegExp(`^${k.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? -1);

interface Syncz { proxy: string; types: Record<string, { status: string }> }

test('pilot-agent in router mode gets the gateway\'s config over delta xDS and Envoy accepts all of it', async (t) => {
  const started = Date.now();
  const me = await until(`${GW_POD}.istio-system SYNCED for CDS, EDS and LDS`, async () => {
    const s = (await disc?.json<Syncz[]>('/debug/syncz') ?? []).find((x) => x.proxy === `${GW_POD}.istio-system`);
    const types = s?.types ?? {};
    return ['CDS', 'EDS', 'LDS'].every((k) => types[k]?.status === 'SYNCED') ? s : undefined;
  });
  t.diagnostic(`agent start to CDS/EDS/LDS SYNCED: ${Date.now() - started} ms; ${JSON.stringify(me.types)}`);
  const logs = disc?.logs() ?? '';
  assert.ok(logs.split('\n').some((l) => l.includes('ADS (delta): new connection') && l.includes(`router~${GW_IP}~${GW_POD}.istio-system`)), 'the agent connected with delta xDS as a router');
  const listeners = await until('the 15443, 15012 and 15017 listeners in Envoy', async () => {
    const text = await admin('/listeners').catch(() => '');
    return ['0.0.0.0_15443', '0.0.0.0_15012', '0.0.0.0_15017'].every((l) => text.includes(l)) ? text : undefined;
  });
  t.diagnostic(`listeners: ${listeners.trim().split('\n').join(', ')}`);
  const clusters = await until('the SNI-DNAT cluster with the pod and istiod\'s clusters with their endpoint', async () => {
    const text = await admin('/clusters').catch(() => '');
    return text.includes(`${HW_SNI}::${POD_IP}:5000::`) && text.includes(`outbound|15012||istiod.istio-system.svc.cluster.local::${ISTIOD_IP}:15012::`) ? text : undefined;
  });
  assert.ok(clusters.includes(`outbound|443||istiod.istio-system.svc.cluster.local::${ISTIOD_IP}:15017::`));
  const sniHosts = [...new Set(clusters.split('\n').filter((l) => l.startsWith(`${HW_SNI}::`) && /::\d+\.\d+\.\d+\.\d+:\d+::/.test(l)).map((l) => l.split('::')[1]))];
  assert.ok(JSON.stringify(await disc?.json<unknown>('/debug/endpointShardz')).includes(OTHER_NETWORK_IP), 'the control plane knows the network2 pod');
  assert.deepEqual(sniHosts, [`${POD_IP}:5000`], 'the SNI-DNAT cluster holds only the gateway\'s own network\'s pod');
  t.diagnostic(`${HW_SNI}: ${sniHosts.join(', ')}`);
});

test('15443 (cross-network-gateway, AUTO_PASSTHROUGH): SNI outbound_.5000_._.helloworld reaches the pod, TLS untouched', async (t) => {
  const before = backend.of('conn').length;
  const d = await until('an mTLS connection through 15443', () => dial(15443, { servername: HW_SNI, alpn: ALPN, mtls: true, readLine: true }).catch(() => undefined), 30_000);
  d.socket.write('ping\n');
  const echoed = await new Promise<string>((resolve) => { let b = ''; d.socket.on('data', (x: Buffer) => { b += x.toString(); if (b.includes('ping')) resolve(b); }); });
  d.socket.destroy();
  // The client verified the pod's certificate (the gateway has its own, for its own identity).
  assert.match(d.peer.subjectAltName ?? '', /URI:spiffe:\/\/cluster\.local\/ns\/sample\/sa\/helloworld/);
  // (The handshake itself verified the chain against the mesh root only.)
  const seen = JSON.parse(d.firstLine) as { name: string; sni: string; alpn: string; client: string };
  assert.deepEqual(seen, { name: 'helloworld-0', sni: HW_SNI, alpn: 'istio-peer-exchange', client: 'spiffe://cluster.local/ns/sample/sa/sleep' },
    'the pod saw the client\'s own ClientHello (SNI, ALPN) and client certificate');
  assert.ok(echoed.includes('ping'));
  assert.equal(backend.of('conn').length, before + 1);
  t.diagnostic(`handshake through the gateway: ${d.ms.toFixed(1)} ms; the pod saw ${d.firstLine}`);
});

test('15443: an SNI the gateway does not know is refused and reaches nobody', async () => {
  const before = backend.events.length;
  // An unknown host, an unknown port, and the bare host name (what proxyless gRPC sends: Istio's chains want outbound_.…).
  for (const sni of [`outbound_.5000_._.nope.sample.svc.cluster.local`, `outbound_.5001_._.${HW}`, HW]) {
    await assert.rejects(dial(15443, { servername: sni, alpn: ALPN, mtls: true, readLine: false }), (e: Error) => /closed|ECONNRESET|socket disconnected|EPIPE/.test(e.message), sni);
  }
  assert.equal(backend.events.length, before, 'the pod saw no connection');
});

test('15012 and 15017 (istiod-gateway, PASSTHROUGH): SNI istiod.istio-system.svc reaches the real discovery\'s servers', async (t) => {
  const direct = await dial(Number(disc?.secureGrpcAddr.split(':')[1]), { host: '127.0.0.1', servername: 'istiod.istio-system.svc', alpn: ['h2'], mtls: false, readLine: false });
  direct.socket.destroy();
  const viaGw = await until('TLS to 15012 through the gateway', () => dial(15012, { servername: 'istiod.istio-system.svc', alpn: ['h2'], mtls: false, readLine: false }).catch(() => undefined), 30_000);
  viaGw.socket.destroy();
  assert.match(viaGw.peer.subjectAltName ?? '', /DNS:istiod\.istio-system\.svc/);
  assert.equal(viaGw.peer.fingerprint256, direct.peer.fingerprint256, 'the serving certificate of discovery\'s 15012, not the gateway\'s');
  assert.equal(viaGw.socket.alpnProtocol, 'h2');
  t.diagnostic(`15012 handshake through the gateway ${viaGw.ms.toFixed(1)} ms, direct ${direct.ms.toFixed(1)} ms`);

  // 15017: the injection webhook answers through the gateway (a GET is refused with its own message).
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: GW_IP, port: 15017, path: '/inject', method: 'GET', servername: 'istiod.istio-system.svc', ca: rootPem, timeout: 15_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }); });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer.status, 405, answer.body);
  assert.match(answer.body, /ISTHMUS_INJECT_BAD_REQUEST/);
  t.diagnostic(`15017 through the gateway: ${answer.status} ${answer.body.trim().slice(0, 120)}`);
});

test('a bad VirtualService is reported by object and field and leaves the gateway serving', async () => {
  await kubectl(['apply', '-n', 'istio-system', '-f', '-'], JSON.stringify({
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'broken' },
    spec: { hosts: ['*'], gateways: ['istiod-gateway'], tls: [{ route: [{ destination: { host: 'istiod' } }] }] },
  }));
  await until('the warning in discovery\'s log', () => (disc?.logs() ?? '').includes('[ISTHMUS_ISTIO_CONFIG_INVALID] VirtualService istio-system/broken ignored: spec.tls[0].match') || undefined);
  const d = await dial(15443, { servername: HW_SNI, alpn: ALPN, mtls: true, readLine: true });
  d.socket.destroy();
  assert.match(d.firstLine, /helloworld-0/);
});

test('Envoy: 0 rejected updates of any type, nothing warming, no resource in error', async (t) => {
  const stats = await admin('/stats');
  const rejected = stats.split('\n').filter((l) => /\.update_rejected: /.test(l));
  assert.ok(rejected.some((l) => l.startsWith('cluster_manager.cds.')) && rejected.some((l) => l.startsWith('listener_manager.lds.')), rejected.join('\n'));
  assert.deepEqual(rejected.filter((l) => !l.endsWith(': 0')), [], 'no rejected update');
  const dump = await admin('/config_dump?include_eds');
  assert.ok(!dump.includes('"error_state"'), 'no resource carries an error_state');
  assert.ok(stat(stats, 'cluster_manager.cds.update_success') > 0);
  assert.ok(stat(stats, 'listener_manager.lds.update_success') > 0);
  assert.equal(stat(stats, 'cluster_manager.warming_clusters'), 0);
  assert.equal(stat(stats, 'listener_manager.total_listeners_warming'), 0);
  t.diagnostic(`cds ${stat(stats, 'cluster_manager.cds.update_success')} / lds ${stat(stats, 'listener_manager.lds.update_success')} updates; ${rejected.join(', ')}`);
});
