/**
 * A sidecar's inbound HTTP with real Envoy 1.40 on both ends, against a real `isthmus discovery`:
 * the application behind the server sidecar learns who called from `x-forwarded-client-cert`.
 *
 *   root ns: kube-apiserver, discovery (127.0.0.1; Envoys reach its xDS port through a unix socket)
 *   client ns (sleep-0, 198.18.40.1): Envoy with sleep's certificate; iptables sends connections to
 *     helloworld's VIP:5000 to 15001, as Istio's init container does for captured outbound traffic
 *   server ns (helloworld-0, 198.18.40.2): Envoy with helloworld's certificate; iptables sends
 *     connections arriving for port 5000 to 15006 (inbound capture); a plain HTTP app on :5000, and
 *     an HTTPS app with a certificate of its own on :9443 (Service port `tcp-secure`, declared TCP)
 *   client ns <-veth-> server ns
 *
 * Certificates come from Isthmus's CA (CreateCertificate with each pod's token) and reach each Envoy
 * over SDS as pilot-agent would serve them. Needs root (network namespaces, iptables), iproute2,
 * curl and the cached Envoy build.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { ensureEnvoy } from '../../src/testing/envoy/binary.ts';
import { UnixBridge } from '../../src/testing/envoy/bridge.ts';
import { EnvoyProcess, type EnvoyStats } from '../../src/testing/envoy/process.ts';
import { SdsServer, requestWorkloadCertificate } from '../../src/testing/envoy/sds.ts';
import { JsonLineProcess } from '../../src/testing/grpc-app/lines.ts';
import { NetnsLab, type Netns } from '../../src/testing/netns.ts';
import { ISTIO_CRDS, crd } from '../../src/operator/render/base.ts';
import { spiffeId } from '../../src/model/ids.ts';
import { generateEcKey } from '../../src/pki/keys.ts';
import { generateRootCa } from '../../src/pki/root.ts';
import { signLeaf } from '../../src/pki/sign.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

const CLIENT_IP = '198.18.40.1';
const SERVER_IP = '198.18.40.2';
const PORT = 5000;
/** A port the app serves that no Service declares: it reaches the app through the passthrough chains. */
const UNDECLARED = 9090;
/** A declared TCP port (`tcp-secure`) where the app serves TLS of its own (not the mesh's). */
const OWN_TLS = 9443;
const HW = 'helloworld.sample.svc.cluster.local';
const CALLER_ID = 'spiffe://cluster.local/ns/sample/sa/sleep';
const SERVER_ID = 'spiffe://cluster.local/ns/sample/sa/helloworld';
const FORGED_ID = 'spiffe://cluster.local/ns/sample/sa/admin';
const repo = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'isthmus-inbound-'));
let bed: Testbed | undefined;
let c1: TestbedCluster;
let disc: DiscoveryProcess | undefined;
let lab: NetnsLab | undefined;
let xdsBridge: UnixBridge | undefined;
let clientNs: Netns;
let serverNs: Netns;
let vip = '';
let secureVip = '';
let app: JsonLineProcess | undefined;
const envoys: { client?: EnvoyProcess; server?: EnvoyProcess } = {};
const sdsServers: SdsServer[] = [];

const until = poller({
  timeoutMs: 60_000, intervalMs: 200,
  context: () => `--- server envoy ---\n${envoys.server?.logs(20) ?? ''}\n--- client envoy ---\n${envoys.client?.logs(20) ?? ''}\n--- app ---\n${app?.tail(5) ?? ''}\n--- discovery ---\n${disc?.logs().split('\n').slice(-15).join('\n') ?? ''}`,
});

async function pod(name: string, app: string, sa: string, ip: string): Promise<void> {
  await c1.ensureServiceAccount('sample', sa);
  await c1.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app, 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });
  const p = await c1.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as Record<string, unknown>;
  await c1.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, { ...p, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
}

