import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatedLog } from './log-limiter.ts';
import { streamLogger, formatValue, MAX_FIELD_CHARS } from './log.ts';

test('a flood costs one detail line and one summary per key per interval', () => {
  let now = 0;
  const lines: string[] = [];
  const log = new AggregatedLog(streamLogger('t', 'info', (l) => { lines.push(l); }), { intervalMs: 1000, clock: { now: () => now } });
  for (let i = 0; i < 500; i++) log.warn('refused: a', { i });
  log.warn('refused: b');
  assert.equal(lines.length, 2, 'first of each key only');
  now = 1500;
  log.warn('refused: a', { i: 'late' });
  assert.equal(lines.length, 4, 'the next interval starts with the summary of the last, then the new detail');
  assert.match(lines[2] ?? '', /refused: a \(499 more in the last 1s, not logged one by one\) i=499 suppressed=499/);
  assert.match(lines[3] ?? '', /refused: a i=late/);
  log.flush();
  assert.equal(lines.length, 4, 'nothing suppressed since: no summary');
});

test('keys are bounded', () => {
  const lines: string[] = [];
  const log = new AggregatedLog(streamLogger('t', 'info', (l) => { lines.push(l); }), { intervalMs: 1000, maxKeys: 2, clock: { now: () => 0 } });
  for (let i = 0; i < 100; i++) log.warn(`distinct ${i}`);
  assert.equal(lines.length, 3, 'two keys plus the catch-all');
  log.flush();
  assert.match(lines[3] ?? '', /\(97 more/);
});

test('log values are cut and control characters escaped: one entry, one line', () => {
  const lines: string[] = [];
  const log = streamLogger('t', 'info', (l) => { lines.push(l); });
  log.warn('bad\nmessage', { id: `a\u0000b${'x'.repeat(100_000)}`, c: 'a\u0085b' });
  assert.equal(lines.length, 1);
  const line = lines[0] ?? '';
  assert.equal(line.split('\n').length, 2, 'exactly one newline, at the end');
  assert.ok(line.length < MAX_FIELD_CHARS + 200);
  assert.match(line, /bad\\nmessage id="a\\u0000bxx/);
  assert.match(line, /\.\.\.\(\d+ more chars\)/);
  assert.match(line, /c="a\\u0085b"/);
  assert.equal(formatValue('plain'), 'plain');
});
