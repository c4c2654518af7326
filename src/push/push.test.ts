import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Debouncer } from './debounce.ts';
import { PushQueue } from './queue.ts';
import type { MeshView } from '../model/mesh-view.ts';
import { endpointPush, fullPush, mergePush, servicePush, type PushRequest } from './request.ts';
import { ManualClock } from '../testing/manual-clock.ts';

test('debounce merges a burst and emits after the quiet period', () => {
  const clock = new ManualClock(0);
  const out: PushRequest[] = [];
  const d = new Debouncer({ afterMs: 100, maxMs: 10_000, clock }, (r) => out.push(r));
  d.enqueue(endpointPush(['a'], clock.now()));
  clock.advanceSync(60);
  d.enqueue(endpointPush(['b'], clock.now()));
  clock.advanceSync(99);
  assert.equal(out.length, 0, 'still within 100 ms of the last change');
  clock.advanceSync(1);
  const [only, extra] = out;
  assert.ok(only);
  assert.equal(extra, undefined);
  assert.deepEqual([...only.hostnames], ['a', 'b']);
  assert.equal(only.full, false);
  assert.equal(only.start, 0, 'convergence is measured from the first change');
});

test('debounce never holds a steady stream of changes longer than the maximum', () => {
  const clock = new ManualClock(0);
  const out: PushRequest[] = [];
  const d = new Debouncer({ afterMs: 100, maxMs: 1000, clock }, (r) => out.push(r));
  for (let i = 0; i < 30; i++) { d.enqueue(endpointPush([`h${i}`], clock.now())); clock.advanceSync(50); }
  assert.ok(out.length >= 1);
  assert.ok(out.every((r) => r.hostnames.size <= 21), 'each push covers at most ~1 s of changes');
  const first = out[0];
  assert.ok(first);
  assert.equal(first.full, false);
});

test('a full push absorbs endpoint pushes', () => {
  const clock = new ManualClock(0);
  const out: PushRequest[] = [];
  const d = new Debouncer({ afterMs: 100, maxMs: 1000, clock }, (r) => out.push(r));
  d.enqueue(endpointPush(['a'], 0));
  d.enqueue(fullPush('service', 0));
  clock.advanceSync(100);
  const [merged] = out;
  assert.ok(merged);
  assert.equal(merged.full, true);
  assert.deepEqual([...merged.reasons].sort(), ['endpoint', 'service']);
});

test('push queue: one pending push per connection, bounded concurrency', async () => {
  let running = 0;
  let maxRunning = 0;
  const seen: { conn: string; hosts: string[] }[] = [];
  const gates: (() => void)[] = [];
  const q = new PushQueue<string>(2, async (conn, req) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    seen.push({ conn, hosts: [...req.hostnames] });
    await new Promise<void>((r) => gates.push(r));
    running--;
  });
  q.enqueue('p1', endpointPush(['a'], 0));
  q.enqueue('p2', endpointPush(['a'], 0));
  q.enqueue('p3', endpointPush(['a'], 0));
  q.enqueue('p3', endpointPush(['b'], 0));
  q.enqueue('p1', endpointPush(['c'], 0));
  q.enqueue('p1', endpointPush(['d'], 0));
  assert.equal(running, 2);
  while (seen.length < 4 || gates.length > 0) {
    const g = gates.shift();
    if (!g) { await new Promise((r) => setImmediate(r)); continue; }
    g();
    await new Promise((r) => setImmediate(r));
  }
  await q.drained();
  assert.equal(maxRunning, 2);
  assert.deepEqual(seen.filter((s) => s.conn === 'p3').map((s) => s.hosts), [['a', 'b']], 'p3 merged while waiting');
  assert.deepEqual(seen.filter((s) => s.conn === 'p1').map((s) => s.hosts), [['a'], ['c', 'd']], 'p1 got one merged push after its running one');
});