/** pilot-agent's node metadata for a sidecar (the fields Isthmus reads). */
function metadata(podName: string, appName: string, sa: string, ip: string): Record<string, unknown> {
  return {
    CLUSTER_ID: 'cluster1', NAMESPACE: 'sample', NETWORK: 'network1', MESH_ID: 'cluster.local', NAME: podName,
    SERVICE_ACCOUNT: sa, WORKLOAD_NAME: appName, ISTIO_VERSION: '1.31-dev', INTERCEPTION_MODE: 'REDIRECT', INSTANCE_IPS: ip,
    LABELS: { app: appName, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': appName },
  };
}

async function sidecar(ns: Netns, podName: string, appName: string, sa: string, ip: string, rootPem: string): Promise<EnvoyProcess> {
  const token = await c1.mintToken('sample', sa, { audience: 'istio-ca' });
  const cert = await requestWorkloadCertificate(disc?.secureGrpcAddr ?? '', rootPem, token, 'cluster1');
  const sdsSocket = join(dir, `${appName}-sds.sock`);
  sdsServers.push(await SdsServer.start(sdsSocket, cert));
  return EnvoyProcess.start({
    bin: await ensureEnvoy(), dir, nodeId: `sidecar~${ip}~${podName}.sample~sample.svc.cluster.local`, nodeCluster: `${appName}.sample`,
    metadata: metadata(podName, appName, sa, ip), xdsSocket: xdsBridge?.path ?? '', apiType: 'DELTA_GRPC', sdsSocket, instance: appName, netns: ns,
  });
}

async function inNs(ns: Netns, cmd: string, args: readonly string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, cmd, ...args], { maxBuffer: 4 * 1024 * 1024 });
  return stdout;
}

