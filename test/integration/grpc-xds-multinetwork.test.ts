/**
 * Issue 4's "done when", end to end with real parts only: two real API servers (cluster1 on
 * network1, cluster2 on network2, joined by a remote secret), a real `isthmus discovery` process,
 * a real @grpc/grpc-js-xds client, real gRPC servers as pods and an east-west gateway data plane,
 * each network a Linux network namespace:
 *
 *   root ns: kube-apiservers (127.0.0.1), discovery (xDS on 10.99.1.1:15010, debug on 127.0.0.1)
 *     ├─ veth 10.99.1.1 <-> 10.99.1.2 ─ net1: client, pod helloworld-0 (10.10.0.5 on lo), later helloworld-1 (10.10.0.6)
 *     └─ veth 10.99.2.1 <-> 10.99.2.2 ─ net2: pod helloworld-c2-0 (10.20.0.5 on lo), gateway data plane
 *   net1 <-> net2: veth 10.99.3.1 <-> 10.99.3.2 = cluster2's east-west gateway Service LoadBalancer IP
 *
 * net1 has no route to 10.20.0.0/16 (nor does anything forward), so network2's pod is reachable
 * from network1 only through the gateway at 10.99.3.2:15443, exactly as the split-horizon EDS says.
 * helloworld's DestinationRule says ISTIO_MUTUAL: as with istiod, that is what turns mTLS on for
 * proxyless clients. Needs root and iproute2; fails with the reason otherwise.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateEcKey } from '../../src/pki/keys.ts';
import { generateRootCa } from '../../src/pki/root.ts';
import { signLeaf } from '../../src/pki/sign.ts';
import type { CaBundle } from '../../src/pki/bundle.ts';
import { spiffeId } from '../../src/model/ids.ts';
import { ISTIO_CRDS, crd } from '../../src/operator/render/base.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { CORRUPT_DUPLICATE_ENDPOINT, CORRUPT_LABEL } from '../../src/testing/grpc-app/faulty-generators.ts';
import { JsonLineProcess, type JsonEvent } from '../../src/testing/grpc-app/lines.ts';
import { NetnsLab, ROOT, netnsSupported, type Netns } from '../../src/testing/netns.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

// Missing prerequisites fail the suite loudly (scripts/setup.sh installs iproute2; CI runs as root).
const unsupported = netnsSupported();
const PREFIX = 'isthmus-grpcxds';
const HOST = 'helloworld.sample.svc.cluster.local';
const TARGET = `xds:///${HOST}:5000`;
const XDS_ADDR = '10.99.1.1:15010';
const GATEWAY_IP = '10.99.3.2';
const GATEWAY = `${GATEWAY_IP}:15443`;
const SERVER_SA = 'spiffe://cluster.local/ns/sample/sa/helloworld';
const CLIENT_SA = 'spiffe://cluster.local/ns/sample/sa/client';
const CLIENT_NODE = 'sidecar~10.10.0.9~client-0.sample~sample.svc.cluster.local';
const app = (p: string) => fileURLToPath(new URL(`../../src/${p}`, import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'isthmus-grpcxds-'));
let lab: NetnsLab | undefined;
let net1: Netns;
let net2: Netns;
let bed: Testbed | undefined;
let disc: DiscoveryProcess | undefined;
let client: JsonLineProcess;
let gateway: JsonLineProcess;
const procs: JsonLineProcess[] = [];

// ---- helpers ----

const until = poller({
  timeoutMs: 20_000, intervalMs: 20,
  context: () => `${procs.map((p) => p.tail(15)).join('\n')}\n--- discovery ---\n${disc?.logs().split('\n').slice(-20).join('\n') ?? ''}`,
});

async function issue(ca: CaBundle, name: string, identity: string): Promise<{ cert: string; key: string }> {
  const key = await generateEcKey();
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
  const [, , , , ns = '', , sa = ''] = identity.split('/');
  const leaf = signLeaf({ ca, publicKey: spki, identities: [spiffeId({ trustDomain: 'cluster.local', namespace: ns, serviceAccount: sa })] });
  const certPath = join(dir, `${name}-cert.pem`);
  const keyPath = join(dir, `${name}-key.pem`);
  writeFileSync(certPath, leaf.certPem + ca.certChainPem);
  writeFileSync(keyPath, key.pkcs8Pem);
  return { cert: certPath, key: keyPath };
}

/** Runs `node <nodeArgs...>` inside a namespace, reading its JSON lines. */
function run(name: string, ns: Netns, script: string, args: readonly string[], env: Record<string, string> = {}): JsonLineProcess {
  if (lab === undefined) throw new Error('no lab');
  const p = new JsonLineProcess(name, lab.spawn(ns, process.execPath, [script, ...args].filter((a) => a !== ''), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  procs.push(p);
  return p;
}

async function startPod(name: string, ns: Netns, ip: string, cluster: string, certs: { cert: string; key: string }, root: string): Promise<JsonLineProcess> {
  const p = run(name, ns, app('testing/grpc-app/server.ts'), ['--addr', `${ip}:5000`, '--pod', name, '--cluster', cluster, '--cert', certs.cert, '--key', certs.key, '--ca', root]);
  await p.waitFor(`${name} listening`, (e) => e.event === 'listening');
  return p;
}

async function createPod(c: TestbedCluster, name: string, ip: string): Promise<void> {
  await c.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'helloworld', 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: 'helloworld', containers: [{ name: 'app', image: 'example.invalid/helloworld:1' }] },
  });
  const pod = await c.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as Record<string, unknown>;
  await c.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
}

