/**
 * Per-connection, per-type state of incremental ("delta") ADS, and the two pure steps of the
 * protocol: applying a DeltaDiscoveryRequest, and computing what a response must carry.
 *
 * Spec: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol ("Incremental xDS").
 * - Every request may do two independent things: change the subscription
 *   (`resource_names_subscribe` / `resource_names_unsubscribe`) and ACK or NACK an earlier response
 *   (`response_nonce`, NACK when `error_detail` is set). Subscription changes are applied whatever
 *   the nonce says; only the ACK bookkeeping cares whether the nonce is the latest one sent.
 * - `*` subscribes to (or, in unsubscribe, leaves) the wildcard. For LDS and CDS a first request
 *   with no names at all is the legacy wildcard.
 * - The first request of a reconnecting stream lists, in `initial_resource_versions`, what the client
 *   already holds; resources it holds at the current version are not sent again, resources it holds
 *   that no longer exist are named in `removed_resources`.
 * - Names in `resource_names_subscribe` must be answered even when the server believes the client
 *   is up to date (it may have forgotten them); a subscribed name that does not exist is answered in
 *   `removed_resources`, so the client need not wait for a timeout.
 * - Unsubscribing a name is not answered: the client drops it. While the wildcard is on, the client
 *   keeps the resource pending the server's word, so it is sent again (or removed).
 * - Per-resource versions are opaque strings; the server's `system_version_info` is informational.
 */
import type { TypeUrl } from '../../model/ids.ts';
import { isWildcardType, newWatch, recordAck, recordNack, type Subscription, type WatchState } from './watch.ts';

export interface DeltaWatch extends WatchState {
  /** Subscribed to every resource of the type (`*`, or the legacy empty first request on LDS/CDS). */
  wildcard: boolean;
  /** Names subscribed explicitly. */
  readonly names: Set<string>;
  /** What the client holds, as far as the server knows: name -> version. */
  readonly known: Map<string, string>;
  /** Names the next response must answer whatever the client's version (new subscriptions). */
  readonly forced: Set<string>;
}

export interface DeltaRequestView {
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly initialVersions?: Readonly<Record<string, string>>;
  readonly responseNonce?: string;
  /** Set when the request carries `error_detail` (a NACK); '' when the detail has no message. */
  readonly errorMessage?: string;
}

/** What the request was as an acknowledgement, and whether it needs a response. */
export type DeltaAck = 'initial' | 'none' | 'ack' | 'nack' | 'stale';

export interface DeltaDecision {
  readonly ack: DeltaAck;
  readonly respond: boolean;
  /** The NACK's message. */
  readonly error?: string;
}

export interface VersionedResource {
  readonly name: string;
  /** The resource's version: equal bytes, equal version. */
  readonly version: string;
  readonly any: Uint8Array;
}

export interface DeltaDiff {
  readonly resources: readonly VersionedResource[];
  readonly removed: readonly string[];
}

/** The state-of-the-world view of a delta subscription (what the generators are asked for). */
export function subscriptionOf(w: Pick<DeltaWatch, 'wildcard' | 'names'>): Subscription {
  return w.wildcard ? { wildcard: true } : { wildcard: false, names: new Set(w.names) };
}

function newDeltaWatch(typeUrl: TypeUrl): DeltaWatch {
  return { ...newWatch(typeUrl, { wildcard: false, names: new Set() }), wildcard: false, names: new Set(), known: new Map(), forced: new Set() };
}

/** Applies subscribe/unsubscribe; says whether anything needs an answer. */
function applySubscription(w: DeltaWatch, subscribe: readonly string[], unsubscribe: readonly string[], heldAtStart: ReadonlySet<string>): boolean {
  let respond = false;
  for (const name of unsubscribe) {
    if (name === '*') {
      if (!w.wildcard) continue;
      w.wildcard = false;
      // Resources held only through the wildcard are dropped by the client.
      for (const held of [...w.known.keys()]) if (!w.names.has(held)) w.known.delete(held);
      continue;
    }
    if (!w.names.delete(name)) continue;
    w.forced.delete(name);
    if (w.wildcard) {
      // Still wanted through the wildcard: the client waits for the server to confirm or remove it.
      w.forced.add(name);
      respond = true;
    } else {
      w.known.delete(name);
    }
  }
  for (const name of subscribe) {
    if (name === '*') {
      if (!w.wildcard) { w.wildcard = true; respond = true; }
      continue;
    }
    w.names.add(name);
    if (!heldAtStart.has(name)) w.forced.add(name);
    respond = true;
  }
  w.subscription = subscriptionOf(w);
  return respond;
}

