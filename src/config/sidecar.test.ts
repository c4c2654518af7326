import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertSidecar } from './sidecar.ts';

const obj = (spec: unknown, namespace = 'sample') => ({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace, creationTimestamp: '2026-12-01T00:00:00Z' }, spec });

test('a Sidecar\'s egress hosts are parsed; "." is its own namespace; no egress means every service', () => {
  const r = convertSidecar(obj({ egress: [{ hosts: ['./*', 'istio-system/*', '*/*.example.com', '~/*'] }] }), 'istio-system');
  assert.ok(r.ok);
  assert.deepEqual(r.value.egressHosts, [
    { namespace: 'sample', host: '*' }, { namespace: 'istio-system', host: '*' }, { namespace: '*', host: '*.example.com' }, { namespace: '~', host: '*' },
  ]);
  assert.equal(r.value.inRootNamespace, false);
  assert.deepEqual(r.notes, []);
  const root = convertSidecar(obj({}, 'istio-system'), 'istio-system');
  assert.ok(root.ok);
  assert.equal(root.value.inRootNamespace, true);
  assert.deepEqual(root.value.egressHosts, [{ namespace: '*', host: '*' }]);
});

test('a bad Sidecar is refused naming the field', () => {
  const cases: [unknown, RegExp][] = [
    [[], /^spec: want an object/],
    [{ egress: {} }, /^spec\.egress: want a list/],
    [{ egress: [{ hosts: [] }] }, /^spec\.egress\[0\]\.hosts: want a non-empty list/],
    [{ egress: [{ hosts: ['helloworld'] }] }, /^spec\.egress\[0\]\.hosts\[0\]: "helloworld" is not "<namespace>\/<host>"/],
    [{ egress: [{ hosts: ['./*', 'Bad_NS/*'] }] }, /^spec\.egress\[0\]\.hosts\[1\]: namespace "Bad_NS"/],
    [{ egress: [{ hosts: ['./a..b'] }] }, /^spec\.egress\[0\]\.hosts\[0\]: host "a\.\.b"/],
    [{ egress: [{ hosts: [7] }] }, /^spec\.egress\[0\]\.hosts\[0\]: want a string/],
    [{ workloadSelector: { labels: { app: 1 } } }, /^spec\.workloadSelector\.labels\.app: want a string/],
  ];
  for (const [spec, re] of cases) {
    const r = convertSidecar(obj(spec), 'istio-system');
    assert.ok(!r.ok, JSON.stringify(spec));
    assert.match(r.error, re);
  }
});

test('fields Isthmus does not apply are reported, and the hosts still apply', () => {
  const r = convertSidecar(obj({ workloadSelector: { labels: { app: 'sleep' } }, egress: [{ port: { number: 80 }, hosts: ['./*'] }], ingress: [], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }), 'istio-system');
  assert.ok(r.ok);
  assert.deepEqual(r.value.selector, { app: 'sleep' });
  assert.deepEqual(r.value.egressHosts, [{ namespace: 'sample', host: '*' }]);
  assert.deepEqual(r.notes, [
    'spec.egress[0].port is not applied by Isthmus: the listener\'s hosts apply to every port',
    'spec.ingress is not applied by Isthmus',
    'spec.outboundTrafficPolicy is not applied by Isthmus',
  ]);
});
