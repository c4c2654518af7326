/**
 * The gateway's routing table, from the reference (docs/istio-compat.md §3.4): SNI
 * `outbound_.<port>_.<subset>_.<host>` names the SNI-DNAT cluster of the same name; the bare-host
 * alias (our deviation for grpc-js, which sends the target host as SNI) exists only when the port
 * is unambiguous.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sniRoutes, upstreamsOf } from './eastwest-gateway.ts';

const HW = 'helloworld.sample.svc.cluster.local';
const RV = 'reviews.default.svc.cluster.local';

test('SNI routes from outbound clusters: DNS-SRV names, subsets, SNI-DNAT clusters as is; inbound and specials ignored', () => {
  const r = sniRoutes([
    `outbound|5000||${HW}`, `outbound|9080||${RV}`, `outbound|9090||${RV}`, `outbound|9080|v1|${RV}`,
    'outbound_.8080_._.foo.ns.svc.cluster.local', 'inbound|8080||', 'BlackHoleCluster', 'PassthroughCluster',
  ]);
  assert.deepEqual([...r.exact.keys()].sort(), [
    'outbound_.5000_._.helloworld.sample.svc.cluster.local',
    'outbound_.8080_._.foo.ns.svc.cluster.local',
    'outbound_.9080_._.reviews.default.svc.cluster.local',
    'outbound_.9080_.v1_.reviews.default.svc.cluster.local',
    'outbound_.9090_._.reviews.default.svc.cluster.local',
  ]);
  for (const [k, v] of r.exact) assert.equal(k, v, 'the cluster is named like the SNI');
  assert.deepEqual([...r.bareHost], [
    [HW, `outbound_.5000_._.${HW}`],
    ['foo.ns.svc.cluster.local', 'outbound_.8080_._.foo.ns.svc.cluster.local'],
  ], 'reviews has two ports: a bare host would be ambiguous');
});

test('upstreams: IP socket addresses of every locality, unhealthy and draining skipped', () => {
  assert.deepEqual(upstreamsOf({
    clusterName: 'x',
    endpoints: [
      { lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.20.0.5', portValue: 5000 } } } }, { endpoint: { address: { socketAddress: { address: '10.20.0.6', portValue: 5000 } } }, healthStatus: 'UNHEALTHY' }] },
      { lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.20.0.7', portValue: 5001 } } }, healthStatus: 'HEALTHY' }, { endpoint: { address: { socketAddress: { address: '10.20.0.8', portValue: 5000 } } }, healthStatus: 'DRAINING' }] },
    ],
  }), [{ address: '10.20.0.5', port: 5000 }, { address: '10.20.0.7', port: 5001 }]);
  assert.deepEqual(upstreamsOf({ clusterName: 'empty' }), []);
});