/**
 * Applies one request to the type's watch (created when `watch` is undefined, i.e. the first request
 * for the type on this stream). Mutates and returns the watch.
 */
export function applyDeltaRequest(watch: DeltaWatch | undefined, typeUrl: TypeUrl, req: DeltaRequestView, now: Date): { watch: DeltaWatch; decision: DeltaDecision } {
  const subscribe = req.subscribe ?? [];
  const unsubscribe = req.unsubscribe ?? [];
  if (!watch) {
    const w = newDeltaWatch(typeUrl);
    const held = new Set<string>();
    for (const [name, version] of Object.entries(req.initialVersions ?? {})) {
      if (version === '') continue;
      w.known.set(name, version);
      held.add(name);
    }
    if (subscribe.length === 0 && isWildcardType(typeUrl)) w.wildcard = true;
    applySubscription(w, subscribe, unsubscribe, held);
    // Held resources that are no longer subscribed (and not covered by the wildcard) are not the client's concern.
    return { watch: w, decision: { ack: 'initial', respond: true } };
  }
  const changed = applySubscription(watch, subscribe, unsubscribe, new Set());
  const nonce = req.responseNonce ?? '';
  if (nonce === '') return { watch, decision: { ack: 'none', respond: changed } };
  if (nonce !== watch.nonceSent) return { watch, decision: { ack: 'stale', respond: changed } };
  if (req.errorMessage !== undefined) return { watch, decision: { ack: 'nack', respond: changed, error: recordNack(watch, req.errorMessage, now) } };
  recordAck(watch, nonce, now);
  return { watch, decision: { ack: 'ack', respond: changed } };
}

/**
 * What a response must carry, given the resources that exist now (those outside the subscription
 * are ignored): the resources the
 * client lacks or holds at another version (and every forced name), and removals for what it holds
 * that is gone, plus forced names that do not exist.
 */
export function deltaDiff(w: DeltaWatch, current: readonly VersionedResource[]): DeltaDiff {
  const resources: VersionedResource[] = [];
  const present = new Set<string>();
  for (const r of current) {
    if (!w.wildcard && !w.names.has(r.name)) continue;
    present.add(r.name);
    if (w.forced.has(r.name) || w.known.get(r.name) !== r.version) resources.push(r);
  }
  const removed: string[] = [];
  for (const name of w.known.keys()) if (!present.has(name)) removed.push(name);
  for (const name of w.forced) if (!present.has(name) && !w.known.has(name)) removed.push(name);
  removed.sort();
  return { resources, removed };
}

/** Whether a diff has nothing to say. */
export function isEmptyDiff(d: DeltaDiff): boolean {
  return d.resources.length === 0 && d.removed.length === 0;
}

/**
 * After a CDS response that added or changed `clusters`: Envoy warms each changed EDS cluster until
 * it receives that cluster's load assignment again, and over delta xDS it does not ask for it (the
 * subscription is unchanged). So the EDS watch must answer those names in its next response even
 * when their assignments did not change; otherwise the cluster stays warming and the CDS response is
 * never acknowledged. Marks the names the EDS watch subscribes to; returns how many.
 */
export function forceAssignmentsAfterClusterUpdate(eds: DeltaWatch, clusters: readonly string[]): number {
  let n = 0;
  for (const name of clusters) {
    if ((eds.wildcard || eds.names.has(name)) && eds.known.has(name)) {
      eds.forced.add(name);
      n++;
    }
  }
  return n;
}

/** Records a response about to be written: the client will hold exactly what it says. */
export function recordDeltaSent(w: DeltaWatch, nonce: string, systemVersion: string, diff: DeltaDiff, now: Date): void {
  for (const r of diff.resources) w.known.set(r.name, r.version);
  for (const name of diff.removed) w.known.delete(name);
  w.forced.clear();
  w.nonceSent = nonce;
  w.versionSent = systemVersion;
  w.lastSent = now;
  w.sentNames = [...w.known.keys()].sort();
}
