import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyRequest, configStatus, recordSent, type RequestView, type WatchState } from './watch.ts';
import { decodeDiscoveryRequest } from './request-wire.ts';
import { discoveryRequestCodec } from '../../proto/codec.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';

const now = new Date('2026-11-24T12:00:00Z');

function sent(w: WatchState, nonce: string): WatchState {
  recordSent(w, nonce, 'v1', [], now);
  return w;
}

test('the first request for a type is answered, even when it carries a nonce from an earlier stream', () => {
  const fresh = applyRequest(undefined, CDS, { typeUrl: CDS }, now);
  assert.equal(fresh.decision.kind, 'initial');
  assert.deepEqual(fresh.watch.subscription, { wildcard: true }, 'empty names on CDS = wildcard');
  const reconnect = applyRequest(undefined, EDS, { typeUrl: EDS, responseNonce: 'old-42', resourceNames: ['outbound|80||a'] }, now);
  assert.equal(reconnect.decision.kind, 'initial');
  assert.equal(reconnect.watch.subscription.wildcard, false);
});

test('ACK, NACK and stale nonces, one by one', () => {
  const table: { name: string; req: { responseNonce?: string; errorMessage?: string; resourceNames?: string[] }; kind: string; status: string }[] = [
    { name: 'ACK of the last nonce', req: { responseNonce: 'n2', resourceNames: ['a'] }, kind: 'ack', status: 'SYNCED' },
    { name: 'NACK of the last nonce', req: { responseNonce: 'n2', resourceNames: ['a'], errorMessage: 'bad cluster' }, kind: 'nack', status: 'ERROR' },
    { name: 'ACK of an older nonce is stale', req: { responseNonce: 'n1', resourceNames: ['a'] }, kind: 'stale', status: 'STALE' },
    { name: 'NACK of an older nonce is stale too', req: { responseNonce: 'n1', errorMessage: 'x' }, kind: 'stale', status: 'STALE' },
    { name: 'ACK that changes the names asks for a response', req: { responseNonce: 'n2', resourceNames: ['a', 'b'] }, kind: 'resubscribe', status: 'SYNCED' },
  ];
  for (const row of table) {
    const { watch } = applyRequest(undefined, EDS, { typeUrl: EDS, resourceNames: ['a'] }, now);
    sent(watch, 'n1');
    sent(watch, 'n2');
    const { decision } = applyRequest(watch, EDS, { typeUrl: EDS, ...row.req }, now);
    assert.equal(decision.kind, row.kind, row.name);
    assert.equal(configStatus(watch), row.status, row.name);
  }
});

test('a NACK keeps its message until the next ACK clears it', () => {
  const { watch } = applyRequest(undefined, CDS, { typeUrl: CDS }, now);
  sent(watch, 'n1');
  applyRequest(watch, CDS, { typeUrl: CDS, responseNonce: 'n1', errorMessage: 'cluster x: invalid' }, now);
  assert.equal(watch.lastError, 'cluster x: invalid');
  assert.equal(configStatus(watch), 'ERROR');
  sent(watch, 'n2');
  assert.equal(configStatus(watch), 'ERROR', 'still ERROR while the new push is unacknowledged');
  applyRequest(watch, CDS, { typeUrl: CDS, responseNonce: 'n2' }, now);
  assert.equal(watch.lastError, '');
  assert.equal(configStatus(watch), 'SYNCED');
});

test('nothing sent yet is NOT_SENT; a wildcard CDS stays wildcard on ACK with empty names', () => {
  const { watch } = applyRequest(undefined, CDS, { typeUrl: CDS }, now);
  assert.equal(configStatus(watch), 'NOT_SENT');
  sent(watch, 'n1');
  const { decision } = applyRequest(watch, CDS, { typeUrl: CDS, responseNonce: 'n1' }, now);
  assert.equal(decision.kind, 'ack');
  assert.deepEqual(watch.subscription, { wildcard: true });
});

test('EDS with empty names is an empty subscription, and "*" is an explicit wildcard', () => {
  const empty = applyRequest(undefined, EDS, { typeUrl: EDS, resourceNames: [] }, now).watch;
  assert.deepEqual(empty.subscription, { wildcard: false, names: new Set() });
  const star = applyRequest(undefined, EDS, { typeUrl: EDS, resourceNames: ['*'] }, now).watch;
  assert.deepEqual(star.subscription, { wildcard: true });
});

test('an ACK repeating the same names (in any order, any number) keeps the subscription object', () => {
  const names = Array.from({ length: 1000 }, (_, i) => `outbound|80||s${i}.ns.svc.cluster.local`);
  const { watch } = applyRequest(undefined, EDS, { typeUrl: EDS, resourceNames: names }, now);
  const before = watch.subscription;
  recordSent(watch, 'n1', 'v1', [], now);
  const ack = applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n1', resourceNames: [...names].reverse() }, now);
  assert.equal(ack.decision.kind, 'ack');
  assert.equal(watch.subscription, before, 'no new set was built');
  recordSent(watch, 'n2', 'v1', [], now);
  const dup = applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n2', resourceNames: [...names, names[0] ?? ''] }, now);
  assert.equal(dup.decision.kind, 'ack', 'a duplicated name is still the same subscription');
  recordSent(watch, 'n3', 'v1', [], now);
  const fewer = applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n3', resourceNames: names.slice(1) }, now);
  assert.equal(fewer.decision.kind, 'resubscribe');
});

