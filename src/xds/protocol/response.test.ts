import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
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

/** The generic protobuf writer's encoding of the same fields, as the reference for the hand-written one. */
function writerEncoding(r: Parameters<typeof encodeResponse>[0]): Buffer {
  const w = protobuf.Writer.create();
  if (r.versionInfo) w.uint32(0x0a).string(r.versionInfo);
  for (const res of r.resources) w.uint32(0x12).bytes(res.any);
  if (r.typeUrl) w.uint32(0x22).string(r.typeUrl);
  if (r.nonce) w.uint32(0x2a).string(r.nonce);
  if (r.controlPlane !== undefined) {
    w.uint32(0x32).fork();
    if (r.controlPlane) w.uint32(0x0a).string(r.controlPlane);
    w.ldelim();
  }
  return Buffer.from(w.finish());
}

test('the response bytes are those a protobuf writer gives, for every length class and non-ASCII text', () => {
  const any = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
  const cases = [
    { versionInfo: '', typeUrl: '', nonce: '', resources: [] },
    { versionInfo: 'v1', typeUrl: CLUSTER_TYPE_URL, nonce: 'n', resources: [{ name: 'e', any: any(0) }], controlPlane: '' },
    { versionInfo: 'é✓-版本', typeUrl: CLUSTER_TYPE_URL, nonce: 'ñ-0', resources: [{ name: 'a', any: any(127) }, { name: 'b', any: any(128) }] },
    { versionInfo: 'x'.repeat(300), typeUrl: CLUSTER_TYPE_URL, nonce: 'y'.repeat(16_384), resources: [{ name: 'c', any: any(16_384) }, { name: 'd', any: any(70_000) }], controlPlane: '{"Component":"istiod","ID":"ü"}' },
    { versionInfo: 'v', typeUrl: CLUSTER_TYPE_URL, nonce: 'n', resources: [], controlPlane: 'z'.repeat(200) },
  ];
  for (const c of cases) assert.deepEqual(encodeResponse(c), writerEncoding(c), JSON.stringify({ ...c, resources: c.resources.map((r) => r.any.length) }).slice(0, 200));
});
