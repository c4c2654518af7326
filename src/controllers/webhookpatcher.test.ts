import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredRootConfigMap, rootConfigMapCurrent } from './namespacecontroller.ts';
import { patchCaBundle } from './webhookpatcher.ts';

test('patchCaBundle sets caBundle only on webhooks with the suffix, and reports no change when current', () => {
  const hooks = [{ name: 'rev.namespace.sidecar-injector.istio.io', clientConfig: { url: 'u' } }, { name: 'other.example.com', clientConfig: { url: 'v' } }];
  const first = patchCaBundle(hooks, 'sidecar-injector.istio.io', 'QUJD');
  assert.equal(first.changed, true);
  assert.deepEqual(first.webhooks[0]?.clientConfig, { url: 'u', caBundle: 'QUJD' });
  assert.equal(first.webhooks[1], hooks[1]);
  assert.equal(patchCaBundle(first.webhooks, 'sidecar-injector.istio.io', 'QUJD').changed, false);
});

test('the root ConfigMap keeps foreign keys and labels and is labelled istio.io/config', () => {
  const existing = { metadata: { name: 'istio-ca-root-cert', namespace: 'a', labels: { keep: 'me' }, resourceVersion: '7' }, data: { other: 'x', 'root-cert.pem': 'old' } };
  const cm = desiredRootConfigMap('a', 'istio-ca-root-cert', 'ROOT', existing);
  assert.deepEqual(cm.data, { other: 'x', 'root-cert.pem': 'ROOT' });
  assert.deepEqual(cm.metadata.labels, { keep: 'me', 'istio.io/config': 'true' });
  assert.equal(cm.metadata.resourceVersion, '7', 'updates are guarded by the resourceVersion read');
  assert.equal(rootConfigMapCurrent(cm, 'ROOT'), true);
  assert.equal(rootConfigMapCurrent(existing, 'ROOT'), false);
});