before(async () => {
  const envoyBin = await ensureEnvoy();
  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c1.ensureNamespace('sample');
  const paCrd = ISTIO_CRDS.find((d) => d.kind === 'PeerAuthentication');
  assert.ok(paCrd, 'the install renders the PeerAuthentication CRD');
  await c1.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(paCrd));
  await until('the PeerAuthentication CRD is served', async () => ((await c1.request('GET', '/apis/security.istio.io/v1/peerauthentications')).status === 200 ? true : undefined));
  const svc = await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld' },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: PORT, targetPort: PORT }] },
  }) as { spec: { clusterIP: string } };
  vip = svc.spec.clusterIP;
  await pod('helloworld-0', 'helloworld', 'helloworld', SERVER_IP);
  await pod('sleep-0', 'sleep', 'sleep', CLIENT_IP);
  await c1.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'helloworld-abc', labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: [{ addresses: [SERVER_IP], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'helloworld-0', namespace: 'sample' } }],
  });

  const secure = await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'secure' },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'tcp-secure', port: OWN_TLS, targetPort: OWN_TLS }] },
  }) as { spec: { clusterIP: string } };
  secureVip = secure.spec.clusterIP;
  await c1.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'secure-abc', labels: { 'kubernetes.io/service-name': 'secure' } },
    addressType: 'IPv4', ports: [{ name: 'tcp-secure', port: OWN_TLS, protocol: 'TCP' }],
    endpoints: [{ addresses: [SERVER_IP], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'helloworld-0', namespace: 'sample' } }],
  });

  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  const [host, port] = disc.grpcAddr.split(':');
  xdsBridge = await UnixBridge.open(join(dir, 'xds.sock'), host ?? '127.0.0.1', Number(port));
  const rootPem = await until('istio-ca-root-cert in sample', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });

  lab = await NetnsLab.create('isthmus-inbound');
  clientNs = lab.namespace('client');
  serverNs = lab.namespace('server');
  lab.link({ a: clientNs, b: serverNs, aAddr: `${CLIENT_IP}/24`, bAddr: `${SERVER_IP}/24` });
  lab.route(clientNs, `${vip}/32`, SERVER_IP);
  // Istio's capture, reduced to the two rules this test needs.
  await inNs(serverNs, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', String(PORT), '-j', 'REDIRECT', '--to-ports', '15006']);
  await inNs(serverNs, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', String(UNDECLARED), '-j', 'REDIRECT', '--to-ports', '15006']);
  await inNs(serverNs, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-p', 'tcp', '--dport', String(OWN_TLS), '-j', 'REDIRECT', '--to-ports', '15006']);
  await inNs(clientNs, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', vip, '--dport', String(PORT), '-j', 'REDIRECT', '--to-ports', '15001']);
  lab.route(clientNs, `${secureVip}/32`, SERVER_IP);
  await inNs(clientNs, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', secureVip, '--dport', String(OWN_TLS), '-j', 'REDIRECT', '--to-ports', '15001']);
  const echo = app = new JsonLineProcess('helloworld-0', lab.spawn(serverNs, process.execPath, [join(repo, 'src/testing/envoy/http-echo.ts'), '--addr', `${SERVER_IP}:${PORT}`, '--name', 'helloworld-0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await echo.waitFor('the app listening', (e) => e.event === 'listening');
  const echo2 = new JsonLineProcess('helloworld-0:9090', lab.spawn(serverNs, process.execPath, [join(repo, 'src/testing/envoy/http-echo.ts'), '--addr', `${SERVER_IP}:${UNDECLARED}`, '--name', 'helloworld-0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await echo2.waitFor('the app listening on the undeclared port', (e) => e.event === 'listening');
  // The application's own TLS: a certificate from a CA of its own, unrelated to the mesh's.
  const appCa = await generateRootCa({ org: 'app.example' });
  const appKey = await generateEcKey();
  const leaf = signLeaf({ ca: appCa, publicKey: new Uint8Array(await webcrypto.subtle.exportKey('spki', appKey.keys.publicKey)), identities: [spiffeId({ trustDomain: 'app.example', namespace: 'sample', serviceAccount: 'helloworld' })] });
  writeFileSync(join(dir, 'app-cert.pem'), leaf.certPem + appCa.certChainPem);
  writeFileSync(join(dir, 'app-key.pem'), appKey.pkcs8Pem);
  const echo3 = new JsonLineProcess('helloworld-0:9443', lab.spawn(serverNs, process.execPath, [join(repo, 'src/testing/envoy/http-echo.ts'), '--addr', `${SERVER_IP}:${OWN_TLS}`, '--name', 'helloworld-0', '--cert', join(dir, 'app-cert.pem'), '--key', join(dir, 'app-key.pem')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await echo3.waitFor('the HTTPS app listening', (e) => e.event === 'listening');
  assert.ok(envoyBin);
  envoys.server = await sidecar(serverNs, 'helloworld-0', 'helloworld', 'helloworld', SERVER_IP, rootPem);
  envoys.client = await sidecar(clientNs, 'sleep-0', 'sleep', 'sleep', CLIENT_IP, rootPem);
});

after(async () => {
  await envoys.client?.stop();
  await envoys.server?.stop();
  await lab?.destroy();
  for (const s of sdsServers) s.close();
  await xdsBridge?.close();
  await disc?.stop();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

interface Seen { name: string; path: string; headers: Record<string, string | undefined>; peer: string }

/** curl inside a namespace; the app's JSON answer (what it received), or undefined on failure. */
async function call(ns: Netns, url: string, headers: Record<string, string>, extra: readonly string[] = []): Promise<Seen | undefined> {
  const args = ['-sS', '--fail', '--max-time', '10', ...extra, ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  try {
    return JSON.parse(await inNs(ns, 'curl', args)) as Seen;
  } catch {
    return undefined;
  }
}

const rejected = (s: EnvoyStats): [string, number][] => [...s].filter(([k]) => k.endsWith('.update_rejected'));

test('both sidecars get their config and Envoy rejects none of it', async (t) => {
  const started = Date.now();
  await until('virtualInbound and inbound|5000|| in the server sidecar', async () => {
    const [ls, cs] = [await envoys.server?.listeners().catch(() => []) ?? [], await envoys.server?.clusters().catch(() => []) ?? []];
    return ls.includes('virtualInbound') && cs.includes(`inbound|${PORT}||`) || undefined;
  });
  await until('the client sidecar knows helloworld\'s endpoint', async () => {
    const eps = await envoys.client?.endpointsOf(`outbound|${PORT}||${HW}`).catch(() => []) ?? [];
    const ls = await envoys.client?.listeners().catch(() => []) ?? [];
    return eps.includes(`${SERVER_IP}:${PORT}`) && ls.includes(`0.0.0.0_${PORT}`) || undefined;
  });
  t.diagnostic(`both sidecars configured in ${Date.now() - started} ms`);
  for (const [name, e] of Object.entries(envoys)) {
    const stats = await e.stats();
    const rej = rejected(stats);
    assert.ok(rej.some(([k]) => k === 'listener_manager.lds.update_rejected'), `${name}: LDS counters present`);
    assert.deepEqual(rej.filter(([, v]) => v !== 0), [], `${name}: no rejected update`);
    assert.ok((stats.get('listener_manager.lds.update_success') ?? 0) > 0);
    t.diagnostic(`${name}: lds.update_success ${stats.get('listener_manager.lds.update_success')}, ${rej.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
});

test('over Istio mTLS the app behind the server sidecar sees the caller\'s SPIFFE id in x-forwarded-client-cert', async (t) => {
  const t0 = performance.now();
  // The client application forges the header too: its own sidecar must not pass that on.
  const seen = await until('a request from sleep-0 through both sidecars', () => call(clientNs, `http://${vip}:${PORT}/hello`, {
    Host: `${HW}:${PORT}`, 'x-forwarded-client-cert': `URI=${FORGED_ID}`,
  }));
  t.diagnostic(`first answer after ${(performance.now() - t0).toFixed(0)} ms; the app saw x-forwarded-client-cert: ${seen.headers['x-forwarded-client-cert'] ?? '(none)'}; peer ${seen.peer}`);
  assert.equal(seen.path, '/hello');
  const xfcc = seen.headers['x-forwarded-client-cert'] ?? '';
  assert.ok(xfcc.includes(`URI=${CALLER_ID}`), `the caller's identity: ${xfcc}`);
  assert.ok(xfcc.includes(`By=${SERVER_ID}`), `the server's own identity as By: ${xfcc}`);
  assert.ok(!xfcc.includes(FORGED_ID), `a header the caller's application forged is not forwarded: ${xfcc}`);
  assert.equal(xfcc.split(',').length, 1, 'one element: the direct caller only');
  assert.match(seen.peer, /^127\.0\.0\.6:/, 'the server sidecar reached the app from 127.0.0.6, as Istio does');
  const stats = await envoys.server?.stats() ?? new Map<string, number>();
  const rq = stats.get(`http.inbound_0.0.0.0_${PORT}.downstream_rq_2xx`) ?? 0;
  assert.ok(rq >= 1, `the server sidecar handled the request as HTTP (downstream_rq_2xx ${rq})`);
  t.diagnostic(`server sidecar: http.inbound_0.0.0.0_${PORT}.downstream_rq_2xx ${rq}, ssl.handshake on 15006 ${stats.get('listener.0.0.0.0_15006.ssl.handshake') ?? 0}`);
});

test('a VirtualService retry policy: a 503 from the app is retried through both sidecars and the caller gets the answer', async (t) => {
  const vsCrd = ISTIO_CRDS.find((d) => d.kind === 'VirtualService');
  assert.ok(vsCrd, 'the install renders the VirtualService CRD');
  await c1.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(vsCrd), true);
  await until('the VirtualService CRD is served', async () => ((await c1.request('GET', '/apis/networking.istio.io/v1/virtualservices')).status === 200 ? true : undefined));
  await c1.requestOk('POST', '/apis/networking.istio.io/v1/namespaces/sample/virtualservices', {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { hosts: [HW], http: [{ route: [{ destination: { host: HW } }], retries: { attempts: 2, retryOn: '5xx' } }] },
  });
  const t0 = performance.now();
  let n = 0;
  // Each try uses a new path: the app fails each path once. Before the route has the policy the
  // client sees that 503 (curl --fail: undefined), after it Envoy retries and the second attempt answers.
  const seen = await until('a /fail-once/ request answered after a retry', () => call(clientNs, `http://${vip}:${PORT}/fail-once/${++n}`, { Host: `${HW}:${PORT}` }));
  const attempts = (app?.events ?? []).filter((e) => e.event === 'request' && (e as { path?: string }).path === seen.path).length;
  t.diagnostic(`retry policy in force ${(performance.now() - t0).toFixed(0)} ms after the VirtualService (${n} tries); ${seen.path}: the app saw ${attempts} requests, the last with x-envoy-attempt-count ${seen.headers['x-envoy-attempt-count'] ?? '(none)'}`);
  assert.equal(attempts, 2, 'the app answered 503, then the retry');
  assert.equal(seen.headers['x-envoy-attempt-count'], '2', 'the answer came from the second attempt');
});

test('a plaintext caller (no sidecar) reaches the app through the plaintext chain and cannot forge an identity', async (t) => {
  const seen = await until('a plaintext request to the pod', () => call(clientNs, `http://${SERVER_IP}:${PORT}/plain`, { 'x-forwarded-client-cert': `URI=${FORGED_ID}` }));
  t.diagnostic(`the app saw x-forwarded-client-cert: ${seen.headers['x-forwarded-client-cert'] ?? '(none)'}; peer ${seen.peer}`);
  assert.equal(seen.path, '/plain');
  assert.equal(seen.headers['x-forwarded-client-cert'], undefined, 'no client certificate, so no XFCC at all (the forged one is removed)');
  assert.match(seen.peer, /^127\.0\.0\.6:/, 'through the server sidecar');
});

/** How many TLS handshakes the server sidecar completed on 15006 (it terminated Istio mTLS). */
async function serverHandshakes(): Promise<number> {
  return (await envoys.server?.stats())?.get('listener.0.0.0.0_15006.ssl.handshake') ?? 0;
}

test('a declared TCP port (PERMISSIVE): the app\'s own TLS passes through the sidecar untouched, Istio mTLS is terminated', async (t) => {
  // -k: the client cannot know the app's private CA; what matters is whose certificate answers.
  const before = await serverHandshakes();
  const direct = await until('HTTPS from a caller without a sidecar to the pod', () => call(clientNs, `https://${SERVER_IP}:${OWN_TLS}/own-tls`, {}, ['-k']));
  assert.equal(direct.path, '/own-tls', 'the app itself answered the TLS it serves');
  assert.match(direct.peer, /^127\.0\.0\.6:/, 'through the server sidecar (inbound|9443|| binds 127.0.0.6)');
  const afterDirect = await serverHandshakes();
  assert.equal(afterDirect, before, 'the sidecar did not terminate the app\'s TLS');
  const issuer = await inNs(clientNs, 'sh', ['-c', `echo | openssl s_client -connect ${SERVER_IP}:${OWN_TLS} 2>/dev/null | openssl x509 -noout -issuer`]).catch(() => '');
  t.diagnostic(`app's own TLS to :${OWN_TLS}: answered by the app (peer ${direct.peer}); certificate issuer ${issuer.trim()}; server sidecar handshakes ${before} -> ${afterDirect}`);
  assert.match(issuer, /app\.example/, 'the certificate the caller saw is the app\'s, not the sidecar\'s');

  // A mesh caller: the client sidecar wraps the connection in Istio mTLS, the server sidecar terminates it.
  const mesh = await until('HTTPS from sleep-0 through both sidecars', () => call(clientNs, `https://${secureVip}:${OWN_TLS}/mesh`, {}, ['-k']));
  const afterMesh = await serverHandshakes();
  t.diagnostic(`mesh caller to ${secureVip}:${OWN_TLS}: answered (peer ${mesh.peer}); server sidecar handshakes ${afterDirect} -> ${afterMesh}`);
  assert.equal(mesh.path, '/mesh');
  assert.ok(afterMesh > afterDirect, 'the server sidecar terminated the mesh client\'s mTLS');
});

test('an undeclared port: plaintext HTTP is sniffed through the passthrough chain (PERMISSIVE), then refused under mesh-wide STRICT', async (t) => {
  const url = `http://${SERVER_IP}:${UNDECLARED}/undeclared`;
  const seen = await until('a plaintext request to the undeclared port', () => call(clientNs, url, {}));
  assert.equal(seen.path, '/undeclared');
  assert.match(seen.peer, /^127\.0\.0\.6:/, 'through the server sidecar (InboundPassthroughCluster binds 127.0.0.6)');
  const before = await envoys.server?.stats() ?? new Map<string, number>();
  const sniffed = before.get('http.InboundPassthroughCluster.downstream_rq_2xx') ?? 0;
  t.diagnostic(`PERMISSIVE: plaintext to :${UNDECLARED} answered; the server sidecar handled it as HTTP (http.InboundPassthroughCluster.downstream_rq_2xx ${sniffed})`);
  assert.ok(sniffed >= 1, 'the passthrough chain sniffed HTTP and ran it through a connection manager');

  await c1.requestOk('POST', '/apis/security.istio.io/v1/namespaces/istio-system/peerauthentications', {
    apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default' }, spec: { mtls: { mode: 'STRICT' } },
  });
  const t0 = performance.now();
  await until('plaintext to the undeclared port refused', async () => (await call(clientNs, url, {}) === undefined ? true : undefined));
  t.diagnostic(`STRICT: plaintext to :${UNDECLARED} refused ${(performance.now() - t0).toFixed(0)} ms after the PeerAuthentication was created`);
  for (let i = 0; i < 3; i++) assert.equal(await call(clientNs, url, {}), undefined, 'plaintext stays refused');
  assert.equal(await call(clientNs, `http://${SERVER_IP}:${PORT}/plain`, {}), undefined, 'and on the declared port');
  // Istio mTLS from the client sidecar still reaches the declared port.
  const ok = await until('a request through both sidecars under STRICT', () => call(clientNs, `http://${vip}:${PORT}/strict`, { Host: `${HW}:${PORT}` }));
  assert.equal(ok.path, '/strict');
});

test('a declared TCP port under mesh-wide STRICT: TLS that is not the mesh\'s is refused, mesh callers still get through', async (t) => {
  // The previous test made STRICT mesh-wide.
  const t0 = performance.now();
  await until('the app\'s own TLS refused under STRICT', async () => (await call(clientNs, `https://${SERVER_IP}:${OWN_TLS}/own-tls`, {}, ['-k']) === undefined ? true : undefined));
  t.diagnostic(`STRICT: a caller without a mesh certificate refused on :${OWN_TLS} ${(performance.now() - t0).toFixed(0)} ms after`);
  const mesh = await until('a mesh caller under STRICT', () => call(clientNs, `https://${secureVip}:${OWN_TLS}/mesh-strict`, {}, ['-k']));
  assert.equal(mesh.path, '/mesh-strict');
});
