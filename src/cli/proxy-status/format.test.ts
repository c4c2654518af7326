import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultTable, render, singleProxy, subscribedTypes, tabwrite, verboseColumns, verboseTable } from './format.ts';
import type { ProxyRow, TypeStatus } from './status.ts';

const P = 'type.googleapis.com/';
const t = (short: string, url: string, status: string, lastUpdated?: Date): TypeStatus => ({ typeUrl: `${P}${url}`, type: short, status, ...(lastUpdated ? { lastUpdated } : {}) });
const CDS = (s: string, d?: Date) => t('CDS', 'envoy.config.cluster.v3.Cluster', s, d);
const LDS = (s: string, d?: Date) => t('LDS', 'envoy.config.listener.v3.Listener', s, d);
const EDS = (s: string, d?: Date) => t('EDS', 'envoy.config.endpoint.v3.ClusterLoadAssignment', s, d);
const RDS = (s: string, d?: Date) => t('RDS', 'envoy.config.route.v3.RouteConfiguration', s, d);
const SDS = (s: string, d?: Date) => t('SDS', 'envoy.extensions.transport_sockets.tls.v3.Secret', s, d);

test('tabwrite pads each column to its widest cell plus 5; the last cell is not padded', () => {
  assert.equal(tabwrite([['A', 'BB', 'C'], ['aaaa', 'b', 'cc']]), 'A        BB     C\naaaa     b      cc\n');
  assert.equal(tabwrite([['only']]), 'only\n');
  assert.equal(tabwrite([['', 'x'], ['', 'y']]), '     x\n     y\n', 'an empty column is still padded');
});

test('subscribedTypes: the four classic types first, the others sorted, IGNORED left out', () => {
  const cases: [TypeStatus[], string][] = [
    [[], '0'],
    [[CDS('UNKNOWN')], '0'],
    [[RDS('SYNCED'), CDS('SYNCED'), EDS('STALE'), LDS('NOT_SENT')], '4 (CDS,LDS,EDS,RDS)'],
    [[SDS('SYNCED'), t('NDS', 'istio.networking.nds.v1.NameTable', 'SYNCED'), CDS('ERROR')], '3 (CDS,NDS,SDS)'],
  ];
  for (const [types, want] of cases) assert.equal(subscribedTypes(types), want);
});

const rows: ProxyRow[] = [
  { name: 'details-v1-55cddc9798-2mdwz.bookinfo', cluster: 'Kubernetes', namespace: 'bookinfo', istiod: 'istiod-7d4f74889d-mb5dh', version: '1.27.1', types: [CDS('SYNCED'), LDS('SYNCED'), EDS('SYNCED'), RDS('SYNCED')] },
  { name: 'istio-ingressgateway-b6cd68585-8mnj7.istio-system', cluster: 'Kubernetes', namespace: 'istio-system', istiod: 'istiod-7d4f74889d-mb5dh', version: '1.27.1', types: [CDS('SYNCED'), LDS('SYNCED')] },
];

test('default table: istioctl 1.27 layout and spacing', () => {
  assert.equal(defaultTable(rows), [
    'NAME                                                  CLUSTER        ISTIOD                      VERSION     SUBSCRIBED TYPES',
    'details-v1-55cddc9798-2mdwz.bookinfo                  Kubernetes     istiod-7d4f74889d-mb5dh     1.27.1      4 (CDS,LDS,EDS,RDS)',
    'istio-ingressgateway-b6cd68585-8mnj7.istio-system     Kubernetes     istiod-7d4f74889d-mb5dh     1.27.1      2 (CDS,LDS)',
    '',
  ].join('\n'));
});

test('-v 1: a column per type ordered by type URL (CDS ECDS EDS LDS RDS ...), IGNORED where absent, ages', () => {
  const now = Date.parse('2026-01-01T00:00:30Z');
  const at = new Date('2026-01-01T00:00:00Z');
  const r: ProxyRow[] = [{ name: 'a.ns', cluster: 'c1', namespace: 'ns', istiod: 'istiod-a', version: '1.28.0', types: [CDS('SYNCED', at), LDS('STALE', at), EDS('NOT_SENT'), SDS('ERROR', at)] }];
  assert.deepEqual(verboseColumns(r).map((u) => u.slice(P.length)), [
    'envoy.config.cluster.v3.Cluster', 'envoy.config.core.v3.TypedExtensionConfig', 'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.config.listener.v3.Listener', 'envoy.config.route.v3.RouteConfiguration', 'envoy.extensions.transport_sockets.tls.v3.Secret',
  ]);
  assert.equal(verboseTable(r, now), [
    'NAME     CLUSTER     CDS              ECDS        EDS          LDS             RDS         SDS             ISTIOD       VERSION',
    'a.ns     c1          SYNCED (30s)     IGNORED     NOT SENT     STALE (30s)     IGNORED     ERROR (30s)     istiod-a     1.28.0',
    '',
  ].join('\n'));
});

test('json and yaml carry the same rows; single proxy lists its types', () => {
  const json = JSON.parse(render(rows, { output: 'json', verbosity: 0, now: 0 })) as { name: string; subscribedTypes: string[] }[];
  assert.deepEqual(json.map((r) => [r.name, r.subscribedTypes.join(',')]), [['details-v1-55cddc9798-2mdwz.bookinfo', 'CDS,LDS,EDS,RDS'], ['istio-ingressgateway-b6cd68585-8mnj7.istio-system', 'CDS,LDS']]);
  assert.match(render(rows, { output: 'yaml', verbosity: 0, now: 0 }), /^- name: details-v1-55cddc9798-2mdwz\.bookinfo\n/);
  const row = rows[1];
  assert.ok(row);
  const out = singleProxy(row, 0);
  assert.match(out, /^NAME +CLUSTER +ISTIOD +VERSION\n/);
  assert.match(out, /\nCDS +SYNCED\n/);
  assert.match(out, /\nRDS +IGNORED\n/);
});
