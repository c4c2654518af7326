/** Locality load balancing: EDS priorities and weights per proxy place, CDS locality weighting, cache keys. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locality } from '../../model/endpoint.ts';
import { hostname } from '../../model/ids.ts';
import type { DestinationRuleSubsets, LocalityLbSetting, TrafficPolicy } from '../../model/mesh-view.ts';
import { parseProxy, type Proxy } from '../../model/proxy.ts';
import { clusterCodec, clusterLoadAssignmentCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { ep, fakeMeshView, gw, roundTrip, svc } from '../../testing/mesh/builders.ts';
import { generate as cds } from './cds.ts';
import { edsGenerator, generate as eds } from './eds.ts';
import { proxyPlace } from './proxy-locality.ts';

const hw = svc({ name: 'helloworld', namespace: 'sample', ports: [[5000, 'HTTP']] });
const sleep = svc({ name: 'sleep', namespace: 'sample', ports: [[80, 'HTTP']] });
const HW = 'helloworld.sample.svc.cluster.local';
const NAME = `outbound|5000||${HW}`;
const loc = (region: string, zone = '', subzone = ''): Locality => ({ region, zone, subzone });
const lb = (s: Partial<LocalityLbSetting>): LocalityLbSetting => ({ distribute: [], failover: [], failoverPriority: [], ...s });
const OD = { consecutive5xxErrors: 3 };
const rule = (p: Partial<TrafficPolicy>): DestinationRuleSubsets => ({ host: hostname(HW), namespace: 'sample', subsets: [], trafficPolicy: { portLevelSettings: [], ...p } });

/** helloworld in four places, network1 only; sleep (the client) on r1/z1 in cluster1 and r2/z1 in cluster2. */
const endpoints = [
  ep({ service: hw, address: '10.1.0.1', locality: loc('r1', 'z1'), network: 'network1', labels: { app: 'hw', version: 'v1' } }),
  ep({ service: hw, address: '10.1.0.2', locality: loc('r1', 'z2'), network: 'network1', labels: { app: 'hw', version: 'v2' } }),
  ep({ service: hw, address: '10.1.0.3', locality: loc('r2', 'z1'), network: 'network1', labels: { app: 'hw', version: 'v1' } }),
  ep({ service: hw, address: '10.1.0.4', locality: loc('r3', 'z1'), network: 'network1', labels: { app: 'hw', version: 'v1' } }),
  ep({ service: sleep, address: '10.1.0.9', locality: loc('r1', 'z1'), network: 'network1', pod: 'sleep-a' }),
  ep({ service: sleep, address: '10.2.0.9', locality: loc('r2', 'z1'), network: 'network1', cluster: 'cluster2', pod: 'sleep-b' }),
];
const view = (...drs: DestinationRuleSubsets[]) => fakeMeshView({ services: [hw, sleep], endpoints, destinationRules: drs });

function client(pod: string, ip: string, cluster = 'cluster1', extra: Record<string, unknown> = {}, locality?: Locality): Proxy {
  return parseProxy(`sidecar~${ip}~${pod}.sample~sample.svc.cluster.local`, { NAMESPACE: 'sample', CLUSTER_ID: cluster, NETWORK: 'network1', LABELS: { app: 'sleep' }, ...extra }, locality);
}
const A = client('sleep-a', '10.1.0.9');
const B = client('sleep-b', '10.2.0.9', 'cluster2');

/** `address -> priority` and `address -> group weight` of the assignment for a proxy. */
function assignment(p: Proxy, v: ReturnType<typeof view>, name = NAME): { priority: Record<string, number>; weight: Record<string, number> } {
  const [cla] = roundTrip(clusterLoadAssignmentCodec, eds(p, v, [name]));
  const priority: Record<string, number> = {};
  const weight: Record<string, number> = {};
  for (const g of cla?.endpoints ?? []) {
    for (const e of g.lbEndpoints ?? []) {
      const a = e.endpoint?.address?.socketAddress?.address ?? '';
      priority[a] = g.priority ?? 0;
      weight[a] = g.loadBalancingWeight?.value ?? 0;
    }
  }
  return { priority, weight };
}

