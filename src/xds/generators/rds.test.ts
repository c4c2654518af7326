/** Envoy RDS: route configuration per HTTP port with Istio's virtual host domains. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routeConfigurationCodec } from '../../proto/codec.ts';
import { meshView } from '../../testing/mesh/fixtures.ts';
import { generate } from './rds.ts';
import { shortHostnames } from './scope.ts';
import { proxy, roundTrip } from '../../testing/mesh/builders.ts';

const HW = 'helloworld.sample.svc.cluster.local';

test('rds: route config "5000" has one virtual host for helloworld and allow_any last', () => {
  const got = generate(proxy({ namespace: 'sample', cluster: 'cluster1' }), meshView(), ['5000']);
  const [rc] = roundTrip(routeConfigurationCodec, got);
  assert.equal(rc?.name, '5000');
  assert.deepEqual(rc.virtualHosts?.map((v) => v.name), [`${HW}:5000`, 'allow_any']);
  const vh = rc.virtualHosts[0];
  assert.deepEqual(vh?.domains, [
    HW, `${HW}:5000`,
    'helloworld', 'helloworld:5000',
    'helloworld.sample.svc.cluster', 'helloworld.sample.svc.cluster:5000',
    'helloworld.sample.svc', 'helloworld.sample.svc:5000',
    'helloworld.sample', 'helloworld.sample:5000',
    '10.96.0.20', '10.96.0.20:5000',
  ]);
  assert.equal(vh.routes?.[0]?.route?.cluster, `outbound|5000||${HW}`);
  assert.deepEqual(vh.routes[0].match, { prefix: '/' });
  assert.deepEqual(rc.virtualHosts[1]?.domains, ['*']);
  assert.equal(rc.virtualHosts[1].routes?.[0]?.route?.cluster, 'PassthroughCluster');
});

test('rds: from another namespace and cluster, no bare short name and that cluster\'s VIP', () => {
  const [r] = generate(proxy({ namespace: 'default', cluster: 'cluster2' }), meshView(), ['5000']);
  const domains = r?.resource.virtualHosts?.[0]?.domains ?? [];
  assert.ok(!domains.includes('helloworld'));
  assert.ok(domains.includes('helloworld.sample'));
  assert.ok(domains.includes('10.97.0.20:5000'));
  assert.ok(!domains.includes('10.96.0.20'));
});

test('rds: wildcard = one route config per HTTP port; unknown port answered with allow_any only', () => {
  assert.deepEqual(generate(proxy({ namespace: 'sample' }), meshView(), 'wildcard').map((r) => r.name), ['5000', '7070']);
  const [r] = generate(proxy(), meshView(), ['9999']);
  assert.deepEqual(r?.resource.virtualHosts?.map((v) => v.name), ['allow_any']);
});

test('shortHostnames: Istio alternate host rules', () => {
  assert.deepEqual(shortHostnames(HW, 'sample', 'cluster.local'), ['helloworld', 'helloworld.sample.svc.cluster', 'helloworld.sample.svc', 'helloworld.sample']);
  assert.deepEqual(shortHostnames(HW, 'default', 'cluster.local'), ['helloworld.sample', 'helloworld.sample.svc.cluster', 'helloworld.sample.svc']);
  assert.deepEqual(shortHostnames('foo.example.com', 'default', 'cluster.local'), []);
});

test('rds: service routes retry as istiod by default (2 retries, other host), every virtual host counts attempts', () => {
  const rc = roundTrip(routeConfigurationCodec, generate(proxy({ namespace: 'sample' }), meshView(), ['5000']))[0];
  const vhs = rc?.virtualHosts ?? [];
  assert.ok(vhs.length >= 2, 'a service host and allow_any');
  for (const vh of vhs) assert.equal(vh.includeRequestAttemptCount, true, vh.name);
  const svc = vhs.find((v) => v.name === 'helloworld.sample.svc.cluster.local:5000');
  const rp = svc?.routes?.[0]?.route?.retryPolicy;
  assert.equal(rp?.retryOn, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  assert.deepEqual(rp.numRetries, { value: 2 });
  assert.equal(rp.hostSelectionRetryMaxAttempts, '5');
  assert.deepEqual(rp.retryHostPredicate?.map((p) => [p.name, p.typedConfig?.typeUrl]), [['envoy.retry_host_predicates.previous_hosts', 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate']]);
  assert.equal(vhs.find((v) => v.name === 'allow_any')?.routes?.[0]?.route?.retryPolicy, undefined, 'no retries to unknown destinations');
});
