import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anyCodec, clientConfigCodec, encodeAnyRaw } from '../proto/codec.ts';
import type { DiscoveryResponse } from '../proto/types.ts';
import { timestampFromDate } from '../proto/wkt.ts';
import { parseControlPlane } from '../xds/client/control-plane.ts';
import { CLIENT_CONFIG_TYPE_URL, mergeEmpty, mergeFirst, mergeSyncz, scanClientConfig, type ReplicaAnswer } from './merge.ts';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const opts = { attributeReplicas: false, fallbackInfo: { version: 'x' } };

function syncz(replica: string, proxies: [string, number?][]): DiscoveryResponse {
  return {
    typeUrl: 'istio.io/debug/syncz',
    controlPlane: { identifier: JSON.stringify({ Component: 'istiod', ID: replica, Info: { version: `v-${replica}` } }) },
    resources: proxies.map(([id, at]) => anyCodec.decode(encodeAnyRaw(CLIENT_CONFIG_TYPE_URL, clientConfigCodec.encode({
      node: { id }, genericXdsConfigs: [{ typeUrl: CDS, configStatus: 'SYNCED', ...(at === undefined ? {} : { lastUpdated: timestampFromDate(new Date(at)) }) }],
    })))),
  };
}
const ok = (name: string, response: DiscoveryResponse): ReplicaAnswer => ({ replica: { name, address: `${name}:15012` }, response });
const nodeIds = (m: { resources: readonly { value?: Uint8Array }[] }) => m.resources.map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array(0)).node?.id);

test('mergeSyncz: each proxy once, freshest last_updated wins, sorted by node id', () => {
  const cases: { answers: ReplicaAnswer[]; ids: string[]; counts: number[] }[] = [
    { answers: [ok('a', syncz('a', [['p2.ns', 10], ['p1.ns', 10]])), ok('b', syncz('b', [['p3.ns', 10]]))], ids: ['p1.ns', 'p2.ns', 'p3.ns'], counts: [2, 1] },
    { answers: [ok('a', syncz('a', [['p1.ns', 10]])), ok('b', syncz('b', [['p1.ns', 20]]))], ids: ['p1.ns'], counts: [0, 1] },
    { answers: [ok('a', syncz('a', [['p1.ns', 30]])), ok('b', syncz('b', [['p1.ns', 20]]))], ids: ['p1.ns'], counts: [1, 0] },
    { answers: [ok('a', syncz('a', [['p1.ns', 20]])), ok('b', syncz('b', [['p1.ns', 20]]))], ids: ['p1.ns'], counts: [1, 0] },
    { answers: [ok('a', syncz('a', [['p1.ns']])), ok('b', syncz('b', [['p1.ns', 5]]))], ids: ['p1.ns'], counts: [0, 1] },
    { answers: [{ replica: { name: 'a', address: 'a:1' }, error: 'boom' }, ok('b', syncz('b', [['p1.ns', 5]]))], ids: ['p1.ns'], counts: [0, 1] },
  ];
  for (const c of cases) {
    const m = mergeSyncz(c.answers, opts);
    assert.deepEqual(nodeIds(m), c.ids);
    assert.deepEqual(m.controlPlane.Replicas?.map((r) => r.Count ?? 0), c.counts);
    assert.equal(m.controlPlane.ID, '<external>');
  }
});

test('mergeSyncz: control plane JSON istioctl reads, plus replicas, errors and attribution', () => {
  const answers: ReplicaAnswer[] = [ok('pod-a', syncz('istiod-a', [['p1.ns', 1]])), ok('pod-b', syncz('istiod-b', [['p2.ns', 1]])), { replica: { name: 'pod-c', address: '10.0.0.3:15012' }, error: 'deadline exceeded' }];
  const plain = mergeSyncz(answers, opts);
  assert.deepEqual({ ...plain.controlPlane, Replicas: undefined }, { Component: 'istiod', ID: '<external>', Info: { version: 'v-istiod-a' }, Replicas: undefined });
  assert.deepEqual(plain.controlPlane.Replicas, [
    { ID: 'istiod-a', Address: 'pod-a:15012', Count: 1 }, { ID: 'istiod-b', Address: 'pod-b:15012', Count: 1 }, { ID: 'pod-c', Address: '10.0.0.3:15012', Error: 'deadline exceeded' },
  ]);
  const attributed = mergeSyncz(answers, { ...opts, attributeReplicas: true });
  assert.equal(attributed.controlPlane.ID, 'istiod-a,istiod-b');
  const parsed = parseControlPlane(JSON.stringify(attributed.controlPlane));
  assert.deepEqual([...parsed.attribution], [['p1.ns', 'istiod-a'], ['p2.ns', 'istiod-b']]);
  assert.deepEqual(parsed.failedReplicas, ['pod-c (10.0.0.3:15012): deadline exceeded']);
  const noInfo = mergeSyncz([{ replica: { name: 'a', address: 'a:1' }, error: 'x' }], opts);
  assert.deepEqual(noInfo.controlPlane.Info, { version: 'x' });
});

test('mergeFirst and mergeEmpty', () => {
  const dump: DiscoveryResponse = { typeUrl: 'istio.io/debug/config_dump', resources: [{ typeUrl: 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump' }] };
  const m = mergeFirst([ok('a', dump)], opts);
  assert.equal(m.resources.length, 1);
  assert.equal(m.controlPlane.ID, '<external>');
  assert.equal(mergeFirst([ok('a', dump)], { ...opts, attributeReplicas: true }).controlPlane.ID, 'a');
  const e = mergeEmpty([ok('a', { typeUrl: 'istio.io/connections' }), ok('b', { typeUrl: 'istio.io/connections' })], opts);
  assert.deepEqual([e.resources.length, e.controlPlane.ID, e.controlPlane.Replicas?.length], [0, '<external>', 2]);
});

test('scanClientConfig reads node.id and the newest last_updated like the full decoder', () => {
  const enc = (c: Parameters<typeof clientConfigCodec.encode>[0]) => clientConfigCodec.encode(c);
  const cases: [Parameters<typeof clientConfigCodec.encode>[0], { id: string; fresh: number }][] = [
    [{}, { id: '', fresh: -1 }],
    [{ node: { id: 'a.ns', metadata: { fields: { CLUSTER_ID: { stringValue: 'c1' } } } } }, { id: 'a.ns', fresh: -1 }],
    [{ node: { id: 'b.ns' }, genericXdsConfigs: [
      { typeUrl: CDS, configStatus: 'SYNCED', lastUpdated: timestampFromDate(new Date(1_700_000_000_123)) },
      { typeUrl: 'x', configStatus: 'ERROR', lastUpdated: timestampFromDate(new Date(1_700_000_005_000)), errorState: { details: 'nack' } },
      { typeUrl: 'y', configStatus: 'NOT_SENT' },
    ] }, { id: 'b.ns', fresh: 1_700_000_005_000 }],
  ];
  for (const [cc, want] of cases) assert.deepEqual(scanClientConfig(enc(cc)), want);
});
