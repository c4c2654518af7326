/** The resource cache: what an endpoint-only push keeps, what any other version change drops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshView } from '../../model/mesh-view.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';
import type { PreparedResource } from '../protocol/response.ts';
import { ResourceCache } from './resource-cache.ts';

const view = (version: string) => ({ version }) as unknown as MeshView;
const nA = 'outbound|80||a.ns.svc.cluster.local';
const nB = 'outbound_.80_._.b.ns.svc.cluster.local';
const asked: string[][] = [];
const make = (tag: string) => (missing: readonly string[]): PreparedResource[] => {
  asked.push([...missing]);
  return missing.map((name) => ({ name, any: new TextEncoder().encode(`${tag}:${name}`) }));
};
const text = (rs: readonly PreparedResource[]) => rs.map((r) => new TextDecoder().decode(r.any));

test('an endpoint-only advance regenerates only the changed service and keeps other types; another version regenerates all', () => {
  const c = new ResourceCache();
  asked.length = 0;
  assert.deepEqual(text(c.assignments(view('v1'), 'net1', [nA, nB, nA], make('v1'))), [`v1:${nA}`, `v1:${nB}`]);
  const cds = c.list(view('v1'), `${CDS}\u0000k\u0000*`, () => [{ name: 'x', any: new Uint8Array([1]) }]);
  c.advance(new Set(['v1']), view('v2'), new Set(['b.ns.svc.cluster.local']));
  assert.deepEqual(text(c.assignments(view('v2'), 'net1', [nA, nB], make('v2'))), [`v1:${nA}`, `v2:${nB}`]);
  assert.equal(c.list(view('v2'), `${CDS}\u0000k\u0000*`, () => [{ name: 'x', any: new Uint8Array([2]) }]), cds, 'other types are kept: an endpoint push cannot change them');
  assert.deepEqual(text(c.assignments(view('v3'), 'net1', [nA, nB], make('v3'))), [`v3:${nA}`, `v3:${nB}`], 'an unannounced version drops everything');
  assert.notEqual(c.list(view('v3'), `${CDS}\u0000k\u0000*`, () => [{ name: 'x', any: new Uint8Array([3]) }]), cds, 'CDS too');
  assert.deepEqual(asked, [[nA, nB], [nB], [nA, nB]]);
  assert.equal(c.stats.assignmentsGenerated, 5);
});

test('an advance from a version the cache does not hold keeps nothing stale', () => {
  const c = new ResourceCache();
  c.assignments(view('v1'), 'net1', [nA], make('v1'));
  c.advance(new Set(['v5']), view('v6'), new Set(['b.ns.svc.cluster.local']));
  assert.deepEqual(text(c.assignments(view('v6'), 'net1', [nA], make('v6'))), [`v6:${nA}`]);
});

test('EDS responses holding a changed assignment are dropped, the others kept', () => {
  const c = new ResourceCache();
  const onlyA = c.list(view('v1'), `${EDS}\u0000net1\u0000a`, () => c.assignments(view('v1'), 'net1', [nA], make('v1')));
  c.list(view('v1'), `${EDS}\u0000net1\u0000b`, () => c.assignments(view('v1'), 'net1', [nB], make('v1')));
  c.advance(new Set(['v1']), view('v2'), new Set(['b.ns.svc.cluster.local']));
  assert.equal(c.list(view('v2'), `${EDS}\u0000net1\u0000a`, () => []), onlyA);
  assert.deepEqual(text(c.list(view('v2'), `${EDS}\u0000net1\u0000b`, () => c.assignments(view('v2'), 'net1', [nB], make('v2'))).resources), [`v2:${nB}`]);
});
