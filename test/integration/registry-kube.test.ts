/**
 * Two real API servers from the test bed, one KubeRegistry each, one aggregate: networks from the
 * system namespace label, a LoadBalancer gateway Service found through its status, and EndpointSlice
 * and namespace changes reaching the shards through the watches.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { clusterId, serviceHostname, type ClusterId } from '../../src/model/ids.ts';
import { ShardStore } from '../../src/registry/shards.ts';
import { KubeRegistry } from '../../src/registry/kube/controller.ts';
import { poller } from '../../src/testing/wait.ts';
import { CaptureLogger } from '../../src/testing/capture-logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-registry-'));
const c1 = clusterId('cluster1');
const c2 = clusterId('cluster2');
const host = serviceHostname('hello', 'sample');
let bed: Testbed;
const registries: KubeRegistry[] = [];

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
});

after(async () => {
  await Promise.all(registries.map((r) => r.stop()));
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

const until = poller({ timeoutMs: 20_000, intervalMs: 25 });

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

async function labelSystemNamespace(c: TestbedCluster, network: string): Promise<void> {
  await c.ensureNamespace('istio-system');
  const ns = await c.requestOk('GET', '/api/v1/namespaces/istio-system') as Obj;
  ns.metadata['labels'] = { ...(ns.metadata['labels'] as Record<string, string> | undefined), 'topology.istio.io/network': network };
  await c.requestOk('PUT', '/api/v1/namespaces/istio-system', ns);
}

async function createPod(c: TestbedCluster, name: string, ip: string): Promise<void> {
  await c.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: 'hello', 'security.istio.io/tlsMode': 'istio' } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/hello:1' }] },
  });
  const pod = await c.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as Obj;
  pod['status'] = { ...(pod['status'] as Record<string, unknown> | undefined), phase: 'Running', podIP: ip, podIPs: [{ ip }] };
  await c.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, pod);
}

function sliceEndpoints(pods: [name: string, ip: string][]): unknown[] {
  return pods.map(([name, ip]) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name, namespace: 'sample' } }));
}

async function seed(c: TestbedCluster, ip: string): Promise<void> {
  await c.ensureNamespace('sample');
  // No selector: nothing but this test writes the slices.
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'hello' }, spec: { ports: [{ name: 'http', port: 5000, protocol: 'TCP' }] },
  });
  await createPod(c, 'hello-0', ip);
  await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'hello-1', labels: { 'kubernetes.io/service-name': 'hello' } },
    addressType: 'IPv4', endpoints: sliceEndpoints([['hello-0', ip]]), ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
  });
}

async function createGateway(c: TestbedCluster, ingressIp: string): Promise<void> {
  await c.requestOk('POST', '/api/v1/namespaces/istio-system/services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'istio-eastwestgateway', labels: { istio: 'eastwestgateway', 'topology.istio.io/network': 'network2' } },
    spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'status-port', port: 15021 }, { name: 'tls', port: 15443 }] },
  });
  const svc = await c.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as Obj;
  svc['status'] = { loadBalancer: { ingress: [{ ip: ingressIp }] } };
  await c.requestOk('PUT', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway/status', svc);
}

const inShard = (store: ShardStore, cluster: ClusterId) => store.shardsFor(host).find((s) => s.cluster === cluster)?.endpoints ?? [];

test('two clusters aggregate: networks, gateway discovery, and slice/namespace changes through the watches', async () => {
  const cl1 = bed.cluster('cluster1');
  const cl2 = bed.cluster('cluster2');
  await labelSystemNamespace(cl2, 'network2');
  await seed(cl1, '10.10.1.5');
  await seed(cl2, '10.20.1.5');
  await createGateway(cl2, '172.18.0.20');

  const store = new ShardStore();
  store.addCluster(c1);
  const log = new CaptureLogger();
  const warnings = log.warnings;
  for (const [id, c] of [[c1, cl1], [c2, cl2]] as const) {
    const r = new KubeRegistry({ cluster: id, source: KubeClient.fromFile(c.kubeconfigPath), sink: store, log });
    registries.push(r);
    r.start();
  }
  await Promise.race([
    Promise.all(registries.map((r) => r.synced)),
    sleep(30_000).then(() => { throw new Error('registries did not sync within 30 s'); }),
  ]);
  for (const r of registries) {
    const s = r.status();
    assert.equal(s.synced, true);
    assert.equal(s.healthy, true, JSON.stringify(s.informers));
  }

  // The Service is merged across clusters, one VIP per cluster, cluster1 first.
  const svc = store.service(host);
  assert.ok(svc, 'service merged');
  assert.deepEqual([...svc.clusterVIPs.keys()], [c1, c2]);
  for (const vips of svc.clusterVIPs.values()) assert.match(vips[0] ?? '', /^\d+\.\d+\.\d+\.\d+$/);

  // cluster2's pod has no network label: it takes istio-system's network2; cluster1 has none.
  const [e2] = inShard(store, c2);
  assert.equal(e2?.address, '10.20.1.5');
  assert.equal(e2.network, 'network2');
  assert.equal(e2.tlsMode, 'istio');
  assert.equal(e2.serviceAccount, 'default');
  assert.deepEqual(e2.pod, { name: 'hello-0', namespace: 'sample' });
  assert.equal(e2.labels['topology.istio.io/cluster'], 'cluster2');
  assert.equal(inShard(store, c1)[0]?.network, '');

  // The gateway Service, with its LoadBalancer IP written through the status subresource.
  assert.deepEqual(store.gateways().map((g) => ({ network: g.network, cluster: g.cluster, address: g.address, port: g.port })),
    [{ network: 'network2', cluster: 'cluster2', address: '172.18.0.20', port: 15443 }]);

  // A new pod and an EndpointSlice update in cluster2 reach only cluster2's shard.
  const c1Shard = inShard(store, c1);
  await createPod(cl2, 'hello-1', '10.20.1.6');
  const slice = await cl2.requestOk('GET', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/hello-1') as Obj;
  slice['endpoints'] = sliceEndpoints([['hello-0', '10.20.1.5'], ['hello-1', '10.20.1.6']]);
  await cl2.requestOk('PUT', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/hello-1', slice);
  const updated = await until('the slice update in the shards', () => {
    const eps = inShard(store, c2);
    return eps.length === 2 ? eps : undefined;
  });
  assert.deepEqual(updated.map((e) => [e.address, e.network, e.pod?.name]), [['10.20.1.5', 'network2', 'hello-0'], ['10.20.1.6', 'network2', 'hello-1']]);
  assert.equal(inShard(store, c1), c1Shard, "cluster1's shard untouched");

  // Relabelling cluster2's system namespace moves all of its endpoints.
  await labelSystemNamespace(cl2, 'network3');
  await until('endpoints re-resolved to network3', () => (inShard(store, c2).every((e) => e.network === 'network3') ? true : undefined));
  assert.deepEqual(warnings, []);
});

test('Nodes: endpoints take region/zone/subzone from their pod\'s Node, and follow a relabelled Node', async (t) => {
  const cl1 = bed.cluster('cluster1');
  const located = serviceHostname('located', 'sample');
  await cl1.ensureNamespace('sample');
  // API-server-only bed: Node objects without kubelets, as far as the registry can tell, real Nodes.
  const node = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  await cl1.requestOk('POST', '/api/v1/nodes', node('node-a', { 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1', 'kubernetes.io/hostname': 'node-a' }));
  await cl1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'located' }, spec: { ports: [{ name: 'http', port: 5000, protocol: 'TCP' }] },
  });
  await cl1.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'located-0', labels: { app: 'located' } },
    spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'example.invalid/located:1' }] },
  });
  const pod = await cl1.requestOk('GET', '/api/v1/namespaces/sample/pods/located-0') as Obj;
  pod['status'] = { phase: 'Running', podIP: '10.10.7.1', podIPs: [{ ip: '10.10.7.1' }] };
  await cl1.requestOk('PUT', '/api/v1/namespaces/sample/pods/located-0/status', pod);
  await cl1.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'located-1', labels: { 'kubernetes.io/service-name': 'located' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.10.7.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'located-0', namespace: 'sample' } }],
    ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
  });

  const pushes: string[] = [];
  const warnings = new CaptureLogger();
  const store = new ShardStore({ serviceChanged: () => undefined, endpointsChanged: (h) => { pushes.push(h); }, networksChanged: () => undefined });
  const r = new KubeRegistry({ cluster: c1, source: KubeClient.fromFile(cl1.kubeconfigPath), sink: store, log: warnings });
  registries.push(r);
  r.start();
  await Promise.race([r.synced, sleep(30_000).then(() => { throw new Error('registry did not sync within 30 s'); })]);
  assert.equal(r.status().informers.nodes.healthy, true);
  const locality = () => store.shardsFor(located).find((s) => s.cluster === c1)?.endpoints.map((e) => `${e.locality.region}/${e.locality.zone}/${e.locality.subzone}`) ?? [];
  assert.deepEqual(locality(), ['region1/zone1/'], 'region and zone from the Node (the slice carries no zone)');

  // Another label of the Node: no endpoint push. Then its zone changes: one push, new locality.
  const relabel = async (labels: Record<string, string>) => {
    const n = await cl1.requestOk('GET', '/api/v1/nodes/node-a') as Obj;
    n.metadata['labels'] = labels;
    await cl1.requestOk('PUT', '/api/v1/nodes/node-a', n);
  };
  pushes.length = 0;
  await relabel({ 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1', 'kubernetes.io/hostname': 'node-a', team: 'blue' });
  const t0 = performance.now();
  await relabel({ 'topology.kubernetes.io/region': 'region2', 'topology.kubernetes.io/zone': 'zone3', 'topology.istio.io/subzone': 'rack7' });
  await until('the relabelled Node in the endpoints', () => (locality()[0] === 'region2/zone3/rack7' ? true : undefined));
  t.diagnostic(`Node relabel reached the endpoints in ${(performance.now() - t0).toFixed(0)} ms; endpoint pushes for ${located}: ${pushes.filter((h) => h === located).length}`);
  assert.deepEqual(pushes.filter((h) => h === located), [located], 'one push, for the relabel that changed the locality');
  assert.deepEqual(warnings.warnings, [], 'the registry warned about nothing');
});