test('outlier detection alone turns on failover by locality (the mesh default), relative to the proxy\'s own place', () => {
  const plain = assignment(A, view(rule({ loadBalancer: 'ROUND_ROBIN' })));
  console.log('no outlier detection:', JSON.stringify(plain.priority));
  assert.deepEqual(plain.priority, { '10.1.0.1': 0, '10.1.0.2': 0, '10.1.0.3': 0, '10.1.0.4': 0 }, 'no priorities without outlier detection');
  const v = view(rule({ outlierDetection: OD }));
  const a = assignment(A, v);
  const b = assignment(B, v);
  console.log('proxy r1/z1:', JSON.stringify(a.priority), 'proxy r2/z1:', JSON.stringify(b.priority));
  // r1/z1: same zone 0, same region 2, other regions 3 -> renumbered 0, 1, 2.
  assert.deepEqual(a.priority, { '10.1.0.1': 0, '10.1.0.2': 1, '10.1.0.3': 2, '10.1.0.4': 2 });
  assert.deepEqual(b.priority, { '10.1.0.3': 0, '10.1.0.1': 1, '10.1.0.2': 1, '10.1.0.4': 1 });
  const off = assignment(A, view(rule({ outlierDetection: OD, localityLbSetting: lb({ enabled: false }) })));
  assert.deepEqual(off.priority, { '10.1.0.1': 0, '10.1.0.2': 0, '10.1.0.3': 0, '10.1.0.4': 0 }, 'enabled: false turns it off');
});

test('failover sends a region\'s traffic to its named region before any other', () => {
  const v = view(rule({ outlierDetection: OD, localityLbSetting: lb({ failover: [{ from: 'r1', to: 'r3' }] }) }));
  const a = assignment(A, v);
  console.log('failover r1->r3, proxy r1/z1:', JSON.stringify(a.priority));
  assert.deepEqual(a.priority, { '10.1.0.1': 0, '10.1.0.2': 1, '10.1.0.4': 2, '10.1.0.3': 3 });
  assert.deepEqual(assignment(B, v).priority, { '10.1.0.3': 0, '10.1.0.1': 1, '10.1.0.2': 1, '10.1.0.4': 1 }, 'a proxy in another region is unaffected');
});

test('failoverPriority splits groups by the labels an endpoint shares with the proxy; a gateway counts by cluster and network', () => {
  const multi = fakeMeshView({
    services: [hw, sleep], gateways: [gw('network2', '198.51.100.2', 'cluster2')],
    destinationRules: [rule({ outlierDetection: OD, localityLbSetting: lb({ failoverPriority: ['topology.istio.io/network', 'version=v1', 'topology.kubernetes.io/zone'] }) })],
    endpoints: [
      ep({ service: hw, address: '10.1.0.1', locality: loc('r1', 'z1'), network: 'network1', labels: { version: 'v1', 'topology.istio.io/network': 'network1', 'topology.kubernetes.io/zone': 'z1' } }),
      ep({ service: hw, address: '10.1.0.5', locality: loc('r1', 'z1'), network: 'network1', labels: { version: 'v1', 'topology.istio.io/network': 'network1', 'topology.kubernetes.io/zone': 'z2' } }),
      ep({ service: hw, address: '10.1.0.2', locality: loc('r1', 'z1'), network: 'network1', labels: { version: 'v2', 'topology.istio.io/network': 'network1', 'topology.kubernetes.io/zone': 'z1' } }),
      ep({ service: hw, address: '10.2.0.1', locality: loc('r2', 'z1'), network: 'network2', cluster: 'cluster2', labels: { version: 'v1', 'topology.istio.io/network': 'network2' } }),
      ep({ service: sleep, address: '10.1.0.9', locality: loc('r1', 'z1'), network: 'network1', pod: 'sleep-a', labels: { 'topology.istio.io/network': 'network1', 'topology.kubernetes.io/zone': 'z1' } }),
    ],
  });
  const [cla] = roundTrip(clusterLoadAssignmentCodec, eds(A, multi, [NAME]));
  const groups = (cla?.endpoints ?? []).map((g) => ({ p: g.priority ?? 0, w: g.loadBalancingWeight?.value, eps: (g.lbEndpoints ?? []).map((e) => e.endpoint?.address?.socketAddress?.address) }));
  console.log('failoverPriority groups:', JSON.stringify(groups));
  // All labels match 0; zone differs 1; version differs 2; the gateway (other network, no version label) 3+2=5; renumbered.
  assert.deepEqual(groups.sort((x, y) => x.p - y.p), [
    { p: 0, w: 1, eps: ['10.1.0.1'] },
    { p: 1, w: 1, eps: ['10.1.0.5'] },
    { p: 2, w: 1, eps: ['10.1.0.2'] },
    { p: 3, w: 1, eps: ['198.51.100.2'] },
  ]);
});

