/** The server adapter: Any bytes that decode back to the generated resource. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_TYPE_URL } from '../../model/type-urls.ts';
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
