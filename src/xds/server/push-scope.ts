/**
 * What an endpoint-only push touches: the load assignment names of a subscription that belong to
 * the changed services, memoized per push and shared subscription, so a thousand sidecars with the
 * same EDS names cost one scan; and the load assignments a push sends, made once per (view,
 * generator, cache key, shared subscription), so those sidecars share one list too.
 */
import type { MeshView } from '../../model/mesh-view.ts';
import type { PushRequest } from '../../push/request.ts';
import type { Subscription } from '../protocol/watch.ts';
import type { CachedList } from './resource-cache.ts';

/** What one push sends for a class of proxies, by generator, cache key and subscription. */
interface Sent {
  readonly view: MeshView;
  readonly byGenerator: Map<object, Map<string, WeakMap<Subscription, CachedList>>>;
}

export class PushScope {
  readonly #hostOf: (name: string) => string;
  readonly #memo = new WeakMap<PushRequest, WeakMap<Subscription, readonly string[]>>();
  readonly #sent = new WeakMap<PushRequest, Sent>();

  constructor(hostOf: (name: string) => string) {
    this.#hostOf = hostOf;
  }

  /**
   * The subscribed names whose service changed in `req`; for a wildcard subscription, undefined
   * (every name of the type: the caller filters what it generates with `changed`).
   */
  changedNames(req: PushRequest, sub: Subscription): readonly string[] | undefined {
    if (sub.wildcard) return undefined;
    let perReq = this.#memo.get(req);
    if (!perReq) this.#memo.set(req, perReq = new WeakMap());
    let out = perReq.get(sub);
    if (!out) {
      const names: string[] = [];
      for (const n of sub.names) if (req.hostnames.has(this.#hostOf(n))) names.push(n);
      out = names;
      perReq.set(sub, out);
    }
    return out;
  }

  /** Whether a load assignment name belongs to a service the push changed. */
  changed(req: PushRequest, name: string): boolean {
    return req.hostnames.has(this.#hostOf(name));
  }

  /** Whether an endpoint-only push concerns the subscription at all. */
  touches(req: PushRequest, sub: Subscription): boolean {
    return req.hostnames.size > 0 && (sub.wildcard || (this.changedNames(req, sub)?.length ?? 0) > 0);
  }

  /**
   * The changed load assignments a push sends to a watch: `make` runs once per (view, generator,
   * cache key, subscription) of the push. By the generator contract (types.ts) what a generator
   * makes depends on nothing else, so every proxy of the class gets the same list.
   */
  assignments(req: PushRequest, view: MeshView, generator: object, cacheKey: string, sub: Subscription, make: () => CachedList): CachedList {
    let sent = this.#sent.get(req);
    if (sent?.view !== view) this.#sent.set(req, sent = { view, byGenerator: new Map<object, Map<string, WeakMap<Subscription, CachedList>>>() });
    let byKey = sent.byGenerator.get(generator);
    if (!byKey) sent.byGenerator.set(generator, byKey = new Map<string, WeakMap<Subscription, CachedList>>());
    let bySub = byKey.get(cacheKey);
    if (!bySub) byKey.set(cacheKey, bySub = new WeakMap<Subscription, CachedList>());
    let out = bySub.get(sub);
    if (!out) bySub.set(sub, out = make());
    return out;
  }
}
