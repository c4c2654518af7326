/** EDS generator: names, subsets, SNI-DNAT names, network views. Expectations from docs/istio-compat.md §3.4/docs/istio-compat.md §9. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterLoadAssignmentCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { generate, mergeDuplicateAddresses } from './eds.ts';
import { meshView } from '../../testing/mesh/fixtures.ts';
import { proxy, roundTrip } from '../../testing/mesh/builders.ts';

const HW = 'helloworld.sample.svc.cluster.local';

function addrs(cla: T.ClusterLoadAssignment | undefined): string[] {
  return (cla?.endpoints ?? []).flatMap((g) => (g.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address}:${e.endpoint?.address?.socketAddress?.portValue}=${e.loadBalancingWeight?.value}`));
}

const cases: { name: string; proxy: ReturnType<typeof proxy>; cluster: string; want: string[] }[] = [
  {
    // locals 2 each (lcm 2); network2: 3x2 -> gwB 6; network3: 2/2 -> 1 each (docs/istio-compat.md §9.3).
    name: 'sidecar in network1, whole service',
    proxy: proxy({ network: 'network1' }),
    cluster: `outbound|5000||${HW}`,
    want: ['10.1.0.1:5000=2', '10.1.0.2:5000=2', '198.51.100.2:15443=6', '203.0.113.31:15443=1', '203.0.113.32:15443=1'],
  },
  {
    // subset v1: local 10.1.0.1, network2 10.2.0.1 (2 -> gwB), network3 10.3.0.1 (2 / 2).
    name: 'sidecar in network1, subset v1',
    proxy: proxy({ network: 'network1' }),
    cluster: `outbound|5000|v1|${HW}`,
    want: ['10.1.0.1:5000=2', '198.51.100.2:15443=2', '203.0.113.31:15443=1', '203.0.113.32:15443=1'],
  },
  {
    // The e/w gateway of network2 (REQUESTED_NETWORK_VIEW=network2) sees only network2 pods (docs/istio-compat.md §9.2).
    name: 'east-west gateway of network2, SNI-DNAT name',
    proxy: proxy({ type: 'router', network: 'network2', networkView: 'network2', cluster: 'cluster2', labels: { istio: 'eastwestgateway' } }),
    cluster: `outbound_.5000_._.${HW}`,
    want: ['10.2.0.1:5000=2', '10.2.0.2:5000=2', '10.2.0.3:5000=2'],
  },
  {
    name: 'east-west gateway of network2, SNI-DNAT subset v2',
    proxy: proxy({ type: 'router', network: 'network2', networkView: 'network2', cluster: 'cluster2' }),
    cluster: `outbound_.5000_.v2_.${HW}`,
    want: ['10.2.0.2:5000=2', '10.2.0.3:5000=2'],
  },
  {
    // Plaintext (tlsMode disabled) mysql: the network2 replica cannot be reached through a gateway.
    name: 'plaintext endpoints on another network are dropped',
    proxy: proxy({ network: 'network1' }),
    cluster: 'outbound|3306||mysql.db.svc.cluster.local',
    want: ['10.1.0.9:3306=2'],
  },
  {
    name: 'SNI-DNAT cluster of a plaintext service is empty',
    proxy: proxy({ type: 'router', network: 'network1', networkView: 'network1' }),
    cluster: 'outbound_.3306_._.mysql.db.svc.cluster.local',
    want: [],
  },
  {
    name: 'target port comes from the endpoint',
    proxy: proxy({ network: 'network1' }),
    cluster: 'outbound|7070||echo.sample.svc.cluster.local',
    want: ['10.1.0.7:17070=2'],
  },
  { name: 'unknown service: empty assignment', proxy: proxy(), cluster: 'outbound|80||nope.default.svc.cluster.local', want: [] },
  { name: 'unknown subset: empty assignment', proxy: proxy(), cluster: `outbound|5000|v9|${HW}`, want: [] },
];

for (const c of cases) {
  test(`eds: ${c.name}`, () => {
    const got = generate(c.proxy, meshView(), [c.cluster]);
    assert.equal(got.length, 1);
    assert.equal(got[0]?.name, c.cluster);
    assert.equal(got[0].resource.clusterName, c.cluster);
    assert.deepEqual(addrs(got[0].resource), c.want);
    const [decoded] = roundTrip(clusterLoadAssignmentCodec, got);
    assert.deepEqual(addrs(decoded), c.want);
  });
}

test('eds: names of other shapes and inbound clusters are not answered; duplicates once', () => {
  const got = generate(proxy(), meshView(), ['inbound|5000||', 'BlackHoleCluster', 'garbage', `outbound|5000||${HW}`, `outbound|5000||${HW}`]);
  assert.deepEqual(got.map((r) => r.name), [`outbound|5000||${HW}`]);
});

test('eds: endpoint metadata carries the workload string with the cluster id', () => {
  const [r] = generate(proxy({ network: 'network1' }), meshView(), [`outbound|5000|v1|${HW}`]);
  const local = r?.resource.endpoints?.[0]?.lbEndpoints?.[0];
  assert.deepEqual(local?.metadata?.filterMetadata?.['istio'], { fields: { workload: { stringValue: 'hw-v1-a;sample;helloworld;v1;cluster1' } } });
  assert.deepEqual(local.metadata.filterMetadata['envoy.transport_socket_match'], { fields: { tlsMode: { stringValue: 'istio' } } });
});

test('eds: wildcard answers every outbound and SNI-DNAT name', () => {
  const names = generate(proxy(), meshView(), 'wildcard').map((r) => r.name);
  for (const n of [`outbound|5000||${HW}`, `outbound|5000|v1|${HW}`, `outbound_.5000_._.${HW}`, `outbound_.5000_.v2_.${HW}`]) assert.ok(names.includes(n), n);
  assert.ok(!names.some((n) => n.startsWith('outbound_.53_.')), 'no SNI-DNAT for UDP');
});

test('mergeDuplicateAddresses: one address per assignment, shares preserved', () => {
  const lb = (a: string, w: number): T.LbEndpoint => ({ endpoint: { address: { socketAddress: { address: a, portValue: 15443 } } }, loadBalancingWeight: { value: w } });
  const merged = mergeDuplicateAddresses([
    { locality: { zone: 'a' }, lbEndpoints: [lb('10.0.0.1', 2), lb('198.51.100.2', 4)], loadBalancingWeight: { value: 6 } },
    { locality: { zone: 'b' }, lbEndpoints: [lb('198.51.100.2', 2)], loadBalancingWeight: { value: 2 } },
  ]);
  assert.equal(merged.length, 1);
  assert.deepEqual(merged[0]?.lbEndpoints?.map((e) => e.loadBalancingWeight?.value), [2, 6]);
  assert.equal(merged[0].loadBalancingWeight?.value, 8);
});

test('mergeDuplicateAddresses: a locality split horizon left empty stays empty and weightless (as istiod sends it)', () => {
  const lb = (a: string): T.LbEndpoint => ({ endpoint: { address: { socketAddress: { address: a, portValue: 5000 } } }, loadBalancingWeight: { value: 1 } });
  const merged = mergeDuplicateAddresses([
    { locality: { zone: 'a' }, lbEndpoints: [lb('10.0.0.1')], loadBalancingWeight: { value: 1 } },
    { locality: { zone: 'b' } },
  ]);
  assert.deepEqual(merged.map((g) => [g.locality?.zone, g.lbEndpoints?.length ?? 0, g.loadBalancingWeight?.value]), [['a', 1, 1], ['b', 0, undefined]]);
});
