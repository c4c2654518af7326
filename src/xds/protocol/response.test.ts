import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeResponse } from './response.ts';
import { clusterCodec, discoveryResponseCodec, encodeAnyRaw, unpackAny } from '../../proto/codec.ts';
import { CLUSTER_TYPE_URL } from '../../model/type-urls.ts';

test('a response assembled from pre-encoded Anys decodes as the DiscoveryResponse it stands for', () => {
  const a = encodeAnyRaw(CLUSTER_TYPE_URL, clusterCodec.encode({ name: 'outbound|80||a.ns.svc.cluster.local' }));
  const b = encodeAnyRaw(CLUSTER_TYPE_URL, clusterCodec.encode({ name: 'outbound|80||b.ns.svc.cluster.local' }));
  const bytes = encodeResponse({
    versionInfo: '2026-11-24T12:00:00Z/7', typeUrl: CLUSTER_TYPE_URL, nonce: 'n-1',
    resources: [{ name: 'a', any: a }, { name: 'b', any: b }], controlPlane: '{"Component":"istiod","ID":"istiod-0"}',
  });
  const decoded = discoveryResponseCodec.decode(bytes);
  assert.equal(decoded.versionInfo, '2026-11-24T12:00:00Z/7');
  assert.equal(decoded.typeUrl, CLUSTER_TYPE_URL);
  assert.equal(decoded.nonce, 'n-1');
  assert.equal(decoded.controlPlane?.identifier, '{"Component":"istiod","ID":"istiod-0"}');
  assert.deepEqual(decoded.resources?.map((r) => unpackAny(clusterCodec, r).name), ['outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local']);
});

test('an empty response carries only its type and nonce (no control plane unless given)', () => {
  const decoded = discoveryResponseCodec.decode(encodeResponse({ versionInfo: '', typeUrl: CLUSTER_TYPE_URL, nonce: 'x', resources: [] }));
  assert.deepEqual(decoded, { typeUrl: CLUSTER_TYPE_URL, nonce: 'x' });
});
