/**
 * Incremental xDS edge cases, one row each. Expectations follow Envoy's xDS protocol document
 * ("Incremental xDS": subscribing, unsubscribing, reconnect with initial_resource_versions, ACK/NACK
 * by nonce, removed_resources, knowing when a requested resource does not exist).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDeltaRequest, deltaDiff, forceAssignmentsAfterClusterUpdate, recordDeltaSent, type DeltaRequestView, type DeltaWatch, type VersionedResource } from './delta.ts';
import { encodeDeltaResponse } from './delta-response.ts';
import { configStatus } from './watch.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS } from '../../model/type-urls.ts';
import type { TypeUrl } from '../../model/ids.ts';
import { clusterCodec, deltaDiscoveryResponseCodec, encodeAnyRaw, unpackAny } from '../../proto/codec.ts';

const now = new Date('2026-12-07T09:00:00Z');

function res(name: string, version: string): VersionedResource {
  return { name, version, any: encodeAnyRaw(CDS, clusterCodec.encode({ name })) };
}

/** Sends the diff of `current` (as the server would) and returns what went out. */
function push(w: DeltaWatch, current: readonly VersionedResource[], nonce: string): { sent: string[]; removed: string[] } {
  const d = deltaDiff(w, current);
  recordDeltaSent(w, nonce, 'sys-1', d, now);
  return { sent: d.resources.map((r) => `${r.name}@${r.version}`), removed: [...d.removed] };
}

interface Row {
  readonly name: string;
  readonly type: TypeUrl;
  /** Requests before the one under test, each followed by a push of `before` under nonce n<i>. */
  readonly setup?: readonly DeltaRequestView[];
  readonly before?: readonly VersionedResource[];
  readonly req: DeltaRequestView;
  readonly ack: string;
  readonly respond: boolean;
  /** The resources that exist after the request, and what the next response must carry. */
  readonly after: readonly VersionedResource[];
  readonly sent: readonly string[];
  readonly removed: readonly string[];
  readonly wildcard?: boolean;
}

const a1 = res('a', '1');
const a2 = res('a', '2');
const b1 = res('b', '1');
const c1 = res('c', '1');

const table: Row[] = [
  {
    name: 'legacy wildcard: an empty first CDS request subscribes to everything',
    type: CDS, req: {}, ack: 'initial', respond: true, after: [a1, b1], sent: ['a@1', 'b@1'], removed: [], wildcard: true,
  },
  {
    name: 'an empty first EDS request is not a wildcard: nothing is sent',
    type: EDS, req: {}, ack: 'initial', respond: true, after: [a1, b1], sent: [], removed: [], wildcard: false,
  },
  {
    name: 'explicit wildcard "*" on any type',
    type: EDS, req: { subscribe: ['*'] }, ack: 'initial', respond: true, after: [a1, b1], sent: ['a@1', 'b@1'], removed: [], wildcard: true,
  },
  {
    name: 'first CDS request with names is not a wildcard',
    type: CDS, req: { subscribe: ['a'] }, ack: 'initial', respond: true, after: [a1], sent: ['a@1'], removed: [], wildcard: false,
  },
  {
    name: 'reconnect: resources held at the current version are not sent again; gone ones are removed',
    type: CDS, req: { initialVersions: { a: '1', b: '1', c: '0' } }, ack: 'initial', respond: true,
    after: [a1, res('c', '1')], sent: ['c@1'], removed: ['b'], wildcard: true,
  },
  {
    name: 'reconnect of named EDS: held names are not forced, new names are',
    type: EDS, req: { subscribe: ['a', 'b'], initialVersions: { a: '1' } }, ack: 'initial', respond: true,
    after: [a1, b1], sent: ['b@1'], removed: [], wildcard: false,
  },
  {
    name: 'a subscribed name that does not exist is answered in removed_resources',
    type: EDS, req: { subscribe: ['a', 'ghost'] }, ack: 'initial', respond: true, after: [a1], sent: ['a@1'], removed: ['ghost'],
  },
  {
    name: 'ACK of the latest nonce: no response, nothing changed',
    type: CDS, setup: [{}], before: [a1], req: { responseNonce: 'n0' }, ack: 'ack', respond: false, after: [a1], sent: [], removed: [],
  },
  {
    name: 'NACK of the latest nonce: no response, the client keeps what it had',
    type: CDS, setup: [{}], before: [a1], req: { responseNonce: 'n0', errorMessage: 'bad cluster a' }, ack: 'nack', respond: false, after: [a1], sent: [], removed: [],
  },
  {
    name: 'ACK of an older nonce is stale',
    type: CDS, setup: [{}, { subscribe: ['x'] }], before: [a1], req: { responseNonce: 'n0' }, ack: 'stale', respond: false, after: [a1], sent: [], removed: [],
  },
  {
    name: 'a stale ACK that also subscribes still subscribes (subscription changes ignore the nonce)',
    type: EDS, setup: [{ subscribe: ['a'] }, { subscribe: ['x'] }], before: [a1], req: { responseNonce: 'n0', subscribe: ['b'] }, ack: 'stale', respond: true,
    after: [a1, b1], sent: ['b@1'], removed: [],
  },
  {
    name: 'a later subscribe of a name the client holds at the current version is answered anyway',
    type: EDS, setup: [{ subscribe: ['a'] }], before: [a1], req: { responseNonce: 'n0', subscribe: ['a'] }, ack: 'ack', respond: true, after: [a1], sent: ['a@1'], removed: [],
  },
  {
    name: 'unsubscribe (no wildcard) is not answered and the name is forgotten',
    type: EDS, setup: [{ subscribe: ['a', 'b'] }], before: [a1, b1], req: { unsubscribe: ['b'] }, ack: 'none', respond: false, after: [a1], sent: [], removed: [],
  },
  {
    name: 'a phantom unsubscribe is ignored',
    type: EDS, setup: [{ subscribe: ['a'] }], before: [a1], req: { unsubscribe: ['never'] }, ack: 'none', respond: false, after: [a1], sent: [], removed: [],
  },
  {
    name: 'unsubscribing a name still covered by the wildcard: the server confirms it by sending it again',
    type: CDS, setup: [{ subscribe: ['*', 'a'] }], before: [a1], req: { unsubscribe: ['a'] }, ack: 'none', respond: true, after: [a1], sent: ['a@1'], removed: [],
  },
  {
    name: 'leaving the wildcard drops what was held only through it',
    type: CDS, setup: [{ subscribe: ['*', 'a'] }], before: [a1, b1], req: { unsubscribe: ['*'] }, ack: 'none', respond: false, after: [a1], sent: [], removed: [], wildcard: false,
  },
  {
    name: 'a push sends only the resources whose version changed',
    type: CDS, setup: [{}], before: [a1, b1], req: { responseNonce: 'n0' }, ack: 'ack', respond: false, after: [a2, b1], sent: ['a@2'], removed: [],
  },
  {
    name: 'a push removes what disappeared from a wildcard subscription',
    type: CDS, setup: [{}], before: [a1, b1, c1], req: { responseNonce: 'n0' }, ack: 'ack', respond: false, after: [a1, c1], sent: [], removed: ['b'],
  },
  {
    name: 'a removed resource is reported once',
    type: EDS, setup: [{ subscribe: ['a', 'b'] }, {}], before: [a1], req: { responseNonce: 'n1' }, ack: 'ack', respond: false, after: [a1], sent: [], removed: [],
  },
];

