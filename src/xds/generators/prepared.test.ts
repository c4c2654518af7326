/** The server adapter: Any bytes that decode back to the generated resource. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../model/type-urls.ts';
import { GENERATORS } from './index.ts';
import { typeUrl } from '../../model/ids.ts';
import { anyCodec, clusterCodec, unpackAny } from '../../proto/codec.ts';
import { meshView } from '../../testing/mesh/fixtures.ts';
import { generatorLookup } from './prepared.ts';
import { proxy } from '../../testing/mesh/builders.ts';

test('generatorLookup: encoded Anys of the right type; unknown types have no generator', () => {
  const view = meshView();
  const lookup = generatorLookup();
  const g = lookup(proxy(), CLUSTER_TYPE_URL);
  assert.ok(g);
  const [first] = g.generate(proxy(), view, ['BlackHoleCluster']);
  assert.equal(first?.name, 'BlackHoleCluster');
  const any = anyCodec.decode(first.any);
  assert.equal(any.typeUrl, CLUSTER_TYPE_URL);
  assert.equal(unpackAny(clusterCodec, any).name, 'BlackHoleCluster');
  assert.equal(typeof g.cacheKey(proxy(), view), 'string');
  assert.equal(lookup(proxy(), CLUSTER_TYPE_URL), g, 'adapters are reused');
});

test('generatorLookup remembers per proxy, and each proxy still gets its own kind of generator', () => {
  const lookup = generatorLookup();
  const sidecar = proxy();
  const grpcClient = proxy({ generator: 'grpc' });
  const router = proxy({ type: 'router' });
  for (let round = 0; round < 2; round++) {
    for (const [p, t, want] of [
      [sidecar, LISTENER_TYPE_URL, GENERATORS.get(LISTENER_TYPE_URL)],
      [grpcClient, LISTENER_TYPE_URL, GENERATORS.get(`grpc/${LISTENER_TYPE_URL}`)],
      [router, LISTENER_TYPE_URL, GENERATORS.get(`router/${LISTENER_TYPE_URL}`)],
      [router, CLUSTER_TYPE_URL, GENERATORS.get(CLUSTER_TYPE_URL)],
    ] as const) {
      assert.ok(want);
      assert.equal(lookup(p, t)?.typeUrl, want.typeUrl);
      assert.equal(lookup(p, t)?.cacheKey(p, meshView()), want.cacheKey(p, meshView()), `round ${round}: ${p.type}/${p.generator} ${t}`);
    }
    assert.equal(lookup(sidecar, typeUrl('type.googleapis.com/nothing.Here')), undefined, `round ${round}: unknown types have none`);
  }
  assert.notEqual(lookup(grpcClient, LISTENER_TYPE_URL), lookup(sidecar, LISTENER_TYPE_URL), 'gRPC clients get their own listener generator');
});
