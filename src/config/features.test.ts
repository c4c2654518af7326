import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFeatures } from './features.ts';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';

test('defaults are istiod\'s', () => {
  const f = loadFeatures({});
  assert.equal(f.debounceAfter, 100);
  assert.equal(f.debounceMax, 10_000);
  assert.equal(f.pushThrottle, 100);
  assert.equal(f.remoteClusterTimeout, 30_000);
  assert.equal(f.externalIstiod, false);
  assert.equal(f.clusterId, 'Kubernetes');
  assert.equal(f.podNamespace, 'istio-system');
  assert.equal(f.debugEndpointAuth, true);
});

test('environment values are parsed with Go-style durations and booleans', () => {
  const f = loadFeatures({ EXTERNAL_ISTIOD: 'true', PILOT_DEBOUNCE_AFTER: '0s', PILOT_REMOTE_CLUSTER_TIMEOUT: '1m30s', CLUSTER_ID: 'cluster1', PILOT_PUSH_THROTTLE: '7' });
  assert.equal(f.externalIstiod, true);
  assert.equal(f.debounceAfter, 0);
  assert.equal(f.remoteClusterTimeout, 90_000);
  assert.equal(f.clusterId, 'cluster1');
  assert.equal(f.pushThrottle, 7);
  assert.throws(() => loadFeatures({ PILOT_DEBOUNCE_AFTER: '250' }), /PILOT_DEBOUNCE_AFTER="250": missing unit/, 'a bare number is refused, as Go refuses it');
});

test('a malformed value names the variable', () => {
  for (const [env, value, re] of [['EXTERNAL_ISTIOD', 'maybe', /EXTERNAL_ISTIOD="maybe": not a boolean/], ['PILOT_DEBOUNCE_MAX', '10 sec', /PILOT_DEBOUNCE_MAX="10 sec": not a duration/], ['PILOT_PUSH_THROTTLE', 'many', /not an integer/]] as const) {
    assert.throws(() => loadFeatures({ [env]: value }), (e: unknown) => isIsthmusError(e, ErrorCodes.Usage) && re.test(e.message));
  }
});