interface SliceEndpoint { addresses: string[]; conditions: { ready: boolean }; targetRef?: { kind: string; name: string; namespace: string } }
const sliceEndpoint = (ip: string, pod: string): SliceEndpoint => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod, namespace: 'sample' } });

async function putSlice(c: TestbedCluster, name: string, endpoints: SliceEndpoint[]): Promise<void> {
  const path = `/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/${name}`;
  const body = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4', endpoints, ports: [{ name: 'grpc', port: 5000, protocol: 'TCP' }],
  };
  const existing = await c.request('GET', path);
  if (existing.status === 404) { await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', body); return; }
  const cur = JSON.parse(existing.body) as { metadata: Record<string, unknown> };
  await c.requestOk('PUT', path, { ...body, metadata: { ...cur.metadata, ...body.metadata } });
}

async function seedService(c: TestbedCluster, pod: string, ip: string): Promise<void> {
  await c.ensureServiceAccount('sample', 'helloworld');
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld' },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'grpc', port: 5000, appProtocol: 'grpc' }] },
  });
  await createPod(c, pod, ip);
  await putSlice(c, `helloworld-${c.name}`, [sliceEndpoint(ip, pod)]);
}

type Call = JsonEvent & { ok: boolean; seq: number; start: number; end: number; peer?: string; pod?: string; serverIdentity?: string; clientIdentity?: string; error?: string };
const calls = (p: JsonLineProcess, since = 0): Call[] => p.of('call').filter((e) => e.t >= since) as Call[];

interface Syncz { proxy: string; types: Record<string, { status: string; sent?: string; acked?: string; error?: string }> }
async function clientSync(): Promise<Syncz | undefined> {
  const all = await disc?.json<Syncz[]>('/debug/syncz') ?? [];
  return all.find((s) => s.proxy === 'client-0.sample');
}

/** Polls syncz until the client has ACKed an EDS nonce other than `prev`; resolves with the time that was seen. */
async function edsAckedAfter(prev: string | undefined): Promise<number> {
  await until('a new EDS ACK from the client', async () => {
    const eds = (await clientSync())?.types['EDS'];
    return eds?.status === 'SYNCED' && eds.acked !== prev ? true : undefined;
  }, 15_000);
  return Date.now();
}
const ackedEds = async () => (await clientSync())?.types['EDS']?.acked;

// ---- set-up ----

