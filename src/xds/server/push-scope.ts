/**
 * What an endpoint-only push touches: the load assignment names of a subscription that belong to
 * the changed services, memoized per push and shared subscription, so a thousand sidecars with the
 * same EDS names cost one scan.
 */
import type { PushRequest } from '../../push/request.ts';
import type { Subscription } from '../protocol/watch.ts';

export class PushScope {
  readonly #hostOf: (name: string) => string;
  readonly #memo = new WeakMap<PushRequest, WeakMap<Subscription, readonly string[]>>();

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
}
