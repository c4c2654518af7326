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