test('distribute weighs the named localities for proxies in `from` and drops the rest; CDS weighs by locality', () => {
  const v = view(rule({ localityLbSetting: lb({ distribute: [{ from: 'r1/z1/*', to: [{ locality: 'r1/*', weight: 80 }, { locality: 'r2/z1', weight: 20 }] }] }) }));
  const a = assignment(A, v);
  console.log('distribute from r1/z1, group weights:', JSON.stringify(a.weight));
  // r1's two groups (weight 1 each) share 80 -> 40 each; r2/z1 gets 20; r3 is left out. No failover without outlier detection.
  assert.deepEqual(a.weight, { '10.1.0.1': 40, '10.1.0.2': 40, '10.1.0.3': 20 });
  assert.deepEqual(a.priority, { '10.1.0.1': 0, '10.1.0.2': 0, '10.1.0.3': 0 });
  assert.deepEqual(assignment(B, v).weight, { '10.1.0.1': 1, '10.1.0.2': 1, '10.1.0.3': 1, '10.1.0.4': 1 }, 'a proxy outside `from` keeps the plain weights');
  const cluster = (vv: ReturnType<typeof view>): T.Cluster | undefined => roundTrip(clusterCodec, cds(A, vv, [NAME]))[0];
  assert.deepEqual(cluster(v)?.commonLbConfig?.localityWeightedLbConfig, {});
  assert.equal(cluster(view(rule({ outlierDetection: OD })))?.commonLbConfig?.localityWeightedLbConfig, undefined, 'default failover alone does not weigh localities (as istiod)');
  assert.deepEqual(cluster(view(rule({ outlierDetection: OD, localityLbSetting: lb({ failover: [{ from: 'r1', to: 'r2' }] }) })))?.commonLbConfig?.localityWeightedLbConfig, {});
  assert.equal(cluster(view(rule({ localityLbSetting: lb({ failover: [{ from: 'r1', to: 'r2' }] }) })))?.commonLbConfig?.localityWeightedLbConfig, undefined, 'failover without outlier detection: nothing');
});

test('a subset\'s loadBalancer section replaces the inherited one whole, locality setting included', () => {
  const dr: DestinationRuleSubsets = {
    host: hostname(HW), namespace: 'sample',
    trafficPolicy: { portLevelSettings: [], loadBalancer: 'ROUND_ROBIN', localityLbSetting: lb({ enabled: false }), outlierDetection: OD },
    subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { portLevelSettings: [], localityLbSetting: null } }],
  };
  const v = fakeMeshView({ services: [hw, sleep], endpoints, destinationRules: [dr] });
  assert.deepEqual(assignment(A, v).priority, { '10.1.0.1': 0, '10.1.0.2': 0, '10.1.0.3': 0, '10.1.0.4': 0 }, 'top level: off');
  assert.deepEqual(assignment(A, v, `outbound|5000|v1|${HW}`).priority, { '10.1.0.1': 0, '10.1.0.3': 1, '10.1.0.4': 1 }, 'v1: the mesh default again');
  const c = roundTrip(clusterCodec, cds(A, v, [`outbound|5000|v1|${HW}`]))[0];
  assert.equal(c?.lbPolicy, 'LEAST_REQUEST', 'and the inherited ROUND_ROBIN is gone too');
});

