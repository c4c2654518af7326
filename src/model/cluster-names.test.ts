/** Building and parsing cluster names is one module: every built name parses back to its service. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterName, parseAnyClusterName, serviceHostOf, sniName } from './cluster-names.ts';

test('cluster names: both forms of every key map back to the service host', () => {
  for (const subset of ['', 'v1']) {
    const key = { direction: 'outbound' as const, port: 9080, subset, host: 'reviews.default.svc.cluster.local' };
    assert.equal(serviceHostOf(clusterName(key)), key.host);
    assert.equal(serviceHostOf(sniName(key)), key.host);
    assert.deepEqual(parseAnyClusterName(sniName(key)), { key, sni: true });
    assert.deepEqual(parseAnyClusterName(clusterName(key)), { key, sni: false });
  }
});

test('cluster names: names of no service have no host', () => {
  for (const n of ['inbound|9080||', 'inbound_.9080_._.', 'BlackHoleCluster', 'PassthroughCluster', 'outbound|0||x', 'a|b', '']) {
    assert.equal(serviceHostOf(n), undefined, n);
  }
});