before(async () => {
  if (unsupported !== undefined) throw new Error(`cannot run the multi-network test: ${unsupported}`);
  lab = await NetnsLab.create(PREFIX);
  net1 = lab.namespace('net1');
  net2 = lab.namespace('net2');
  lab.link({ a: ROOT, b: net1, aAddr: '10.99.1.1/24', bAddr: '10.99.1.2/24' });
  lab.link({ a: ROOT, b: net2, aAddr: '10.99.2.1/24', bAddr: '10.99.2.2/24' });
  lab.link({ a: net1, b: net2, aAddr: '10.99.3.1/24', bAddr: `${GATEWAY_IP}/24` });
  lab.addAddress(net1, 'lo', '10.10.0.5/32');
  lab.addAddress(net2, 'lo', '10.20.0.5/32');
  lab.route(net2, '10.99.1.0/24', '10.99.2.1'); // the gateway reaches discovery's xDS port

  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1', 'cluster2'] });
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
  });
  await c2.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader');
  for (const c of [c1, c2]) await c.ensureNamespace('sample');
  await seedService(c1, 'helloworld-0', '10.10.0.5');
  await seedService(c2, 'helloworld-c2-0', '10.20.0.5');
  await c2.requestOk('POST', '/api/v1/namespaces/istio-system/services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'istio-eastwestgateway', labels: { 'topology.istio.io/network': 'network2', istio: 'eastwestgateway' } },
    spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'status-port', port: 15021 }, { name: 'tls', port: 15443 }] },
  });
  const gwSvc = await c2.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as Record<string, unknown>;
  await c2.requestOk('PUT', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway/status', { ...gwSvc, status: { loadBalancer: { ingress: [{ ip: GATEWAY_IP }] } } });
  const token = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
  await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 'istio-remote-secret-cluster2', namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } },
    data: { cluster2: Buffer.from(c2.tokenKubeconfig(token)).toString('base64') },
  });

  // As with istiod, a proxyless client uses mTLS only where a DestinationRule says ISTIO_MUTUAL.
  const drCrd = ISTIO_CRDS.find((d) => d.kind === 'DestinationRule');
  assert.ok(drCrd, 'the DestinationRule CRD is rendered');
  await c1.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(drCrd), true);
  await until('the DestinationRule API is served', async () => ((await c1.request('GET', '/apis/networking.istio.io/v1/destinationrules')).status === 200 ? true : undefined));
  await c1.requestOk('POST', '/apis/networking.istio.io/v1/namespaces/sample/destinationrules', {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { host: HOST, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
  });

  disc = await DiscoveryProcess.start({
    kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', grpcAddr: XDS_ADDR,
    command: [app('testing/grpc-app/faulty-discovery.ts')],
    env: { EXTERNAL_ISTIOD: 'true', PILOT_REMOTE_CLUSTER_TIMEOUT: '10s', POD_NAMESPACE: 'istio-system' },
  });
  await disc.ready();
  await until('both clusters\' endpoints and network2\'s gateway', async () => {
    const shards = (await disc?.json<Record<string, Record<string, { Shards: Record<string, unknown[]> }>>>('/debug/endpointShardz'))?.[HOST]?.['sample']?.Shards ?? {};
    const gws = await disc?.json<{ Addr: string }[]>('/debug/networkz') ?? [];
    return shards['cluster1'] && shards['cluster2'] && gws.some((g) => g.Addr === GATEWAY_IP) ? true : undefined;
  });

  const ca = await generateRootCa();
  const root = join(dir, 'root-cert.pem');
  writeFileSync(root, ca.rootCertPem);
  const serverCerts = await issue(ca, 'helloworld', SERVER_SA);
  const clientCerts = await issue(ca, 'client', CLIENT_SA);
  writeFileSync(join(dir, 'pod-certs.json'), JSON.stringify({ serverCerts, root }));

  await startPod('helloworld-0', net1, '10.10.0.5', 'cluster1', serverCerts, root);
  await startPod('helloworld-c2-0', net2, '10.20.0.5', 'cluster2', serverCerts, root);
  gateway = run('gateway', net2, app('dataplane/eastwest-main.ts'), ['--xds', XDS_ADDR, '--listen', GATEWAY, '--cluster', 'cluster2', '--network', 'network2']);
  await gateway.waitFor('gateway listening', (e) => e.event === 'listening');
  await gateway.waitFor('gateway endpoints for helloworld', (e) => e.event === 'eds' && JSON.stringify(e['endpoints']).includes('10.20.0.5:5000'));

  const bootstrap = {
    xds_servers: [{ server_uri: XDS_ADDR, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: CLIENT_NODE,
      metadata: { GENERATOR: 'grpc', CLUSTER_ID: 'cluster1', NETWORK: 'network1', NAMESPACE: 'sample', ISTIO_VERSION: '1.24.0', PROXY_CONFIG: {} },
      locality: {},
    },
    certificate_providers: {
      default: { plugin_name: 'file_watcher', config: { certificate_file: clientCerts.cert, private_key_file: clientCerts.key, ca_certificate_file: root, refresh_interval: '900s' } },
    },
    server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
  };
  writeFileSync(join(dir, 'bootstrap.json'), JSON.stringify(bootstrap, null, 2));
  client = run('client', net1, app('testing/grpc-app/client.ts'), ['--target', TARGET, '--interval', '25'], { GRPC_XDS_BOOTSTRAP: join(dir, 'bootstrap.json') });
});

