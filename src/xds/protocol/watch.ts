/**
 * Per-connection, per-type subscription state of state-of-the-world ADS, and the rule that decides
 * whether a request needs a response (istiod's ShouldRespond, go-control-plane's subscription).
 *
 * Spec: https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol
 * - A request whose `response_nonce` is not the last nonce sent for its type is stale: ignore it.
 * - Same nonce and no `error_detail`: an ACK. If the resource names changed, respond with the new set.
 * - Same nonce with `error_detail`: a NACK; keep the last good config, remember the error.
 * - The first request for a type (even with a nonce, e.g. after a reconnect) is answered.
 * - LDS and CDS are wildcard types: an empty name list on the first request, or `*`, means "all".
 */
import type { TypeUrl } from '../../model/ids.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../model/type-urls.ts';
import { sameWire } from './request-wire.ts';

export type Subscription = { readonly wildcard: true } | { readonly wildcard: false; readonly names: ReadonlySet<string> };

export interface WatchState {
  readonly typeUrl: TypeUrl;
  subscription: Subscription;
  nonceSent: string;
  versionSent: string;
  lastSent?: Date;
  nonceAcked: string;
  lastAcked?: Date;
  /** Message of the last NACK; cleared by the next ACK. */
  lastError: string;
  lastErrorAt?: Date;
  /** Names in the last response (shared with the response itself; nothing is copied per proxy). */
  sentNames: readonly string[];
  /**
   * The wire bytes of a request's names that ask for exactly `subscription` (set whenever the
   * subscription is made from or checked against a request that carried its bytes): a later request
   * with the same bytes asks for the same, without its names being decoded or compared one by one.
   */
  namesWire?: Uint8Array;
}

export interface RequestView {
  readonly typeUrl: string;
  readonly responseNonce?: string;
  /** Read only when needed: it may decode the names (request-wire.ts). */
  readonly resourceNames?: readonly string[];
  /** The names as wire bytes (request-wire.ts), when the request came from the wire. */
  readonly namesWire?: Uint8Array;
  readonly errorMessage?: string;
}

export type Decision =
  | { readonly kind: 'initial'; readonly respond: true }
  /**
   * The names changed. `added` lists the names new to a named subscription (undefined when either side
   * is a wildcard): a non-wildcard type may then be answered with just those, as istiod does.
   */
  | { readonly kind: 'resubscribe'; readonly respond: true; readonly added?: readonly string[] }
  | { readonly kind: 'ack'; readonly respond: false }
  | { readonly kind: 'nack'; readonly respond: false; readonly error: string }
  | { readonly kind: 'stale'; readonly respond: false };

const WILDCARD_TYPES: ReadonlySet<string> = new Set([LISTENER_TYPE_URL, CLUSTER_TYPE_URL]);

export function isWildcardType(typeUrl: string): boolean {
  return WILDCARD_TYPES.has(typeUrl);
}

export function subscriptionFrom(typeUrl: string, names: readonly string[] | undefined, first: boolean, previous?: Subscription): Subscription {
  const list = names ?? [];
  if (list.includes('*')) return { wildcard: true };
  if (list.length === 0 && isWildcardType(typeUrl) && (first || previous?.wildcard === true)) return { wildcard: true };
  return { wildcard: false, names: new Set(list) };
}

/**
 * Whether a request's names ask for exactly the current subscription, without building a new set
 * (every ACK repeats the full name list: for a sidecar, thousands of load-assignment names).
 */
export function namesMatch(current: Subscription, typeUrl: string, names: readonly string[] | undefined): boolean {
  const list = names ?? [];
  if (current.wildcard) return list.includes('*') || (list.length === 0 && isWildcardType(typeUrl));
  if (list.length !== current.names.size) return false;
  for (const n of list) if (!current.names.has(n)) return false;
  return true;
}

export function sameSubscription(a: Subscription, b: Subscription): boolean {
  if (a.wildcard || b.wildcard) return a.wildcard === b.wildcard;
  if (a.names.size !== b.names.size) return false;
  for (const n of a.names) if (!b.names.has(n)) return false;
  return true;
}

export function newWatch(typeUrl: TypeUrl, subscription: Subscription): WatchState {
  return { typeUrl, subscription, nonceSent: '', versionSent: '', nonceAcked: '', lastError: '', sentNames: [] };
}

