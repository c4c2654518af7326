import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJson, formatTable } from './format.ts';
import { confirmStale, isLoopbackAddress, proxiesFromSyncz } from './debug.ts';
import { probeSecretKey } from './gather.ts';
import type { Finding } from './types.ts';

const finding: Finding = {
  severity: 'error', rule: 'gateway-no-address', message: 'east-west gateway Service istio-system/istio-eastwestgateway in cluster1 has no external address',
  where: { cluster: 'cluster1', namespace: 'istio-system', object: 'Service/istio-eastwestgateway', field: 'status.loadBalancer.ingress' },
  why: 'the gateway is ignored', fix: 'kubectl --context cluster1 -n istio-system get service istio-eastwestgateway -w',
};

test('table: a clean run says what was checked and how long it took', () => {
  assert.equal(formatTable({ findings: [], clusters: ['cluster1', 'cluster2'], controlPlane: '127.0.0.1:8080', durationMs: 412 }),
    'No problems found in 2 clusters (cluster1, cluster2) and the control plane at 127.0.0.1:8080 (0.4 s).\n');
});

test('table: each finding with where, why and fix, then the counts', () => {
  const warning: Finding = { ...finding, severity: 'warning', rule: 'root-cert-missing' };
  const out = formatTable({ findings: [finding, warning], clusters: ['cluster1'], durationMs: 1234 });
  assert.equal(out, [
    'ERROR   gateway-no-address: east-west gateway Service istio-system/istio-eastwestgateway in cluster1 has no external address',
    '  where: cluster1, namespace istio-system, Service/istio-eastwestgateway, field status.loadBalancer.ingress',
    '  why:   the gateway is ignored',
    '  fix:   kubectl --context cluster1 -n istio-system get service istio-eastwestgateway -w',
    '',
    'WARNING root-cert-missing: east-west gateway Service istio-system/istio-eastwestgateway in cluster1 has no external address',
    '  where: cluster1, namespace istio-system, Service/istio-eastwestgateway, field status.loadBalancer.ingress',
    '  why:   the gateway is ignored',
    '  fix:   kubectl --context cluster1 -n istio-system get service istio-eastwestgateway -w',
    '',
    '1 error, 1 warning in 1 cluster (cluster1) (1.2 s).',
    '',
  ].join('\n'));
});

test('json: findings and a summary with a fixed shape', () => {
  const j = JSON.parse(formatJson({ findings: [finding], clusters: ['cluster1'], durationMs: 10.6 })) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), ['findings', 'summary']);
  assert.deepEqual(j['summary'], { errors: 1, warnings: 0, clusters: ['cluster1'], controlPlane: null, durationMs: 11 });
  assert.deepEqual((j['findings'] as Finding[])[0], finding);
  assert.deepEqual(Object.keys((j['findings'] as Record<string, unknown>[])[0] ?? {}), ['severity', 'rule', 'message', 'where', 'why', 'fix']);
});

test('syncz: proxies parsed; STALE kept only when the second read shows the same nonce still unacknowledged', () => {
  const first = [
    { proxy: 'a.ns', cluster_id: 'c1', types: { CDS: { status: 'STALE', sent: 'n1' }, LDS: { status: 'SYNCED', sent: 'n2' } } },
    { proxy: 'b.ns', cluster_id: 'c1', types: { CDS: { status: 'STALE', sent: 'n3' } } },
    { proxy: 'gone.ns', cluster_id: 'c1', types: { CDS: { status: 'STALE', sent: 'n4' } } },
  ];
  const second = [
    { proxy: 'a.ns', cluster_id: 'c1', types: { CDS: { status: 'STALE', sent: 'n1' }, LDS: { status: 'SYNCED', sent: 'n2' } } },
    { proxy: 'b.ns', cluster_id: 'c1', types: { CDS: { status: 'SYNCED', sent: 'n3' } } },
  ];
  assert.deepEqual(proxiesFromSyncz(first).map((p) => p.proxy), ['a.ns', 'b.ns', 'gone.ns']);
  assert.deepEqual(confirmStale(first, second), [
    { proxy: 'a.ns', clusterId: 'c1', types: { CDS: { status: 'STALE' }, LDS: { status: 'SYNCED' } } },
    { proxy: 'b.ns', clusterId: 'c1', types: { CDS: { status: 'SYNCED' } } },
  ]);
  assert.deepEqual(proxiesFromSyncz({ not: 'a list' }), []);
});

test('loopback debug addresses need no token', () => {
  for (const a of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'http://127.0.0.2:1']) assert.equal(isLoopbackAddress(a), true, a);
  for (const a of ['10.0.0.1:8080', 'istiod.istio-system:8080']) assert.equal(isLoopbackAddress(a), false, a);
});

test('a remote secret kubeconfig with an exec plugin is reported as invalid without calling anything', async () => {
  const kc = 'apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: c, cluster: {server: "https://10.1.2.3:6443"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {command: /bin/true}}}]\n';
  const r = await probeSecretKey('s', 'istio-system', 'c', kc, 1000);
  assert.equal(r.auth, 'skipped');
  assert.equal(r.server, 'https://10.1.2.3:6443');
  assert.match(r.invalid ?? '', /exec is not allowed/);
});
