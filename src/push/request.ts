/**
 * What a push is for. Registries and config watchers describe changes as PushRequests; requests
 * merge (debounce, per-connection queue) so a burst of changes costs one push. When the debouncer
 * lets a request go, the server stamps it with the immutable view it is computed for (`view`); a
 * merge keeps the newer request's view.
 */
import type { MeshView } from '../model/mesh-view.ts';

export interface PushRequest {
  /** A full push: every type is recomputed. Otherwise only endpoints of `hostnames`. */
  readonly full: boolean;
  /** The services (host names) whose endpoints changed: an endpoint-only push sends EDS for these only. */
  readonly hostnames: ReadonlySet<string>;
  /**
   * Whether `hostnames` names every service the change touches (endpoint and Service changes), so
   * that load assignments of other services cannot have changed; false for config and network
   * changes, which may change any of them.
   */
  readonly hostsKnown: boolean;
  /** Why (for metrics and logs), e.g. `endpoint`, `service`, `secret`, `config`. */
  readonly reasons: ReadonlySet<string>;
  /** When the earliest merged change happened (ms since epoch), for convergence time. */
  readonly start: number;
  /** The snapshot the push is computed for, set once the request leaves the debouncer. */
  readonly view?: MeshView;
}

export function fullPush(reason: string, start: number): PushRequest {
  return { full: true, hostnames: new Set(), hostsKnown: false, reasons: new Set([reason]), start };
}

export function endpointPush(hostnames: Iterable<string>, start: number): PushRequest {
  return { full: false, hostnames: new Set(hostnames), hostsKnown: true, reasons: new Set(['endpoint']), start };
}

/**
 * Services were added, changed or removed: a full push (clusters, listeners and routes may all
 * change), whose load assignments change only for these services (istiod's partial full push).
 */
export function servicePush(hostnames: Iterable<string>, start: number): PushRequest {
  return { full: true, hostnames: new Set(hostnames), hostsKnown: true, reasons: new Set(['service']), start };
}

export function mergePush(a: PushRequest | undefined, b: PushRequest): PushRequest {
  if (!a) return b;
  return {
    full: a.full || b.full,
    hostnames: new Set([...a.hostnames, ...b.hostnames]),
    hostsKnown: a.hostsKnown && b.hostsKnown,
    reasons: new Set([...a.reasons, ...b.reasons]),
    start: Math.min(a.start, b.start),
    ...(b.view ?? a.view ? { view: b.view ?? a.view } : {}),
  };
}


/**
 * Merges requests in place, as a fold of mergePush would, without copying the sets at each merge: a
 * burst of n changes (a registry's initial sync: one per Service and EndpointSlice) costs O(n), not
 * O(n²). `request()` answers the merge so far, as an immutable request.
 */
export class PushAccumulator {
  #full: boolean;
  readonly #hostnames: Set<string>;
  #hostsKnown: boolean;
  readonly #reasons: Set<string>;
  #start: number;
  #view: MeshView | undefined;

  constructor(first: PushRequest) {
    this.#full = first.full;
    this.#hostnames = new Set(first.hostnames);
    this.#hostsKnown = first.hostsKnown;
    this.#reasons = new Set(first.reasons);
    this.#start = first.start;
    this.#view = first.view;
  }

  add(b: PushRequest): void {
    this.#full ||= b.full;
    for (const h of b.hostnames) this.#hostnames.add(h);
    this.#hostsKnown &&= b.hostsKnown;
    for (const r of b.reasons) this.#reasons.add(r);
    this.#start = Math.min(this.#start, b.start);
    this.#view = b.view ?? this.#view;
  }

  request(): PushRequest {
    return {
      full: this.#full, hostnames: new Set(this.#hostnames), hostsKnown: this.#hostsKnown, reasons: new Set(this.#reasons), start: this.#start,
      ...(this.#view ? { view: this.#view } : {}),
    };
  }
}
