/**
 * Issue 3's "done when", against two real API servers and a real `isthmus discovery` process:
 * remote secrets add, rotate and remove cluster2; endpoints never vanish during rotation; an
 * unreachable API server keeps its last endpoints; networks and gateways; bad secrets are reported.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { poller } from '../../src/testing/wait.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { listenerCodec, unpackAny } from '../../src/proto/codec.ts';
import { LISTENER_TYPE_URL } from '../../src/model/type-urls.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-disc-'));
let bed: Testbed;
let disc: DiscoveryProcess;

interface Cluster { id: string; secretName: string; syncStatus: string; healthy?: boolean; shouldLead?: boolean; lastError?: string }
interface ShardEndpoint { address: string; network: string; cluster: string; serviceAccount: string }
type Shardz = Record<string, Record<string, { Shards: Record<string, ShardEndpoint[]> }>>;

const until = poller({ timeoutMs: 15_000, intervalMs: 20, context: () => disc.logs().split('\n').slice(-15).join('\n') });

async function putSecret(name: string, data: Record<string, string>): Promise<void> {
  const c1 = bed.cluster('cluster1');
  const body = {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  const res = await c1.request('PUT', `/api/v1/namespaces/istio-system/secrets/${name}`, body);
  if (res.status === 404) await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', body);
  else assert.ok(res.status < 300, res.body);
}

async function seed(c: TestbedCluster, ip: string, podNetworkLabel?: string): Promise<void> {
  await c.ensureNamespace('sample');
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld' },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] },
  });
  await c.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'helloworld-0', labels: { app: 'helloworld', 'security.istio.io/tlsMode': 'istio', ...(podNetworkLabel ? { 'topology.istio.io/network': podNetworkLabel } : {}) } },
    spec: { serviceAccountName: 'default', containers: [{ name: 'app', image: 'example.invalid/helloworld:1' }] },
  });
  const pod = await c.requestOk('GET', '/api/v1/namespaces/sample/pods/helloworld-0') as Record<string, unknown>;
  await c.requestOk('PUT', '/api/v1/namespaces/sample/pods/helloworld-0/status', { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
  await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'helloworld-abc', labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'helloworld-0', namespace: 'sample' } }],
    ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
  });
}

const HOST = 'helloworld.sample.svc.cluster.local';
const shards = async () => (await disc.json<Shardz>('/debug/endpointShardz'))[HOST]?.['sample']?.Shards ?? {};
const clusterz = () => disc.json<Cluster[]>('/debug/clusterz');

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
  });
  await c2.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader');
  await seed(c1, '10.10.0.5');
  await seed(c2, '10.20.0.5');
  // Istio's Gateway and DestinationRule kinds in the config cluster (the install's base component has them).
  for (const [kind, plural] of [['Gateway', 'gateways'], ['DestinationRule', 'destinationrules']] as const) {
    await c1.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: `${plural}.networking.istio.io` },
      spec: {
        group: 'networking.istio.io', scope: 'Namespaced', names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
  }
  await until('CRDs established', async () => {
    const r = await c1.request('GET', '/apis/networking.istio.io/v1/gateways');
    return r.status === 200 ? true : undefined;
  });
  disc = await DiscoveryProcess.start({
    kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1',
    env: { EXTERNAL_ISTIOD: 'true', PILOT_REMOTE_CLUSTER_TIMEOUT: '3s', POD_NAMESPACE: 'istio-system' },
  });
  await disc.ready();
});

after(async () => {
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('applying the remote secret adds cluster2: services, endpoints on network2, leadership decision', async (t) => {
  assert.deepEqual(Object.keys(await shards()), ['cluster1'], 'only the local cluster before the secret');
  const c2 = bed.cluster('cluster2');
  const token = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
  const t0 = Date.now();
  await putSecret('istio-remote-secret-cluster2', { cluster2: c2.tokenKubeconfig(token, 'cluster2') });
  await until('cluster2 in registryz', async () => {
    const reg = await disc.json<{ hostname: string; clusterVIPs: Record<string, string[]> }[]>('/debug/registryz');
    return reg.find((s) => s.hostname === HOST && 'cluster2' in s.clusterVIPs);
  });
  t.diagnostic(`cluster2's services visible in /debug/registryz ${Date.now() - t0} ms after the secret was written`);
  const byCluster = await until('cluster2 shard', async () => { const s = await shards(); return s['cluster2'] ? s : undefined; });
  assert.deepEqual(byCluster['cluster2']?.map((e) => [e.address, e.network]), [['10.20.0.5', 'network2']], 'network from cluster2\'s istio-system label');
  assert.deepEqual(byCluster['cluster1']?.map((e) => [e.address, e.network]), [['10.10.0.5', 'network1']]);
  const cz = await clusterz();
  const remote = cz.find((c) => c.id === 'cluster2');
  assert.equal(remote?.syncStatus, 'synced');
  assert.equal(remote.secretName, 'istio-system/istio-remote-secret-cluster2');
  assert.equal(remote.shouldLead, true, 'EXTERNAL_ISTIOD and controlPlaneClusters=cluster1');
});

test('an EndpointSlice change in cluster2 reaches endpointShardz', async (t) => {
  const c2 = bed.cluster('cluster2');
  const slice = await c2.requestOk('GET', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/helloworld-abc') as { endpoints: { addresses: string[] }[] } & Record<string, unknown>;
  const t0 = Date.now();
  await c2.requestOk('PUT', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/helloworld-abc', {
    ...slice, endpoints: [...slice.endpoints, { addresses: ['10.20.0.6'], conditions: { ready: true } }],
  });
  const eps = await until('new endpoint', async () => { const e = (await shards())['cluster2']; return e?.length === 2 ? e : undefined; });
  t.diagnostic(`EndpointSlice update visible ${Date.now() - t0} ms later`);
  assert.deepEqual(eps.map((e) => e.address).sort(), ['10.20.0.5', '10.20.0.6']);
  assert.ok(eps.every((e) => e.network === 'network2'), 'an address without a pod gets the cluster network too');
});

test('a gateway Service labelled network2 shows in networkz with its load-balancer address', async () => {
  const c2 = bed.cluster('cluster2');
  await c2.requestOk('POST', '/api/v1/namespaces/istio-system/services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'istio-eastwestgateway', labels: { 'topology.istio.io/network': 'network2', istio: 'eastwestgateway' } },
    spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'status-port', port: 15021 }, { name: 'tls', port: 15443 }] },
  });
  const svc = await c2.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as Record<string, unknown>;
  await c2.requestOk('PUT', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway/status', { ...svc, status: { loadBalancer: { ingress: [{ ip: '172.18.20.1' }] } } });
  const gws = await until('gateway', async () => {
    const n = await disc.json<{ Network: string; Cluster: string; Addr: string; Port: number }[]>('/debug/networkz');
    return n.length > 0 ? n : undefined;
  });
  assert.deepEqual(gws.map((g) => [g.Network, g.Cluster, g.Addr, g.Port]), [['network2', 'cluster2', '172.18.20.1', 15443]]);
});

test('the guide\'s cross-network Gateway gives network2\'s east-west gateway SNI passthrough chains', async () => {
  const c1 = bed.cluster('cluster1');
  await c1.requestOk('POST', '/apis/networking.istio.io/v1/namespaces/istio-system/gateways', {
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'cross-network-gateway' },
    spec: { selector: { istio: 'eastwestgateway' }, servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }] },
  });
  await c1.requestOk('POST', '/apis/networking.istio.io/v1/namespaces/sample/destinationrules', {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'helloworld' },
    spec: { host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
  });
  const gw = new AdsTestClient({
    address: disc.grpcAddr, nodeId: 'router~10.20.0.100~istio-eastwestgateway-0.istio-system~istio-system.svc.cluster.local',
    metadata: {
      NAMESPACE: 'istio-system', CLUSTER_ID: 'cluster2', NETWORK: 'network2', REQUESTED_NETWORK_VIEW: 'network2', PROXY_CONFIG: {},
      LABELS: { istio: 'eastwestgateway', 'topology.istio.io/network': 'network2' },
    },
  });
  try {
    // The first answer may predate the config; every later push of LDS comes on the same stream.
    gw.send({ typeUrl: LISTENER_TYPE_URL });
    const deadline = Date.now() + 15_000;
    let sni: string[] = [];
    while (!sni.includes('outbound_.5000_.v1_.helloworld.sample.svc.cluster.local')) {
      assert.ok(Date.now() < deadline, `no SNI chains for helloworld in time; last saw ${JSON.stringify(sni)}`);
      const r = await gw.next(15_000);
      gw.ack(r);
      const listener = (r.resources ?? []).map((x) => unpackAny(listenerCodec, x)).find((l) => l.name === '0.0.0.0_15443');
      sni = (listener?.filterChains ?? []).flatMap((fc) => fc.filterChainMatch?.serverNames ?? []);
    }
    assert.ok(sni.includes('outbound_.5000_._.helloworld.sample.svc.cluster.local'), 'the subset-less chain too');
  } finally {
    gw.close();
  }
});

test('rotating the secret never drops cluster2\'s endpoints', async () => {
  const c2 = bed.cluster('cluster2');
  const token = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 7200 });
  let polls = 0;
  let missing = 0;
  const state = { done: false };
  const poller = (async () => {
    while (!state.done) {
      const s = await shards();
      polls++;
      if ((s['cluster2']?.length ?? 0) !== 2) missing++;
      await sleep(10);
    }
  })();
  await putSecret('istio-remote-secret-cluster2', { cluster2: c2.tokenKubeconfig(token, 'cluster2') });
  await until('rotation finished', async () => ((await disc.get('/debug/clusterz')).body.includes('synced') && disc.logs().includes('switched to the new kubeconfig') ? true : undefined));
  await sleep(300);
  state.done = true;
  await poller;
  assert.ok(polls > 10, `polled ${polls} times`);
  assert.equal(missing, 0, `cluster2's endpoints were missing in ${missing} of ${polls} polls`);
});

test('bad secrets are reported by secret and key; cluster2 keeps working', async () => {
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  const sa = await c2.ensureServiceAccount('istio-system', 'istio-reader-service-account');
  const now = Math.floor(Date.now() / 1000);
  const expired = c2.signToken({
    iss: c2.issuer, aud: [c2.issuer], sub: 'system:serviceaccount:istio-system:istio-reader-service-account', iat: now - 7200, nbf: now - 7200, exp: now - 3600,
    'kubernetes.io': { namespace: 'istio-system', serviceaccount: { name: 'istio-reader-service-account', uid: sa.uid } },
  });
  const good = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
  await putSecret('bad-remote-secrets', {
    cluster1: c2.tokenKubeconfig(good, 'cluster1'),
    malformed: 'apiVersion: v1\nclusters: [oops',
    wrongca: c2.tokenKubeconfig(good, 'wrongca', c1.creds.caCertPem),
    expired: c2.tokenKubeconfig(expired, 'expired'),
  });
  const bad = await until('four reports', async () => {
    const list = (await clusterz()).filter((c) => c.secretName === 'istio-system/bad-remote-secrets' && c.lastError);
    return list.length === 4 ? list : undefined;
  }, 20_000);
  const err = (id: string) => bad.find((c) => c.id === id)?.lastError ?? '';
  assert.match(err('cluster1'), /secret istio-system\/bad-remote-secrets key "cluster1": names the local cluster/);
  assert.match(err('malformed'), /secret istio-system\/bad-remote-secrets key "malformed": not valid YAML/);
  assert.match(err('wrongca'), /secret istio-system\/bad-remote-secrets key "wrongca".*(certificate|self.signed|issuer|verify)/i);
  assert.match(err('expired'), /secret istio-system\/bad-remote-secrets key "expired".*401/);
  const ok = (await clusterz()).find((c) => c.id === 'cluster2');
  assert.equal(ok?.syncStatus, 'synced');
  const metrics = await (await fetch(`http://${disc.monitoringAddr}/metrics`)).text();
  assert.match(metrics, /istiod_remote_cluster_sync_status\{cluster_id="cluster2",secret="istio-system\/istio-remote-secret-cluster2"[^}]*\} 1/);
  assert.match(metrics, /istiod_remote_cluster_sync_status\{cluster_id="malformed",secret="istio-system\/bad-remote-secrets"[^}]*\} 0/);
  assert.equal((await shards())['cluster2']?.length, 2);
  await c1.requestOk('DELETE', '/api/v1/namespaces/istio-system/secrets/bad-remote-secrets');
});

test('an unreachable cluster2 keeps its last endpoints, shows unhealthy, and resyncs when back', async () => {
  const c2 = bed.cluster('cluster2');
  await c2.stopApiServer();
  await until('unhealthy', async () => ((await clusterz()).find((c) => c.id === 'cluster2')?.healthy === false ? true : undefined), 40_000);
  assert.equal((await shards())['cluster2']?.length, 2, 'last known endpoints still served');
  await c2.startApiServer();
  const slice = await c2.requestOk('GET', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/helloworld-abc') as { endpoints: unknown[] } & Record<string, unknown>;
  await c2.requestOk('PUT', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/helloworld-abc', { ...slice, endpoints: slice.endpoints.slice(0, 1) });
  await until('resync', async () => ((await shards())['cluster2']?.length === 1 ? true : undefined), 40_000);
  // Every informer of cluster2 (Nodes too) reconnects on its own backoff: healthy once all have.
  await until('cluster2 healthy again', async () => ((await clusterz()).find((c) => c.id === 'cluster2')?.healthy === true ? true : undefined), 40_000);
});

test('deleting the secret removes cluster2\'s endpoints and nothing else', async () => {
  await bed.cluster('cluster1').requestOk('DELETE', '/api/v1/namespaces/istio-system/secrets/istio-remote-secret-cluster2');
  await until('cluster2 gone', async () => ((await shards())['cluster2'] === undefined ? true : undefined));
  const s = await shards();
  assert.deepEqual(s['cluster1']?.map((e) => e.address), ['10.10.0.5']);
  assert.equal((await clusterz()).some((c) => c.id === 'cluster2'), false);
  assert.deepEqual(await disc.json('/debug/networkz'), [], 'cluster2\'s gateway went with it');
});

test('/ready, unknown paths and the path list answer plainly', async () => {
  assert.equal((await disc.get('/ready')).status, 200);
  assert.equal((await disc.get('/debug/nope')).status, 404);
  assert.match((await disc.get('/debug/list')).body, /\/debug\/clusterz/);
});
