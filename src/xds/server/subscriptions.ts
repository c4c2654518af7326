/**
 * Shared subscriptions: identical subscriptions (e.g. every sidecar's EDS names) become one object
 * with one key, so per-subscription work (the names a push touches, the load assignments a class
 * gets) is done once for all the proxies that hold it; and proxies that send those names with the
 * same bytes share one copy of the bytes (a few orders per subscription: proxies need not list names
 * in one order).
 */
import { sameWire } from '../protocol/request-wire.ts';
import type { Subscription } from '../protocol/watch.ts';

/** Distinct name encodings kept per shared subscription. */
const MAX_WIRES_PER_SUBSCRIPTION = 4;
/** Shared subscriptions kept (past it, the table starts over). */
const MAX_SUBSCRIPTIONS = 10_000;

export class Subscriptions {
  readonly #byKey = new Map<string, Subscription>();
  readonly #keys = new WeakMap<Subscription, string>();
  readonly #wires = new WeakMap<Subscription, Uint8Array[]>();

  /** `*`, or the sorted names: equal for equal subscriptions. */
  key(sub: Subscription): string {
    if (sub.wildcard) return '*';
    let key = this.#keys.get(sub);
    if (key === undefined) {
      key = [...sub.names].sort().join('\n');
      this.#keys.set(sub, key);
    }
    return key;
  }

  /** The shared object equal to `sub`. */
  intern(sub: Subscription): Subscription {
    if (sub.wildcard) return sub;
    const key = this.key(sub);
    const known = this.#byKey.get(key);
    if (known) return known;
    if (this.#byKey.size > MAX_SUBSCRIPTIONS) this.#byKey.clear();
    this.#byKey.set(key, sub);
    return sub;
  }

  /** The shared copy of `wire`, the names of (shared) `sub` as a request encoded them. */
  internWire(sub: Subscription, wire: Uint8Array): Uint8Array {
    let known = this.#wires.get(sub);
    if (known === undefined) this.#wires.set(sub, known = []);
    if (known.includes(wire)) return wire;
    for (const k of known) if (sameWire(k, wire)) return k;
    if (known.length < MAX_WIRES_PER_SUBSCRIPTION) known.push(wire);
    return wire;
  }
}
