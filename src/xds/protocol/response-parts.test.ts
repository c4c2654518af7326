import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeResponse, type PreparedResource } from './response.ts';
import { resourcesBytes, responseParts } from './response-parts.ts';
import { clusterCodec, discoveryResponseCodec, encodeAnyRaw } from '../../proto/codec.ts';
import { CLUSTER_TYPE_URL } from '../../model/type-urls.ts';

function clusters(n: number, pad = 0): PreparedResource[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `outbound|80||svc-${i}.ns.svc.cluster.local${'x'.repeat(pad)}`;
    return { name, any: encodeAnyRaw(CLUSTER_TYPE_URL, clusterCodec.encode({ name })) };
  });
}

const join = (p: { head: Uint8Array; resources: Uint8Array }): Buffer => Buffer.concat([p.head, p.resources]);

test('head + shared resources decode to the same DiscoveryResponse as the one-piece encoding', () => {
  // 200-byte names make some resources longer than 127 bytes (two-byte length varints).
  for (const resources of [[], clusters(1), clusters(5), clusters(300, 200)]) {
    for (const controlPlane of [undefined, '', '{"Component":"istiod","ID":"istiod-0"}']) {
      const r = { versionInfo: '2026-12-07T21:00:00Z/9', typeUrl: CLUSTER_TYPE_URL, nonce: 'v-1234', resources, ...(controlPlane === undefined ? {} : { controlPlane }) };
      const parts = responseParts(r);
      assert.equal(parts.length, parts.head.byteLength + parts.resources.byteLength);
      assert.equal(parts.length, encodeResponse(r).byteLength, 'the same number of bytes, in another field order');
      assert.deepEqual(discoveryResponseCodec.decode(join(parts)), discoveryResponseCodec.decode(encodeResponse(r)));
    }
  }
});

test('a resource list is encoded once and its bytes shared by every response that sends it', () => {
  const list = clusters(50);
  const a = responseParts({ versionInfo: 'v', typeUrl: CLUSTER_TYPE_URL, nonce: 'a-0', resources: list });
  const b = responseParts({ versionInfo: 'v', typeUrl: CLUSTER_TYPE_URL, nonce: 'b-7', resources: list });
  assert.equal(a.resources, b.resources, 'the same bytes object, not a copy');
  assert.notEqual(a.head, b.head);
  assert.equal(discoveryResponseCodec.decode(join(b)).nonce, 'b-7');
  // Another list with equal contents is encoded on its own; a list whose contents changed is encoded again.
  assert.notEqual(resourcesBytes([...list]), a.resources);
  const grown = list;
  grown.push(...clusters(51).slice(50));
  const c = resourcesBytes(grown);
  assert.notEqual(c, a.resources);
  assert.equal(discoveryResponseCodec.decode(Buffer.from(c)).resources?.length, 51);
  // A single resource (a large route configuration) is sent as its own bytes: no copy at all.
  const [one] = clusters(1, 300);
  assert.ok(one !== undefined);
  const single = responseParts({ versionInfo: 'v', typeUrl: CLUSTER_TYPE_URL, nonce: 'c-1', resources: [one] });
  assert.equal(single.resources, one.any);
  assert.equal(discoveryResponseCodec.decode(join(single)).resources?.length, 1);
});
