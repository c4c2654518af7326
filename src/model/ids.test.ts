import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId, hostname, parseSpiffeId, serviceHostname, spiffeId, typeUrl } from './ids.ts';
import { ErrorCodes, isIsthmusError } from './errors.ts';

test('cluster ids accept Istio-style names and reject the rest with a stable code', () => {
  assert.equal(clusterId('cluster2'), 'cluster2');
  for (const bad of ['', '-a', 'a b', 'x'.repeat(64), 'a/b']) {
    assert.throws(() => clusterId(bad), (e: unknown) => isIsthmusError(e, ErrorCodes.InvalidId));
  }
});

test('service hostnames are <name>.<ns>.svc.<domain>', () => {
  assert.equal(serviceHostname('reviews', 'default'), 'reviews.default.svc.cluster.local');
  assert.equal(hostname('*.local'), '*.local');
  assert.throws(() => hostname('Upper.Case'));
  assert.throws(() => hostname('a..b'));
});

test('SPIFFE ids round-trip and reject malformed forms', () => {
  const id = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep' });
  assert.equal(id, 'spiffe://cluster.local/ns/sample/sa/sleep');
  assert.deepEqual(parseSpiffeId(id), { trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep', id });
  for (const bad of ['http://x/ns/a/sa/b', 'spiffe://td/ns/a/sa', 'spiffe://td/ns/a/sa/b/c', 'spiffe://td/namespace/a/sa/b', 'spiffe:///ns/a/sa/b']) {
    assert.throws(() => parseSpiffeId(bad), /invalid SPIFFE id/);
  }
  assert.throws(() => spiffeId({ trustDomain: 'td', namespace: 'a/b', serviceAccount: 's' }));
});

test('type URLs reject junk', () => {
  assert.equal(typeUrl('type.googleapis.com/envoy.config.cluster.v3.Cluster'), 'type.googleapis.com/envoy.config.cluster.v3.Cluster');
  assert.throws(() => typeUrl('bad url with spaces'));
});
