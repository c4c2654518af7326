import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointPush } from '../../push/request.ts';
import { fakeMeshView } from '../../testing/mesh/builders.ts';
import type { Subscription } from '../protocol/watch.ts';
import { PushScope } from './push-scope.ts';
import type { CachedList } from './resource-cache.ts';

test('a push makes the load assignments of one class of proxies once, and anything that differs gets its own', () => {
  const scope = new PushScope((n) => n.split('|')[3] ?? '');
  const req = endpointPush(['a.ns.svc.cluster.local'], 0);
  const [v1, v2] = [fakeMeshView({ version: '1' }), fakeMeshView({ version: '2' })];
  const [genA, genB] = [{}, {}];
  const sub: Subscription = { wildcard: false, names: new Set(['outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local']) };
  const otherSub: Subscription = { wildcard: false, names: new Set(['outbound|80||a.ns.svc.cluster.local']) };
  const made: string[] = [];
  const make = (what: string) => (): CachedList => {
    made.push(what);
    return { resources: [{ name: what, any: new Uint8Array([made.length]) }], names: [what] };
  };
  const first = scope.assignments(req, v1, genA, 'net1', sub, make('net1'));
  // 200 proxies of the class: the same list, made once.
  for (let i = 0; i < 200; i++) assert.equal(scope.assignments(req, v1, genA, 'net1', sub, make('again')), first);
  assert.deepEqual(made, ['net1']);
  // Another network view, subscription, generator, view or push: made for it.
  scope.assignments(req, v1, genA, 'net2', sub, make('net2'));
  scope.assignments(req, v1, genA, 'net1', otherSub, make('sub'));
  scope.assignments(req, v1, genB, 'net1', sub, make('gen'));
  const newer = scope.assignments(req, v2, genA, 'net1', sub, make('view2'));
  assert.notEqual(newer, first, 'a newer view is not answered from the older one');
  scope.assignments(endpointPush(['a.ns.svc.cluster.local'], 1), v2, genA, 'net1', sub, make('push2'));
  assert.deepEqual(made, ['net1', 'net2', 'sub', 'gen', 'view2', 'push2']);
});
