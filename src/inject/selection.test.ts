/**
 * Selection rules and webhook paths, table-driven. Expectations from Istio's documented behaviour
 * ("Installing the Sidecar" → "Controlling the injection policy"; docs/istio-compat.md §12.1), not from
 * the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, templatesFor, type PodView } from './selection.ts';
import { parseInjectPath } from './path.ts';

const pod = (o: Partial<PodView> = {}): PodView => ({ namespace: 'app', labels: {}, annotations: {}, hostNetwork: false, containers: [{ name: 'app', image: 'app:1' }], ...o });

test('selection table', () => {
  const rows: { name: string; pod: PodView; ns: Record<string, string> | undefined; rev?: string; policy?: 'enabled' | 'disabled'; want: boolean }[] = [
    { name: 'namespace istio-injection=enabled', pod: pod(), ns: { 'istio-injection': 'enabled' }, want: true },
    { name: 'namespace unlabelled', pod: pod(), ns: {}, want: false },
    { name: 'namespace istio-injection=disabled', pod: pod(), ns: { 'istio-injection': 'disabled' }, want: false },
    { name: 'disabled namespace wins over pod label true', pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns: { 'istio-injection': 'disabled' }, want: false },
    { name: 'pod label false in an enabled namespace', pod: pod({ labels: { 'sidecar.istio.io/inject': 'false' } }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'pod annotation false in an enabled namespace', pod: pod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'pod label true in an unlabelled namespace', pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns: {}, want: true },
    { name: 'pod label wins over annotation', pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } }), ns: {}, want: true },
    { name: 'namespace istio.io/rev=default', pod: pod(), ns: { 'istio.io/rev': 'default' }, want: true },
    { name: 'namespace istio.io/rev of another revision', pod: pod(), ns: { 'istio.io/rev': 'canary' }, want: false },
    { name: 'namespace istio.io/rev=canary for the canary revision', pod: pod(), ns: { 'istio.io/rev': 'canary' }, rev: 'canary', want: true },
    { name: 'pod istio.io/rev label in an unlabelled namespace', pod: pod({ labels: { 'istio.io/rev': 'default' } }), ns: {}, want: true },
    { name: 'hostNetwork pods are skipped', pod: pod({ hostNetwork: true }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'kube-system is never injected', pod: pod({ namespace: 'kube-system', labels: { 'sidecar.istio.io/inject': 'true' } }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'already injected (status annotation)', pod: pod({ annotations: { 'sidecar.istio.io/status': '{}' } }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'already injected (istio-proxy container)', pod: pod({ containers: [{ name: 'app' }, { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.28.0' }] }), ns: { 'istio-injection': 'enabled' }, want: false },
    { name: 'gateway pod with istio-proxy image auto is injected', pod: pod({ containers: [{ name: 'istio-proxy', image: 'auto' }], labels: { 'sidecar.istio.io/inject': 'true' } }), ns: {}, want: true },
    { name: 'namespace unknown: the webhook selectors decided (policy enabled)', pod: pod(), ns: undefined, want: true },
    { name: 'namespace unknown, policy disabled', pod: pod(), ns: undefined, policy: 'disabled', want: false },
    { name: 'policy disabled but pod asks', pod: pod({ labels: { 'sidecar.istio.io/inject': 'true' } }), ns: undefined, policy: 'disabled', want: true },
  ];
  for (const r of rows) {
    const d = decide(r.pod, r.ns, r.rev ?? 'default', r.policy ?? 'enabled');
    assert.equal(d.inject, r.want, `${r.name}: ${d.reason}`);
  }
  console.log(`selection rows: ${rows.length}`);
});

test('templates: inject.istio.io/templates label or annotation, else the defaults', () => {
  assert.deepEqual(templatesFor({ labels: {}, annotations: {} }, ['sidecar']), ['sidecar']);
  assert.deepEqual(templatesFor({ labels: { 'inject.istio.io/templates': 'gateway' }, annotations: {} }, ['sidecar']), ['gateway']);
  assert.deepEqual(templatesFor({ labels: {}, annotations: { 'inject.istio.io/templates': 'grpc-agent, custom' } }, ['sidecar']), ['grpc-agent', 'custom']);
});

test('webhook paths (docs/istio-compat.md §12.1)', () => {
  assert.deepEqual(parseInjectPath('/inject'), { env: [], warnings: [] });
  assert.deepEqual(parseInjectPath('/inject/'), { env: [], warnings: [] });
  assert.deepEqual(parseInjectPath('/inject/cluster/cluster2/net/network2'), { clusterId: 'cluster2', network: 'network2', env: [], warnings: [] });
  assert.deepEqual(parseInjectPath('/inject/cluster/cluster2/net/network2/'), { clusterId: 'cluster2', network: 'network2', env: [], warnings: [] });
  assert.deepEqual(parseInjectPath('/inject/net/n--slash--1/zeta/z/alpha/a'), { network: 'n/1', env: [{ name: 'ALPHA', value: 'a' }, { name: 'ZETA', value: 'z' }], warnings: [] });
  const odd = parseInjectPath('/inject/cluster/c1/net');
  assert.ok(odd);
  assert.equal(odd.clusterId, 'c1');
  assert.equal(odd.network, undefined);
  assert.equal(odd.warnings.length, 1);
  assert.deepEqual(parseInjectPath('/inject/:ENV:cluster=c2:ENV:net=n2'), { clusterId: 'c2', network: 'n2', env: [], warnings: [] });
  assert.equal(parseInjectPath('/injection'), undefined);
  assert.equal(parseInjectPath('/validate'), undefined);
  assert.equal(parseInjectPath(`/inject/${'a/'.repeat(2000)}`), undefined);
});
