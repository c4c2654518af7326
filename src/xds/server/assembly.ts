/**
 * What a state-of-the-world response holds, from the generators through the caches: the whole
 * subscription of a watch (one list per class of proxies and shared subscription), the load
 * assignments an endpoint-only push changed (once per class and subscription for the push, see
 * push-scope.ts), or just the names a subscription added.
 */
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL } from '../../model/type-urls.ts';
import type { PushRequest } from '../../push/request.ts';
import type { WatchState } from '../protocol/watch.ts';
import type { ClassKeys } from './class-keys.ts';
import type { PushScope } from './push-scope.ts';
import type { CachedList, ResourceCache } from './resource-cache.ts';
import type { Subscriptions } from './subscriptions.ts';
import type { GeneratorLookup } from './types.ts';

const NOTHING: CachedList = { resources: [], names: [] };

interface AssemblyParts {
  readonly generators: GeneratorLookup;
  readonly cache: ResourceCache;
  readonly scope: PushScope;
  readonly subscriptions: Subscriptions;
  readonly classKeys: ClassKeys;
}

export class ResponseAssembly {
  readonly #p: AssemblyParts;

  constructor(parts: AssemblyParts) {
    this.#p = parts;
  }

  /** Every resource the watch's subscription covers; load assignments come from the per-name cache. */
  whole(proxy: Proxy, watch: WatchState, view: MeshView): CachedList {
    const { generators, cache, subscriptions, classKeys } = this.#p;
    const gen = generators(proxy, watch.typeUrl);
    if (!gen) return NOTHING;
    const sub = watch.subscription;
    const classKey = classKeys.of(proxy, watch, view, gen);
    const key = `${watch.typeUrl}\u0000${classKey}\u0000${subscriptions.key(sub)}`;
    if (watch.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL && !sub.wildcard) {
      return cache.list(view, key, () => cache.assignments(view, classKey, sub.names, (missing) => gen.generate(proxy, view, missing)));
    }
    return cache.list(view, key, () => gen.generate(proxy, view, sub.wildcard ? 'wildcard' : [...sub.names]));
  }

  /** The load assignments of an endpoint-only push for one watch: only those of changed services. */
  changed(proxy: Proxy, watch: WatchState, view: MeshView, req: PushRequest): CachedList {
    const { generators, cache, scope, classKeys } = this.#p;
    const gen = generators(proxy, watch.typeUrl);
    if (!gen) return NOTHING;
    const sub = watch.subscription;
    const classKey = classKeys.of(proxy, watch, view, gen);
    return scope.assignments(req, view, gen, classKey, sub, () => {
      const names = scope.changedNames(req, sub);
      const resources = names === undefined
        ? this.whole(proxy, watch, view).resources.filter((r) => scope.changed(req, r.name))
        : cache.assignments(view, classKey, names, (missing) => gen.generate(proxy, view, missing));
      return { resources, names: resources.map((r) => r.name) };
    });
  }

  /** Just the named resources of a watch (a subscription that grew). */
  named(proxy: Proxy, watch: WatchState, view: MeshView, names: readonly string[]): CachedList {
    const { generators, cache, classKeys } = this.#p;
    const gen = generators(proxy, watch.typeUrl);
    if (!gen) return NOTHING;
    const resources = watch.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL
      ? cache.assignments(view, classKeys.of(proxy, watch, view, gen), names, (missing) => gen.generate(proxy, view, missing))
      : gen.generate(proxy, view, [...names]);
    return { resources, names: resources.map((r) => r.name) };
  }
}
