/**
 * Adapts the registry to the xDS server's seam (src/xds/server/types.ts): resources come out encoded
 * as `Any` bytes, once per cache entry, and `findGenerator` becomes a `GeneratorLookup`.

 */
import { encodeAnyRaw } from '../../proto/codec.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { GeneratorLookup, PreparedGenerator } from '../server/types.ts';
import { findGenerator, type AnyGenerator } from './index.ts';

export function preparedGenerator(g: AnyGenerator): PreparedGenerator {
  return {
    typeUrl: g.typeUrl,
    cacheKey: (proxy, view) => g.cacheKey(proxy, view),
    generate: (proxy, v, names) => g.generate(proxy, v, names).map((r) => ({ name: r.name, any: encodeAnyRaw(g.typeUrl, g.codec.encode(r.resource)) })),
  };
}

/**
 * The lookup the ADS server takes: istiod's generator resolution over our registry, remembered per
 * proxy (it reads only the proxy's immutable type and generator; the server asks several times per
 * connection and push).
 */
export function generatorLookup(): GeneratorLookup {
  const adapted = new Map<AnyGenerator, PreparedGenerator>();
  const perProxy = new WeakMap<Proxy, Map<string, PreparedGenerator | null>>();
  return (proxy, typeUrl) => {
    let known = perProxy.get(proxy);
    if (known === undefined) perProxy.set(proxy, known = new Map<string, PreparedGenerator | null>());
    let a = known.get(typeUrl);
    if (a === undefined) {
      const g = findGenerator(proxy, typeUrl);
      a = null;
      if (g !== undefined) {
        a = adapted.get(g) ?? null;
        if (a === null) adapted.set(g, a = preparedGenerator(g));
      }
      // A client may ask for any number of unknown type URLs: remember only the few there are generators for.
      if (a !== null || known.size < 32) known.set(typeUrl, a);
    }
    return a ?? undefined;
  };
}