after(async () => {
  await lab?.destroy();
  await disc?.stop();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

// ---- tests ----

test('calls reach cluster1\'s pod directly and network2\'s pod only through network2\'s gateway, with mTLS', async (t) => {
  const started = await client.waitFor('the client started', (e) => e.event === 'started', 30_000);
  const firstOk = await client.waitFor('a successful call', (e) => e.event === 'call' && e['ok'] === true, 30_000);
  t.diagnostic(`first successful call ${firstOk.t - started.t} ms after the client's channel was created (xDS LDS, RDS, CDS, EDS, then TLS); ${calls(client).filter((c) => !c.ok).length} call(s) failed before`);
  await until('40 calls after both backends answered', () => {
    const ok = calls(client).filter((c) => c.ok);
    const pods = new Set(ok.map((c) => c.pod));
    return pods.has('helloworld-0') && pods.has('helloworld-c2-0') && ok.length >= 40 ? true : undefined;
  }, 30_000);
  const since = calls(client).find((c) => c.ok)?.t ?? 0;
  const window = calls(client, since).slice(0, 40);
  const failed = window.filter((c) => !c.ok);
  assert.equal(failed.length, 0, `failed calls: ${JSON.stringify(failed.slice(0, 3))}`);
  const byPod = new Map<string, Set<string>>();
  for (const c of window) byPod.set(c.pod ?? '', (byPod.get(c.pod ?? '') ?? new Set()).add(c.peer ?? ''));
  assert.deepEqual([...byPod.get('helloworld-0') ?? []], ['10.10.0.5:5000'], 'the local pod is dialled directly');
  assert.deepEqual([...byPod.get('helloworld-c2-0') ?? []], [GATEWAY], 'network2\'s pod is dialled only through the gateway address');
  const share = window.filter((c) => c.pod === 'helloworld-c2-0').length / window.length;
  t.diagnostic(`share of calls through the gateway: ${(share * 100).toFixed(0)}% (two endpoints of equal weight, round robin)`);
  assert.ok(share > 0.25 && share < 0.75, `share ${share}`);
  for (const c of window) {
    assert.match(c.serverIdentity ?? '', new RegExp(`URI:${SERVER_SA}`), 'the client verified the server\'s SPIFFE identity');
    assert.match(c.clientIdentity ?? '', new RegExp(`URI:${CLIENT_SA}`), 'the server verified the client\'s certificate');
  }

  const forwards = gateway.of('forward');
  assert.ok(forwards.length > 0, 'the gateway forwarded connections');
  for (const f of forwards) {
    assert.equal(f['sni'], HOST, 'grpc-js sends the target host as SNI');
    assert.equal(f['via'], 'bare-host');
    assert.equal(f['cluster'], `outbound_.5000_._.${HOST}`);
    assert.equal(f['upstream'], '10.20.0.5:5000');
    assert.match(String(f['downstream']), /^10\.99\.3\.1:/, 'the connection came from network1');
    assert.deepEqual(f['alpn'], ['h2']);
  }

  const sync = await until('the client ACKed every type', async () => {
    const s = await clientSync();
    return s && ['LDS', 'RDS', 'CDS', 'EDS'].every((k) => s.types[k]?.status === 'SYNCED') ? s : undefined;
  });
  t.diagnostic(`syncz for the client: ${JSON.stringify(sync.types)}`);
});

test('network2\'s pod address is not routable from network1 (only the gateway is)', async () => {
  const probe = run('probe', net1, '', ['-e', `
    const net = require('node:net');
    const s = net.connect({ host: '10.20.0.5', port: 5000, timeout: 2000 });
    s.on('connect', () => { console.log(JSON.stringify({ t: Date.now(), event: 'probe', result: 'connected' })); process.exit(0); });
    s.on('timeout', () => { console.log(JSON.stringify({ t: Date.now(), event: 'probe', result: 'timeout' })); process.exit(0); });
    s.on('error', (e) => { console.log(JSON.stringify({ t: Date.now(), event: 'probe', result: e.code })); process.exit(0); });
  `]);
  const r = await probe.waitFor('probe result', (e) => e.event === 'probe', 10_000);
  assert.notEqual(r['result'], 'connected');
});

test('Istio\'s SNI outbound_.<port>_._.<host> crosses the gateway too', async () => {
  const sni = `outbound_.5000_._.${HOST}`;
  const before = gateway.events.length;
  const c2 = run('client-istio-sni', net1, app('testing/grpc-app/client.ts'), ['--target', TARGET, '--interval', '25', '--sni', sni], { GRPC_XDS_BOOTSTRAP: join(dir, 'bootstrap.json') });
  const viaGateway = await c2.waitFor('a call through the gateway', (e) => e.event === 'call' && e['ok'] === true && e['peer'] === GATEWAY, 30_000);
  assert.equal(viaGateway['pod'], 'helloworld-c2-0');
  const fwd = await gateway.waitFor('an exact-SNI forward', (e) => e.event === 'forward' && e['sni'] === sni, 5000, before);
  assert.equal(fwd['via'], 'sni');
  await c2.stop();
});

test('the client follows EndpointSlice changes in either cluster', async (t) => {
  assert.ok(bed && lab);
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  const { serverCerts, root } = JSON.parse(readFileSync(join(dir, 'pod-certs.json'), 'utf8')) as { serverCerts: { cert: string; key: string }; root: string };

  // A new pod in cluster1.
  lab.addAddress(net1, 'lo', '10.10.0.6/32');
  await startPod('helloworld-1', net1, '10.10.0.6', 'cluster1', serverCerts, root);
  await createPod(c1, 'helloworld-1', '10.10.0.6');
  let prevAck = await ackedEds();
  const tAdd = Date.now();
  await putSlice(c1, 'helloworld-cluster1', [sliceEndpoint('10.10.0.5', 'helloworld-0'), sliceEndpoint('10.10.0.6', 'helloworld-1')]);
  const addAck = await edsAckedAfter(prevAck) - tAdd;
  const added = await until('a call answered by helloworld-1', () => calls(client, tAdd).find((c) => c.ok && c.pod === 'helloworld-1'), 15_000);
  const addLatency = added.end - tAdd;
  t.diagnostic(`cluster1 EndpointSlice update -> client ACKed the new EDS: ${addAck} ms; first call served by the new pod: ${addLatency} ms (calls every 25 ms, syncz polled every ~20 ms)`);
  assert.equal(added.peer, '10.10.0.6:5000');

  // network2's only pod goes away: the gateway endpoint must disappear from the client's EDS.
  prevAck = await ackedEds();
  const tRemove = Date.now();
  await putSlice(c2, 'helloworld-cluster2', []);
  const removeLatency = await edsAckedAfter(prevAck) - tRemove;
  await until('30 calls in a row without the gateway', () => {
    const after = calls(client, tRemove);
    const lastGw = after.map((c) => c.peer).lastIndexOf(GATEWAY);
    return after.length - lastGw - 1 >= 30 ? true : undefined;
  }, 15_000);
  const viaGw = calls(client, tRemove).filter((c) => c.peer === GATEWAY);
  t.diagnostic(`cluster2 EndpointSlice emptied -> client ACKed EDS without the gateway: ${removeLatency} ms; ${viaGw.length} call(s) still went through the gateway${viaGw.length > 0 ? `, the last starting ${Math.max(0, (viaGw.at(-1)?.start ?? tRemove) - tRemove)} ms after the update` : ''}`);
  const afterAck = calls(client, tRemove + removeLatency + 100);
  assert.ok(afterAck.length > 0 && afterAck.every((c) => c.peer !== GATEWAY), 'nothing dialled the gateway once the new EDS was ACKed');
  assert.ok(calls(client, tRemove).every((c) => c.ok), 'no call failed while network2 drained');

  // And back: the gateway endpoint returns.
  prevAck = await ackedEds();
  const tBack = Date.now();
  await putSlice(c2, 'helloworld-cluster2', [sliceEndpoint('10.20.0.5', 'helloworld-c2-0')]);
  const backAck = await edsAckedAfter(prevAck) - tBack;
  const back = await until('a call through the gateway again', () => calls(client, tBack).find((c) => c.ok && c.peer === GATEWAY), 15_000);
  const backLatency = back.end - tBack;
  t.diagnostic(`cluster2 EndpointSlice restored -> client ACKed: ${backAck} ms; first call through the gateway: ${backLatency} ms`);
  for (const [what, ms] of [['add', addLatency], ['remove', removeLatency], ['restore', backLatency]] as const) {
    assert.ok(ms < 10_000, `${what} took ${ms} ms (issue goal: 1 s; this bound is generous on purpose)`);
  }
});

test('an invalid EDS resource is NACKed by the real client, shows in /debug/syncz, and the client keeps its last good config', async (t) => {
  assert.ok(bed);
  const c1 = bed.cluster('cluster1');
  const svcPath = '/api/v1/namespaces/sample/services/helloworld';
  const label = async (value: string | null) => {
    const svc = await c1.requestOk('GET', svcPath) as { metadata: { labels?: Record<string, string> } } & Record<string, unknown>;
    const labels = Object.fromEntries(Object.entries(svc.metadata.labels ?? {}).filter(([k]) => k !== CORRUPT_LABEL));
    if (value !== null) labels[CORRUPT_LABEL] = value;
    await c1.requestOk('PUT', svcPath, { ...svc, metadata: { ...svc.metadata, labels } });
  };
  const good = await clientSync();
  const goodEds = good?.types['EDS'];
  assert.equal(goodEds?.status, 'SYNCED');

  const tBad = Date.now();
  await label(CORRUPT_DUPLICATE_ENDPOINT);
  const nack = await until('EDS ERROR in syncz', async () => {
    const s = await clientSync();
    return s?.types['EDS']?.status === 'ERROR' ? s : undefined;
  }, 15_000);
  t.diagnostic(`NACK visible in /debug/syncz ${Date.now() - tBad} ms after the label: ${JSON.stringify(nack.types['EDS'])}`);
  assert.match(nack.types['EDS']?.error ?? '', /duplicate/i, 'the client\'s own validation message');
  assert.equal(nack.types['CDS']?.status, 'SYNCED', 'other types unaffected');
  assert.match(disc?.logs() ?? '', /NACK/);

  // The client keeps serving from its last good assignment: every call succeeds, on the same backends.
  const tCheck = Date.now();
  await until('40 calls after the NACK', () => (calls(client, tCheck).length >= 40 ? true : undefined), 15_000);
  const during = calls(client, tCheck).slice(0, 40);
  assert.deepEqual(during.filter((c) => !c.ok), [], 'calls keep succeeding');
  assert.deepEqual([...new Set(during.map((c) => c.peer))].sort(), ['10.10.0.5:5000', '10.10.0.6:5000', GATEWAY].sort(), 'the last good endpoints, unchanged');

  // Fixing the object makes the resource valid again: the client ACKs.
  const tFix = Date.now();
  await label(null);
  await until('EDS SYNCED again', async () => ((await clientSync())?.types['EDS']?.status === 'SYNCED' ? true : undefined), 15_000);
  t.diagnostic(`ACK again ${Date.now() - tFix} ms after the label was removed`);
  assert.ok(calls(client, tFix).every((c) => c.ok));
});
