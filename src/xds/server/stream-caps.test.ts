import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamCaps } from './stream-caps.ts';

test('streams are capped per connection and per identity; release is idempotent', () => {
  const caps = new StreamCaps(2, 3);
  const a1 = caps.open('p1');
  const a2 = caps.open('p1');
  assert.ok(a1 && a2);
  assert.equal(caps.open('p1'), undefined, 'third stream on one connection refused');
  assert.ok(a1.claim('id') && a2.claim('id'));
  const b1 = caps.open('p2');
  const b2 = caps.open('p2');
  assert.ok(b1 && b2);
  assert.equal(b1.claim('id'), true);
  assert.equal(b2.claim('id'), false, 'fourth stream of one identity refused');
  b2.release();
  assert.equal(caps.streamsOn('p2'), 1);
  a1.release();
  a1.release();
  assert.equal(caps.streamsOn('p1'), 1);
  assert.equal(caps.streamsOf('id'), 2);
  assert.ok(caps.open('p1'), 'a released slot can be used again');
  b1.release();
  a2.release();
  assert.equal(caps.streamsOf('id'), 0);
});
