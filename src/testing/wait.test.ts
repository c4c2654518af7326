import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poller, until } from './wait.ts';

test('until returns the first defined answer, sync or async', async () => {
  let n = 0;
  assert.equal(await until('three calls', () => (++n === 3 ? n : undefined), { intervalMs: 1 }), 3);
  assert.equal(await until('a promise', () => Promise.resolve('x')), 'x');
  assert.equal(await until('false counts', () => false), false);
});

test('until fails after the deadline with what it waited for and the context', async () => {
  let calls = 0;
  await assert.rejects(
    until('never', () => { calls++; return undefined; }, { timeoutMs: 30, intervalMs: 5, context: () => 'the logs' }),
    (e: Error) => e.message === 'timed out after 30 ms waiting for never\nthe logs',
  );
  assert.ok(calls >= 2);
});

test('a probe that throws ends the wait', async () => {
  await assert.rejects(until('boom', () => { throw new Error('boom'); }), /^Error: boom$/);
});

test('poller keeps its defaults and takes a timeout per call', async () => {
  const wait = poller({ timeoutMs: 5_000, intervalMs: 5, context: () => 'ctx' });
  await assert.rejects(wait('nothing', () => undefined, 20), /^Error: timed out after 20 ms waiting for nothing\nctx$/);
  assert.equal(await wait('something', () => 1), 1);
});