/** The client rejected what `nonceSent` carried: keep its message for sync status; returns it. */
export function recordNack(watch: WatchState, message: string, now: Date): string {
  watch.lastError = message === '' ? 'NACK without a message' : message;
  watch.lastErrorAt = now;
  return watch.lastError;
}

/** The client accepted `nonce`: it is in sync, and any earlier rejection is over. */
export function recordAck(watch: WatchState, nonce: string, now: Date): void {
  watch.nonceAcked = nonce;
  watch.lastAcked = now;
  watch.lastError = '';
  delete watch.lastErrorAt;
}

/**
 * Applies a request to the watch (creating it when `watch` is undefined) and says whether to respond.
 * Mutates `watch` in place; returns the (possibly new) watch and the decision.
 */
export function applyRequest(watch: WatchState | undefined, typeUrl: TypeUrl, req: RequestView, now: Date): { watch: WatchState; decision: Decision } {
  if (!watch) {
    const w = newWatch(typeUrl, subscriptionFrom(typeUrl, req.resourceNames, true));
    setWire(w, req);
    return { watch: w, decision: { kind: 'initial', respond: true } };
  }
  const nonce = req.responseNonce ?? '';
  if (nonce === '' && watch.nonceSent === '') {
    // A repeated initial request before anything was sent: take the newest names and answer once.
    watch.subscription = subscriptionFrom(typeUrl, req.resourceNames, true);
    setWire(watch, req);
    return { watch, decision: { kind: 'initial', respond: true } };
  }
  if (nonce !== watch.nonceSent) return { watch, decision: { kind: 'stale', respond: false } };
  if (req.errorMessage !== undefined) return { watch, decision: { kind: 'nack', respond: false, error: recordNack(watch, req.errorMessage, now) } };
  recordAck(watch, nonce, now);
  // The usual ACK: the very bytes that made or matched the subscription.
  if (req.namesWire !== undefined && watch.namesWire !== undefined && sameWire(req.namesWire, watch.namesWire)) return { watch, decision: { kind: 'ack', respond: false } };
  if (namesMatch(watch.subscription, typeUrl, req.resourceNames)) {
    setWire(watch, req);
    return { watch, decision: { kind: 'ack', respond: false } };
  }
  const next = subscriptionFrom(typeUrl, req.resourceNames, false, watch.subscription);
  if (sameSubscription(next, watch.subscription)) {
    setWire(watch, req);
    return { watch, decision: { kind: 'ack', respond: false } };
  }
  const before = watch.subscription;
  watch.subscription = next;
  setWire(watch, req);
  if (before.wildcard || next.wildcard) return { watch, decision: { kind: 'resubscribe', respond: true } };
  const added = [...next.names].filter((n) => !before.names.has(n));
  return { watch, decision: { kind: 'resubscribe', respond: true, added } };
}

/** The request's names ask for exactly the watch's subscription now: remember their bytes, if any. */
function setWire(watch: WatchState, req: RequestView): void {
  if (req.namesWire === undefined) delete watch.namesWire;
  else watch.namesWire = req.namesWire;
}

/**
 * Records a response just written for this watch. `names` is everything the client now holds, or
 * `{ added }` for a partial response of a non-wildcard type (EDS, RDS), after which the client holds
 * what it held before that is still subscribed, and the added names.
 */
export function recordSent(watch: WatchState, nonce: string, version: string, names: readonly string[] | { readonly added: readonly string[] }, now: Date): void {
  watch.nonceSent = nonce;
  watch.versionSent = version;
  watch.lastSent = now;
  watch.sentNames = 'added' in names ? heldAfterPartial(watch, names.added) : names;
}

function heldAfterPartial(watch: WatchState, added: readonly string[]): readonly string[] {
  if (added.length === 0) return watch.sentNames;
  const sub = watch.subscription;
  const held = new Set(sub.wildcard ? watch.sentNames : watch.sentNames.filter((n) => sub.names.has(n)));
  for (const n of added) held.add(n);
  return [...held].sort();
}

export type ConfigStatus = 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';

/** Istio's sync status of one type (docs/istio-compat.md §14.9). */
export function configStatus(w: WatchState): ConfigStatus {
  if (w.lastError !== '') return 'ERROR';
  if (w.nonceSent === '') return 'NOT_SENT';
  return w.nonceAcked === w.nonceSent ? 'SYNCED' : 'STALE';
}
