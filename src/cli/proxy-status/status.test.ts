import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientConfigCodec, encodeAnyRaw } from '../../proto/codec.ts';
import type { ClientConfig, ConfigStatus, DiscoveryResponse } from '../../proto/types.ts';
import { anyCodec } from '../../proto/codec.ts';
import { structFromJson, timestampFromDate } from '../../proto/wkt.ts';
import { CLIENT_CONFIG_TYPE_URL, humanDuration, parseSyncz, shortName, statusText } from './status.ts';

const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';

test('humanDuration follows kubectl ages', () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'], [-1500, '0s'], [0, '0s'], [45 * s, '45s'], [119 * s, '119s'], [2 * m, '2m'], [3 * m + 12 * s, '3m12s'],
    [25 * m, '25m'], [179 * m, '179m'], [3 * h, '3h'], [5 * h + 3 * m, '5h3m'], [20 * h, '20h'], [47 * h, '47h'], [2 * d, '2d'],
    [3 * d + 4 * h, '3d4h'], [40 * d, '40d'], [730 * d, '2y'], [760 * d, '2y30d'], [9 * 365 * d, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('statusText: IGNORED, NOT SENT, enum name with age', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  const at = new Date('2026-01-01T00:00:00Z');
  const cases: [Parameters<typeof statusText>[0], string][] = [
    [undefined, 'IGNORED'],
    [{ typeUrl: CDS, type: 'CDS', status: 'UNKNOWN' }, 'IGNORED'],
    [{ typeUrl: CDS, type: 'CDS', status: 'NOT_SENT', lastUpdated: at }, 'NOT SENT'],
    [{ typeUrl: CDS, type: 'CDS', status: 'SYNCED' }, 'SYNCED'],
    [{ typeUrl: CDS, type: 'CDS', status: 'SYNCED', lastUpdated: at }, 'SYNCED (60s)'],
    [{ typeUrl: CDS, type: 'CDS', status: 'STALE', lastUpdated: at }, 'STALE (60s)'],
    [{ typeUrl: CDS, type: 'CDS', status: 'ERROR', lastUpdated: at, error: 'bad' }, 'ERROR (60s)'],
  ];
  for (const [s, want] of cases) assert.equal(statusText(s, now), want);
  assert.equal(shortName('type.googleapis.com/istio.workload.Address'), 'WDS');
  assert.equal(shortName('example.com/Custom'), 'example.com/Custom');
});

function cc(id: string, meta: Record<string, string>, types: [string, ConfigStatus, Date?][]): ClientConfig {
  return {
    node: { id, metadata: structFromJson(meta) },
    genericXdsConfigs: types.map(([typeUrl, configStatus, d]) => ({ typeUrl, configStatus, ...(d ? { lastUpdated: timestampFromDate(d) } : {}), ...(configStatus === 'ERROR' ? { errorState: { details: 'nack!' } } : {}) })),
  };
}

function resp(controlPlane: string | undefined, configs: ClientConfig[]): DiscoveryResponse {
  const resources = configs.map((c) => anyCodec.decode(encodeAnyRaw(CLIENT_CONFIG_TYPE_URL, clientConfigCodec.encode(c))));
  return { typeUrl: 'istio.io/debug/syncz', resources, ...(controlPlane === undefined ? {} : { controlPlane: { identifier: controlPlane } }) };
}

test('parseSyncz: rows from every answer, sorted, ISTIOD from the answering control plane', () => {
  const t = new Date('2026-01-01T00:00:00Z');
  const { rows, warnings } = parseSyncz([
    resp('{"Component":"istiod","ID":"istiod-b"}', [cc('z.ns', { CLUSTER_ID: 'c2', NAMESPACE: 'ns', ISTIO_VERSION: '1.28.0' }, [[CDS, 'SYNCED', t], [LDS, 'ERROR', t]])]),
    resp('{"Component":"istiod","ID":"istiod-a"}', [cc('a.ns', { CLUSTER_ID: 'c1', NAMESPACE: 'ns' }, [[CDS, 'STALE', t]])]),
    resp(undefined, [cc('m.ns', {}, [])]),
    resp('not json', [cc('i.ns', {}, [])]),
  ]);
  assert.deepEqual(rows.map((r) => [r.name, r.cluster, r.istiod, r.version]), [
    ['a.ns', 'c1', 'istiod-a', ''], ['i.ns', '', 'INVALID', ''], ['m.ns', '', 'MISSING', ''], ['z.ns', 'c2', 'istiod-b', '1.28.0'],
  ]);
  assert.deepEqual(rows[3]?.types.map((x) => [x.type, x.status, x.error]), [['CDS', 'SYNCED', undefined], ['LDS', 'ERROR', 'nack!']]);
  assert.deepEqual(warnings, []);
});

test('parseSyncz: the xds-proxy\'s Replicas extension gives attribution and warnings', () => {
  const cp = JSON.stringify({ Component: 'istiod', ID: '<external>', Replicas: [
    { ID: 'istiod-a', Address: '10.0.0.1:15012', Count: 1, Proxies: ['a.ns'] },
    { ID: 'istiod-b', Address: '10.0.0.2:15012', Error: 'deadline exceeded' },
  ] });
  const { rows, warnings } = parseSyncz([resp(cp, [cc('a.ns', {}, []), cc('b.ns', {}, [])])]);
  assert.deepEqual(rows.map((r) => [r.name, r.istiod]), [['a.ns', 'istiod-a'], ['b.ns', '<external>']]);
  assert.deepEqual(warnings, ['control plane replica istiod-b (10.0.0.2:15012): deadline exceeded: its proxies are missing from this list']);
});
