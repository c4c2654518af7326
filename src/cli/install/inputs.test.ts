import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from './inputs.ts';

test('durations', () => {
  assert.equal(parseDuration('300'), 300_000);
  assert.equal(parseDuration('300s'), 300_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.throws(() => parseDuration('5 minutes'), /invalid duration/);
  assert.throws(() => parseDuration(''), /invalid duration/);
});
