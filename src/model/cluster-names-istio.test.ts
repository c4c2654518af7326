/** Istio's name formats (docs/istio-compat.md §3.4: BuildDNSSrvSubsetKey, cluster keys). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterName, parseClusterName, parseSniName, sniName } from './cluster-names.ts';

const cases = [
  { key: { direction: 'outbound' as const, port: 8080, subset: '', host: 'foo.ns.svc.cluster.local' }, cluster: 'outbound|8080||foo.ns.svc.cluster.local', sni: 'outbound_.8080_._.foo.ns.svc.cluster.local' },
  { key: { direction: 'outbound' as const, port: 9080, subset: 'v1', host: 'reviews.default.svc.cluster.local' }, cluster: 'outbound|9080|v1|reviews.default.svc.cluster.local', sni: 'outbound_.9080_.v1_.reviews.default.svc.cluster.local' },
  { key: { direction: 'inbound' as const, port: 9080, subset: '', host: '' }, cluster: 'inbound|9080||', sni: 'inbound_.9080_._.' },
];

for (const c of cases) {
  test(`names: ${c.cluster}`, () => {
    assert.equal(clusterName(c.key), c.cluster);
    assert.equal(sniName(c.key), c.sni);
    assert.deepEqual(parseClusterName(c.cluster), c.key);
    if (c.key.host !== '') assert.deepEqual(parseSniName(c.sni), c.key);
  });
}

test('names: malformed names do not parse', () => {
  for (const n of ['outbound|0||x', 'outbound|70000||x', 'sideways|80||x', 'outbound|80|x', 'BlackHoleCluster']) assert.equal(parseClusterName(n), undefined, n);
  for (const n of ['outbound_.80_.x', 'outbound.80_._.x', 'outbound_.abc_._.x']) assert.equal(parseSniName(n), undefined, n);
});
