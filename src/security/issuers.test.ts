import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IssuerBook, type DiscoveryClient } from './issuers.ts';
import { CaptureLogger } from '../testing/capture-logger.ts';

function client(answer: () => Promise<unknown>): DiscoveryClient & { calls: number } {
  const c = { calls: 0, request: <T>() => { c.calls++; return answer() as Promise<T>; } };
  return c;
}

test('issuers come from discovery per client, and from reviewed tokens; probes are rate-limited', async () => {
  let now = 0;
  const book = new IssuerBook({ clock: { now: () => now }, probeIntervalMs: 5000, retryMs: 60_000 });
  const a = client(() => Promise.resolve({ issuer: 'https://a' }));
  assert.deepEqual([...await book.issuers(a, 'a')], ['https://a']);
  await book.issuers(a, 'a');
  assert.equal(a.calls, 1, 'discovered once per client');
  const replaced = client(() => Promise.resolve({ issuer: 'https://a2' }));
  assert.deepEqual([...await book.issuers(replaced, 'a')], ['https://a2'], 'a new client for the cluster is learned afresh');
  book.learn(a, 'https://a-second');
  assert.deepEqual([...await book.issuers(a, 'a')].sort(), ['https://a', 'https://a-second']);
  assert.equal(book.tryProbe(a), true);
  assert.equal(book.tryProbe(a), false);
  now += 5000;
  assert.equal(book.tryProbe(a), true);
});

test('a failed discovery leaves the set empty (no issuer check) and is retried later', async () => {
  let now = 0;
  const log = new CaptureLogger();
  const warnings = log.warnings;
  let fail = true;
  const b = client(() => (fail ? Promise.reject(new Error('403 forbidden')) : Promise.resolve({ issuer: 'https://b' })));
  const book = new IssuerBook({ clock: { now: () => now }, retryMs: 1000, log });
  assert.equal((await book.issuers(b, 'b')).size, 0);
  assert.match(warnings[0] ?? '', /cluster b: service-account issuer discovery failed.*403 forbidden/);
  fail = false;
  await book.issuers(b, 'b');
  assert.equal(b.calls, 1, 'not retried before the retry interval');
  now += 1000;
  assert.deepEqual([...await book.issuers(b, 'b')], ['https://b']);
});
