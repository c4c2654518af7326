/**
 * Adapts the registry to the xDS server's seam (src/xds/server/types.ts): resources come out encoded
 * as `Any` bytes, once per cache entry, and `findGenerator` becomes a `GeneratorLookup`.

 */
import { encodeAnyRaw } from '../../proto/codec.ts';
import type { GeneratorLookup, PreparedGenerator } from '../server/types.ts';
import { findGenerator, type AnyGenerator } from './index.ts';

export function preparedGenerator(g: AnyGenerator): PreparedGenerator {
  return {
    typeUrl: g.typeUrl,
    cacheKey: (proxy, view) => g.cacheKey(proxy, view),
    generate: (proxy, v, names) => g.generate(proxy, v, names).map((r) => ({ name: r.name, any: encodeAnyRaw(g.typeUrl, g.codec.encode(r.resource)) })),
  };
}

/** The lookup the ADS server takes: istiod's generator resolution over our registry. */
export function generatorLookup(): GeneratorLookup {
  const adapted = new Map<AnyGenerator, PreparedGenerator>();
  return (proxy, typeUrl) => {
    const g = findGenerator(proxy, typeUrl);
    if (g === undefined) return undefined;
    let a = adapted.get(g);
    if (a === undefined) adapted.set(g, a = preparedGenerator(g));
    return a;
  };
}
