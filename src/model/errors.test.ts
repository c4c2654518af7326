import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, IsthmusError, errorMessage, isIsthmusError } from './errors.ts';

test('errorMessage appends causes that the message does not already say', () => {
  const tls = new Error('unable to verify the first certificate');
  const fetchErr = new TypeError('fetch failed', { cause: tls });
  assert.equal(errorMessage(new Error('namespaces', { cause: fetchErr })), 'namespaces: fetch failed: unable to verify the first certificate');
  assert.equal(errorMessage(new Error('x: boom', { cause: new Error('boom') })), 'x: boom');
  assert.equal(errorMessage('plain'), 'plain');
});

test('isIsthmusError matches on the stable code', () => {
  const e = new IsthmusError(ErrorCodes.Usage, 'bad flag');
  assert.ok(isIsthmusError(e));
  assert.ok(isIsthmusError(e, ErrorCodes.Usage));
  assert.ok(!isIsthmusError(e, ErrorCodes.KubeConfig));
  assert.ok(!isIsthmusError(new Error('x')));
});