test('the proxy\'s place: its own endpoint first, then metadata labels, then the Node message; EDS caching follows it', () => {
  const v = view(rule({ outlierDetection: OD }));
  assert.deepEqual(proxyPlace(A, v).locality, loc('r1', 'z1'));
  assert.equal(proxyPlace(A, v).labels['topology.istio.io/cluster'], 'cluster1');
  const byIp = client('renamed', '10.1.0.9', 'cluster1', {}, loc('elsewhere'));
  assert.deepEqual(proxyPlace(byIp, v).locality, loc('r1', 'z1'), 'found by IP; the registry wins over the Node message');
  const labelled = client('nopod', '10.9.9.9', 'cluster1', { LABELS: { 'topology.kubernetes.io/region': 'r2', 'topology.kubernetes.io/zone': 'z1' } }, loc('r3'));
  assert.deepEqual(proxyPlace(labelled, v).locality, loc('r2', 'z1'));
  const nodeOnly = client('nopod', '10.9.9.9', 'cluster1', { NODE_NAME: 'n1' }, loc('r3', 'z1', 's1'));
  assert.deepEqual(proxyPlace(nodeOnly, v).locality, loc('r3', 'z1', 's1'));
  assert.equal(proxyPlace(nodeOnly, v).labels['kubernetes.io/hostname'], 'n1');
  assert.deepEqual(assignment(nodeOnly, v).priority, { '10.1.0.4': 0, '10.1.0.1': 1, '10.1.0.2': 1, '10.1.0.3': 1 });
  const sameZone = client('other', '10.9.9.8', 'cluster1', { LABELS: { 'topology.kubernetes.io/region': 'r1', 'topology.kubernetes.io/zone': 'z1' } });
  assert.equal(edsGenerator.cacheKey(A, v), edsGenerator.cacheKey(sameZone, v), 'proxies in one locality share cached assignments');
  assert.notEqual(edsGenerator.cacheKey(A, v), edsGenerator.cacheKey(B, v));
  const noRule = view();
  assert.equal(edsGenerator.cacheKey(A, noRule), edsGenerator.cacheKey(B, noRule), 'without a locality-balanced destination the place does not matter');
});

test('proxyless gRPC: a gateway shared by two failover levels stays once, in the preferred one, with contiguous priorities', () => {
  const v = fakeMeshView({
    services: [hw], gateways: [gw('network2', '198.51.100.2', 'cluster2')],
    destinationRules: [rule({ outlierDetection: OD, localityLbSetting: lb({ failover: [{ from: 'r1', to: 'r3' }] }) })],
    endpoints: [
      ep({ service: hw, address: '10.1.0.1', locality: loc('r1', 'z1'), network: 'network1' }),
      ep({ service: hw, address: '10.2.0.1', locality: loc('r2', 'z1'), network: 'network2', cluster: 'cluster2' }),
      ep({ service: hw, address: '10.2.0.2', locality: loc('r3', 'z1'), network: 'network2', cluster: 'cluster2' }),
    ],
  });
  const grpc = parseProxy('sidecar~10.1.0.50~grpc-client.sample~sample.svc.cluster.local', { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', NETWORK: 'network1', GENERATOR: 'grpc' }, loc('r1', 'z1'));
  const envoy = client('grpc-client', '10.1.0.50', 'cluster1', {}, loc('r1', 'z1'));
  const groups = (p: Proxy) => (roundTrip(clusterLoadAssignmentCodec, eds(p, v, [NAME]))[0]?.endpoints ?? [])
    .map((g) => `${g.locality?.region ?? ''} p${g.priority ?? 0} ${(g.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address ?? ''}x${e.loadBalancingWeight?.value ?? 1}`).join(',')}`);
  console.log('Envoy:', JSON.stringify(groups(envoy)), 'proxyless gRPC:', JSON.stringify(groups(grpc)));
  assert.deepEqual(groups(envoy), ['r1 p0 10.1.0.1x1', 'r2 p2 198.51.100.2x1', 'r3 p1 198.51.100.2x1'], 'Envoy: r3 before r2, the gateway in both');
  assert.deepEqual(groups(grpc), ['r1 p0 10.1.0.1x1', 'r3 p1 198.51.100.2x2'], 'gRPC: the gateway once, at r3\'s priority, carrying both shares');
});
