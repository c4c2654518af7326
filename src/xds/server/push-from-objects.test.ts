/**
 * The push paths driven by Kubernetes objects through the in-process control plane
 * (src/testing/fake-discovery.ts): two clusters on two networks, the real registries, config
 * watcher, AdsServer and generators, and simulated sidecars. Pushes wait until the test flushes them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';
import { clusterCodec, clusterLoadAssignmentCodec, unpackAny } from '../../proto/codec.ts';
import type { DiscoveryResponse } from '../../proto/types.ts';
import { FakeDiscovery } from '../../testing/fake-discovery.ts';
import { destinationRule, eastWestGateway, endpointSlice, pod, service } from '../../testing/kube-objects.ts';

const HTTP: readonly (readonly [number, string])[] = [[80, 'http']];
const name = (svc: string, subset = '') => `outbound|80|${subset}|${svc}.default.svc.cluster.local`;

/** Service `svc` with one endpoint per `[ip, labels]`, pods named `<svc>-<ip>`. */
function backend(svc: string, vip: string, eps: readonly (readonly [string, Readonly<Record<string, string>>?])[], suffix = 'abcde') {
  return [
    service(svc, 'default', vip, HTTP),
    ...eps.map(([ip, labels]) => pod(`${svc}-${ip}`, 'default', ip, { labels: { app: svc, ...labels } })),
    endpointSlice(svc, 'default', eps.map(([ip]) => ({ ip, pod: `${svc}-${ip}` })), HTTP, suffix),
  ];
}

/** Load assignments in a response: cluster name -> `ip:port` of every endpoint, sorted. */
function assignments(rs: readonly DiscoveryResponse[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rs.filter((x) => x.typeUrl === EDS)) {
    for (const a of r.resources ?? []) {
      const la = unpackAny(clusterLoadAssignmentCodec, a);
      out[la.clusterName ?? ''] = (la.endpoints ?? []).flatMap((l) => l.lbEndpoints ?? [])
        .map((e) => `${e.endpoint?.address?.socketAddress?.address ?? ''}:${String(e.endpoint?.address?.socketAddress?.portValue ?? '')}`).sort();
    }
  }
  return out;
}

const clusterNames = (rs: readonly DiscoveryResponse[]) => rs.filter((r) => r.typeUrl === CDS)
  .flatMap((r) => (r.resources ?? []).map((a) => unpackAny(clusterCodec, a).name ?? '')).filter((n) => n.startsWith('outbound|')).sort();
const types = (rs: readonly DiscoveryResponse[]) => rs.map((r) => (r.typeUrl ?? '').split('.').pop() ?? '');
const pushesSeen = (d: FakeDiscovery) => d.pushes.map((p) => `${p.full ? 'full' : 'eds'} ${[...p.reasons].join('+')} ${[...p.hostnames].join(',')}`);

test('an EndpointSlice change in one service sends nothing to a proxy that watches none of its clusters, and regenerates only its load assignments', async (t) => {
  const d = await FakeDiscovery.start({
    clusters: [
      { id: 'cluster1', network: 'network1', objects: [eastWestGateway('network1', '198.19.128.11'), ...backend('a', '10.96.0.1', [['10.10.0.1']]), ...backend('b', '10.96.0.2', [['10.10.0.2']])] },
      { id: 'cluster2', network: 'network2', objects: [eastWestGateway('network2', '198.19.129.10'), ...backend('a', '10.96.0.1', [['10.20.0.1']]), ...backend('b', '10.96.0.2', [['10.20.0.2']])] },
    ],
  });
  t.after(() => d.close());
  const onlyA = await d.sidecar('11', [[CDS, []], [EDS, [name('a')]]]);
  const b1 = await d.sidecar('12', [[CDS, []], [EDS, [name('a'), name('b')]]]);
  const b2 = await d.sidecar('13', [[EDS, [name('b')]]], { cluster: 'cluster2', network: 'network2', ip: '10.20.1.13' });
  d.clearCalls();

  // b's endpoint in cluster2 moves to a new pod.
  d.apply('cluster2', pod('b-10.20.9.2', 'default', '10.20.9.2', { labels: { app: 'b' } }), endpointSlice('b', 'default', [{ ip: '10.20.9.2', pod: 'b-10.20.9.2' }], HTTP));
  assert.deepEqual(pushesSeen(d), ['eds endpoint b.default.svc.cluster.local'], 'the slice update asks for an EDS push of b only');
  await d.flush();

  const [got1, got2] = [assignments(await d.received(b1)), assignments(await d.received(b2))];
  await d.expectNoResponse(onlyA);
  t.diagnostic(`network1 proxy watching b: ${JSON.stringify(got1)}; network2 proxy: ${JSON.stringify(got2)}; generator calls: ${JSON.stringify(d.calls)}`);
  assert.deepEqual(got1, { [name('b')]: ['10.10.0.2:80', '198.19.129.10:15443'] }, "only b's assignment (not a's, unchanged); network1 reaches cluster2's endpoint through network2's gateway");
  assert.deepEqual(got2, { [name('b')]: ['10.20.9.2:80', '198.19.128.11:15443'] }, "network2 reaches the new pod directly, cluster1's through network1's gateway");
  assert.ok(d.calls.length > 0 && d.calls.every((c) => c === `ClusterLoadAssignment ${name('b')}`), `only b's load assignment was generated: ${JSON.stringify(d.calls)}`);
  assert.ok(d.calls.length <= 2, `at most once per network view: ${JSON.stringify(d.calls)}`);
});

