/**
 * The contract every xDS resource generator follows (istiod's XdsResourceGenerator, made pure):
 * `generate(proxy, view, names)` reads only the immutable MeshView and the proxy fields its module
 * lists in `reads`, and `cacheKey(proxy, view)` folds exactly those fields into a string. Two proxies
 * with equal keys receive identical resources for identical names against the same view, so the
 * server can encode a resource once per (type URL, cache key, view version, name) and share bytes.
 * Every generator but EDS reads endpoints only through the proxy's inbound ports (in its cache key)
 * and serviceIdentities (tls.ts), whose change is a full push: an endpoint push keeps their output.
 */
import type { TypeUrl } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { Codec } from '../../proto/codec.ts';

/** One generated resource: its xDS name and the typed message (encoded later, once, by the server). */
export interface GeneratedResource<T> {
  readonly name: string;
  readonly resource: T;
}

/** The names a request asked for, or every resource of the type (an empty / wildcard subscription). */
export type RequestedNames = readonly string[] | 'wildcard';

export type GenerateFn<T> = (proxy: Proxy, view: MeshView, names: RequestedNames) => GeneratedResource<T>[];

export interface ResourceGenerator<T> {
  readonly typeUrl: TypeUrl;
  /** The codec for `T`, so callers encode without knowing the message type. */
  readonly codec: Codec<T>;
  /** The proxy fields `generate` reads, written down (documentation and tests). */
  readonly reads: readonly string[];
  /** Equal keys (same view) mean equal output for equal names. */
  cacheKey(proxy: Proxy, view: MeshView): string;
  generate: GenerateFn<T>;
}

/** Keeps the resources that were asked for, in the generator's order. */
export function selectRequested<T>(all: readonly GeneratedResource<T>[], names: RequestedNames): GeneratedResource<T>[] {
  if (names === 'wildcard') return [...all];
  const set = new Set(names);
  return all.filter((r) => set.has(r.name));
}