test('a push that outlives the slot timeout gives its slot back; its connection still gets one push at a time', async () => {
  const started: string[] = [];
  let releaseStuck: () => void = () => undefined;
  const q = new PushQueue<string>(1, (c) => {
    started.push(c);
    if (c === 'stuck' && started.length === 1) return new Promise<void>((r) => { releaseStuck = r; });
    return Promise.resolve();
  }, { slotTimeoutMs: 30 });
  q.enqueue('stuck', endpointPush(['a'], 0));
  q.enqueue('healthy', endpointPush(['a'], 0));
  assert.deepEqual(started, ['stuck']);
  assert.equal(q.busySlots, 1);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(started, ['stuck', 'healthy'], 'the healthy connection was pushed while the stuck push still runs');
  q.enqueue('stuck', endpointPush(['b'], 0));
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(started, ['stuck', 'healthy'], 'no second push to a connection whose push is still running');
  releaseStuck();
  await q.drained();
  assert.deepEqual(started, ['stuck', 'healthy', 'stuck']);
});

test('a merged push keeps the newer view and every changed service', () => {
  const view = (version: string) => ({ version }) as unknown as MeshView;
  const older: PushRequest = { ...endpointPush(['a'], 5), view: view('v1') };
  const newer: PushRequest = { ...endpointPush(['b'], 9), view: view('v2') };
  const m = mergePush(older, newer);
  assert.equal(m.view?.version, 'v2');
  assert.deepEqual([...m.hostnames].sort(), ['a', 'b']);
  assert.equal(m.start, 5);
  assert.equal(mergePush(older, endpointPush(['c'], 10)).view?.version, 'v1', 'a request not yet stamped keeps the stamped view');
});

test('the debouncer merges a burst as a fold of mergePush would, in time linear in its size', () => {
  const clock = new ManualClock(0);
  const out: PushRequest[] = [];
  const d = new Debouncer({ afterMs: 100, maxMs: 10_000, clock }, (r) => out.push(r));
  const view = (version: string) => ({ version }) as unknown as MeshView;
  const burst: PushRequest[] = [];
  for (let i = 0; i < 4000; i++) {
    const r = i % 3 === 0 ? servicePush([`s${i}`], 1000 - i) : endpointPush([`e${i % 500}`], 1000 + i);
    burst.push(i % 997 === 5 ? { ...r, view: view(`v${i}`) } : r);
  }
  burst.push(fullPush('config', 2000));
  let folded: PushRequest | undefined;
  const t0 = process.cpuUsage();
  let seen: PushRequest | undefined;
  for (const [i, r] of burst.entries()) {
    d.enqueue(r);
    if (i === 10) seen = d.pending;
  }
  const used = process.cpuUsage(t0);
  const cpuMs = (used.user + used.system) / 1000;
  for (const r of burst) folded = mergePush(folded, r);
  clock.advanceSync(100);
  assert.equal(out.length, 1);
  const [got] = out;
  assert.ok(got && folded);
  assert.equal(got.full, folded.full);
  assert.equal(got.hostsKnown, folded.hostsKnown);
  assert.equal(got.start, folded.start);
  assert.equal(got.view?.version, folded.view?.version);
  assert.deepEqual([...got.hostnames].sort(), [...folded.hostnames].sort());
  assert.deepEqual([...got.reasons].sort(), [...folded.reasons].sort());
  assert.equal(seen?.hostnames.size, 11, 'a pending request already answered does not change with later changes');
  console.log(`4,001 changes merged by the debouncer in ${cpuMs.toFixed(1)} ms of CPU`);
});

test('each stuck push gives its slot back a slot timeout after it started, not when an earlier one does', async () => {
  const started: string[] = [];
  const stuck = new Set(['a', 'b', 'd']);
  const q = new PushQueue<string>(2, (c) => {
    started.push(c);
    return stuck.has(c) ? new Promise<void>(() => undefined) : Promise.resolve();
  }, { slotTimeoutMs: 1000 });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  q.enqueue('a', endpointPush(['x'], 0));
  await sleep(600);
  q.enqueue('b', endpointPush(['x'], 0));
  q.enqueue('c', endpointPush(['x'], 0));
  assert.deepEqual(started, ['a', 'b'], 'both slots taken');
  await sleep(600);
  // a's slot came back at about 1000 ms; b's comes back at about 1600 ms.
  assert.deepEqual(started, ['a', 'b', 'c']);
  q.enqueue('d', endpointPush(['x'], 0));
  q.enqueue('e', endpointPush(['x'], 0));
  await sleep(50);
  assert.deepEqual(started, ['a', 'b', 'c', 'd'], 'd took the slot a gave back; b still holds the other');
  await sleep(1000);
  assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e'], "b's slot came back too");
  console.log(`started in order: ${started.join(', ')}`);
});