test('delta requests and responses, row by row', () => {
  for (const row of table) {
    let w: DeltaWatch | undefined;
    (row.setup ?? []).forEach((req, i) => {
      w = applyDeltaRequest(w, row.type, req, now).watch;
      push(w, row.before ?? [], `n${i}`);
    });
    const { watch, decision } = applyDeltaRequest(w, row.type, row.req, now);
    assert.equal(decision.ack, row.ack, row.name);
    assert.equal(decision.respond, row.respond, row.name);
    if (row.wildcard !== undefined) assert.equal(watch.wildcard, row.wildcard, row.name);
    const out = push(watch, row.after, 'next');
    assert.deepEqual(out.sent.sort(), [...row.sent].sort(), `${row.name}: sent`);
    assert.deepEqual(out.removed, row.removed, `${row.name}: removed`);
  }
});

test('sync status of a delta watch: NOT_SENT, STALE until ACK, ERROR on NACK until the next ACK', () => {
  const { watch } = applyDeltaRequest(undefined, LDS, {}, now);
  assert.equal(configStatus(watch), 'NOT_SENT');
  push(watch, [a1], 'n1');
  assert.equal(configStatus(watch), 'STALE');
  applyDeltaRequest(watch, LDS, { responseNonce: 'n1', errorMessage: 'listener a: invalid' }, now);
  assert.equal(configStatus(watch), 'ERROR');
  assert.equal(watch.lastError, 'listener a: invalid');
  push(watch, [a2], 'n2');
  applyDeltaRequest(watch, LDS, { responseNonce: 'n2' }, now);
  assert.equal(configStatus(watch), 'SYNCED');
  assert.equal(watch.lastError, '');
  assert.deepEqual(watch.sentNames, ['a']);
  assert.deepEqual(watch.subscription, { wildcard: true });
});

test('a delta response assembled from pre-encoded Anys decodes as the DeltaDiscoveryResponse it stands for', () => {
  const bytes = encodeDeltaResponse({
    systemVersionInfo: 'v7', typeUrl: CDS, nonce: 'n-3', resources: [a2, b1], removedResources: ['gone'], controlPlane: '{"Component":"istiod"}',
  });
  const d = deltaDiscoveryResponseCodec.decode(bytes);
  assert.equal(d.systemVersionInfo, 'v7');
  assert.equal(d.typeUrl, CDS);
  assert.equal(d.nonce, 'n-3');
  assert.deepEqual(d.removedResources, ['gone']);
  assert.equal(d.controlPlane?.identifier, '{"Component":"istiod"}');
  assert.deepEqual(d.resources?.map((r) => [r.name, r.version, r.resource ? unpackAny(clusterCodec, r.resource).name : undefined]), [['a', '2', 'a'], ['b', '1', 'b']]);
});

test('after a CDS response changes clusters, their unchanged assignments are sent again (Envoy warms them until they arrive)', () => {
  const { watch: eds } = applyDeltaRequest(undefined, EDS, { subscribe: ['a', 'b', 'c'] }, now);
  assert.deepEqual(push(eds, [a1, b1], 'n1').sent, ['a@1', 'b@1']);
  assert.deepEqual(push(eds, [a1, b1], 'n2').sent, [], 'nothing changed: nothing to send');
  // CDS changed clusters a and x (x has no EDS subscription) and left b alone.
  assert.equal(forceAssignmentsAfterClusterUpdate(eds, ['a', 'x']), 1);
  assert.deepEqual(push(eds, [a1, b1], 'n3'), { sent: ['a@1'], removed: [] }, 'a is answered again at the same version; no removal for x');
  assert.deepEqual(push(eds, [a1, b1], 'n4').sent, [], 'and only once');
});