test('a named subscription that changes says which names it added; what the client holds follows it', () => {
  const { watch } = applyRequest(undefined, EDS, { typeUrl: EDS, resourceNames: ['a', 'b'] }, now);
  recordSent(watch, 'n1', 'v1', ['a', 'b'], now);
  const grown = applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n1', resourceNames: ['b', 'c', 'd'] }, now);
  assert.deepEqual(grown.decision, { kind: 'resubscribe', respond: true, added: ['c', 'd'] });
  recordSent(watch, 'n2', 'v1', { added: ['c', 'd'] }, now);
  assert.deepEqual(watch.sentNames, ['b', 'c', 'd'], 'a, no longer subscribed, is dropped; c and d join b');
  const shrunk = applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n2', resourceNames: ['d'] }, now);
  assert.deepEqual(shrunk.decision, { kind: 'resubscribe', respond: true, added: [] });
  const cds = applyRequest(undefined, CDS, { typeUrl: CDS, resourceNames: [] }, now);
  recordSent(cds.watch, 'c1', 'v1', ['x'], now);
  const named = applyRequest(cds.watch, CDS, { typeUrl: CDS, responseNonce: 'c1', resourceNames: ['x'] }, now);
  assert.deepEqual(named.decision, { kind: 'resubscribe', respond: true }, 'leaving a wildcard names no additions: answer in full');
});

/** A request as the ADS server hands it over: names as wire bytes, decoded (and counted) only when read. */
function wireRequest(nonce: string | undefined, names: readonly string[], reads: { n: number }): RequestView {
  const r = decodeDiscoveryRequest(Buffer.from(discoveryRequestCodec.encode({ typeUrl: EDS, resourceNames: [...names], ...(nonce ? { responseNonce: nonce } : {}) })));
  return {
    typeUrl: EDS,
    ...(nonce ? { responseNonce: nonce } : {}),
    ...(r.namesWire ? { namesWire: r.namesWire } : {}),
    get resourceNames(): readonly string[] { reads.n++; return r.resourceNames ?? []; },
  };
}

test('an ACK with the bytes of the subscription is an ACK without reading its names; any other list is still honoured', () => {
  const reads = { n: 0 };
  const a = ['outbound|80||a', 'outbound|80||b'];
  const { watch } = applyRequest(undefined, EDS, wireRequest(undefined, a, reads), now);
  sent(watch, 'n1');
  reads.n = 0;
  assert.equal(applyRequest(watch, EDS, wireRequest('n1', a, reads), now).decision.kind, 'ack');
  assert.equal(reads.n, 0, 'same bytes: the names were not decoded');

  // Another name: a resubscription that adds it.
  sent(watch, 'n2');
  const grown = applyRequest(watch, EDS, wireRequest('n2', [...a, 'outbound|80||c'], reads), now).decision;
  assert.deepEqual(grown, { kind: 'resubscribe', respond: true, added: ['outbound|80||c'] });

  // The same names in another order: an ACK (names compared), and from then on those bytes are known.
  sent(watch, 'n3');
  const reordered = ['outbound|80||c', 'outbound|80||b', 'outbound|80||a'];
  assert.equal(applyRequest(watch, EDS, wireRequest('n3', reordered, reads), now).decision.kind, 'ack');
  reads.n = 0;
  assert.equal(applyRequest(watch, EDS, wireRequest('n3', reordered, reads), now).decision.kind, 'ack');
  assert.equal(reads.n, 0);

  // The old bytes (without c) ask for less again: honoured, not taken for the known list.
  sent(watch, 'n4');
  assert.equal(applyRequest(watch, EDS, wireRequest('n4', a, reads), now).decision.kind, 'resubscribe');
  assert.deepEqual(watch.subscription.wildcard ? [] : [...watch.subscription.names].sort(), a);
});

test('known name bytes are forgotten when a request without them, or a stale one, comes', () => {
  const reads = { n: 0 };
  const a = ['outbound|80||a'];
  const b = ['outbound|80||b'];
  const { watch } = applyRequest(undefined, EDS, wireRequest(undefined, a, reads), now);
  sent(watch, 'n1');
  // A request with plain names (no bytes) moves the subscription to b.
  assert.equal(applyRequest(watch, EDS, { typeUrl: EDS, responseNonce: 'n1', resourceNames: b }, now).decision.kind, 'resubscribe');
  sent(watch, 'n2');
  // a's bytes no longer describe the subscription: a resubscription, not an ACK.
  assert.equal(applyRequest(watch, EDS, wireRequest('n2', a, reads), now).decision.kind, 'resubscribe');

  // A stale request's names change nothing, so its bytes are not remembered either.
  sent(watch, 'n3');
  assert.equal(applyRequest(watch, EDS, wireRequest('old', b, reads), now).decision.kind, 'stale');
  assert.equal(applyRequest(watch, EDS, wireRequest('n3', b, reads), now).decision.kind, 'resubscribe');
});