test('a new Service reaches the sidecar as a cluster, then as a load assignment when the sidecar asks for it', async (t) => {
  const d = await FakeDiscovery.start({ clusters: [{ id: 'cluster1', network: 'network1', objects: [...backend('a', '10.96.0.1', [['10.10.0.1']]), ...backend('b', '10.96.0.2', [['10.10.0.2']])] }] });
  t.after(() => d.close());
  const s = await d.sidecar('11', [[CDS, []], [EDS, [name('a'), name('b')]]]);
  d.clearCalls();

  d.apply('cluster1', ...backend('c', '10.96.0.3', [['10.10.0.3']]));
  await d.flush();
  const pushed = await d.received(s);
  t.diagnostic(`after Service c: ${JSON.stringify(types(pushed))}, clusters ${JSON.stringify(clusterNames(pushed))}; pushes ${JSON.stringify(pushesSeen(d))}; calls ${JSON.stringify(d.calls)}`);
  assert.deepEqual(types(pushed), ['Cluster'], "CDS only: a's and b's assignments did not change, and c is not watched yet");
  assert.deepEqual(clusterNames(pushed), [name('a'), name('b'), name('c')]);

  // As Envoy: EDS now names c too (ACKing the last EDS response in the same request).
  d.clearCalls();
  d.resubscribe(s, EDS, [name('a'), name('b'), name('c')]);
  const answered = await d.received(s);
  const eds = assignments(answered);
  t.diagnostic(`answer to the EDS re-subscription: ${JSON.stringify(types(answered))} carrying ${JSON.stringify(eds)}; calls ${JSON.stringify(d.calls)}`);
  assert.deepEqual(eds, { [name('c')]: ['10.10.0.3:80'] }, "only c's load assignment: the sidecar keeps a's and b's (as istiod answers a grown subscription)");
  assert.deepEqual(d.calls, [`ClusterLoadAssignment ${name('c')}`], `only c's load assignment was generated: ${JSON.stringify(d.calls)}`);
});

test('a DestinationRule with subsets adds subset clusters with their endpoints; deleting it removes them', async (t) => {
  const d = await FakeDiscovery.start({
    clusters: [{ id: 'cluster1', network: 'network1', objects: backend('c', '10.96.0.3', [['10.10.0.31', { version: 'v1' }], ['10.10.0.32', { version: 'v2' }]]) }],
  });
  t.after(() => d.close());
  const s = await d.sidecar('11', [[CDS, []], [EDS, [name('c')]]]);

  d.apply('cluster1', destinationRule('c', 'default', 'c', { v1: { version: 'v1' }, v2: { version: 'v2' } }));
  assert.deepEqual(pushesSeen(d), ['full config '], 'a config object asks for a full push');
  await d.flush();
  const added = await d.received(s);
  t.diagnostic(`with the rule: ${JSON.stringify(clusterNames(added))}`);
  assert.deepEqual(clusterNames(added), [name('c'), name('c', 'v1'), name('c', 'v2')].sort());

  d.resubscribe(s, EDS, [name('c'), name('c', 'v1'), name('c', 'v2')]);
  const eds = assignments(await d.received(s));
  t.diagnostic(`subset load assignments: ${JSON.stringify(eds)}`);
  assert.deepEqual(eds[name('c', 'v1')], ['10.10.0.31:80'], 'subset v1 has only the v1 pod');
  assert.deepEqual(eds[name('c', 'v2')], ['10.10.0.32:80'], 'subset v2 has only the v2 pod');

  d.clearCalls();
  d.delete('cluster1', 'DestinationRule', 'default', 'c');
  await d.flush();
  const removed = await d.received(s);
  t.diagnostic(`after deleting the rule: ${JSON.stringify(clusterNames(removed))}`);
  assert.deepEqual(clusterNames(removed), [name('c')], 'the subset clusters are gone');
});
