import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './duration.ts';
import { ErrorCodes, isIsthmusError } from './errors.ts';

test('Go duration syntax: units, fractions, sequences, and a bare 0', () => {
  const rows: [string, number][] = [
    ['0', 0], ['500ms', 500], ['1.5s', 1500], ['30s', 30_000], ['5m', 300_000], ['1m30s', 90_000],
    ['1h2m3s', 3_723_000], ['250us', 0.25], ['1000000ns', 1], ['.5s', 500], [' 10s ', 10_000],
  ];
  for (const [text, ms] of rows) assert.equal(parseDuration(text, 'X'), ms, text);
});

test('a number without a unit, junk, or an empty value is refused, naming the setting and a fix', () => {
  const rows: [string, RegExp][] = [
    ['30', /--lease="30": missing unit: write 30s for seconds or 30ms for milliseconds/],
    ['1.5', /missing unit/],
    ['', /empty duration/],
    ['10 sec', /not a duration/],
    ['-5s', /not a duration/],
    ['5d', /not a duration/],
    ['1m30', /not a duration/],
  ];
  for (const [text, re] of rows) {
    assert.throws(() => parseDuration(text, '--lease'), (e: unknown) => isIsthmusError(e, ErrorCodes.Usage) && re.test(e.message), text);
  }
});
