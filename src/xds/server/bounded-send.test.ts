import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { BoundedSender, http2StreamOf, SendClosedError, type SendStream } from './bounded-send.ts';

/** A stream whose writes complete only when the test says so (the peer reads). */
class FakeStream extends EventEmitter implements SendStream<string> {
  readonly written: string[] = [];
  readonly pending: ((err?: Error | null) => void)[] = [];
  readonly errors: { code: status; details: string }[] = [];
  write(msg: string, cb: (err?: Error | null) => void): boolean {
    this.written.push(msg);
    this.pending.push(cb);
    return this.pending.length < 2;
  }
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') { this.errors.push(args[0] as { code: status; details: string }); return true; }
    return super.emit(event, ...args);
  }
  flushOne(): void {
    this.pending.shift()?.();
  }
}

test('write hands over at once; busy until the peer reads; idle() resolves then', async () => {
  const s = new FakeStream();
  const sender = new BoundedSender<string>(s, { timeoutMs: 0 });
  sender.write('a');
  sender.write('b');
  assert.deepEqual(s.written, ['a', 'b'], 'nothing waits for the peer');
  assert.equal(sender.busy, true);
  assert.equal(sender.unflushed, 2);
  let idle = false;
  const p = sender.idle().then(() => { idle = true; });
  s.flushOne();
  await Promise.resolve();
  assert.equal(idle, false);
  s.flushOne();
  await p;
  assert.equal(sender.busy, false);
});

test('send() waits for earlier messages before writing', async () => {
  const s = new FakeStream();
  const sender = new BoundedSender<string>(s, { timeoutMs: 0 });
  sender.write('a');
  const p = sender.send('b');
  await Promise.resolve();
  assert.deepEqual(s.written, ['a']);
  s.flushOne();
  await p;
  assert.deepEqual(s.written, ['a', 'b']);
});

test('no progress for the timeout ends the stream with DEADLINE_EXCEEDED and fails waiters; progress resets the clock', async () => {
  const s = new FakeStream();
  const timeouts: number[] = [];
  const sender = new BoundedSender<string>(s, { timeoutMs: 60, graceMs: 10, onTimeout: (_ms, n) => { timeouts.push(n); } });
  sender.write('a');
  sender.write('b');
  await new Promise((r) => setTimeout(r, 40));
  s.flushOne();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(timeouts.length, 0, 'a peer that reads slowly is not cut off');
  const waiter = sender.idle();
  const outcome = waiter.then(() => 'resolved', (e: unknown) => (e instanceof Error ? e.message : String(e)));
  await new Promise((r) => setTimeout(r, 100));
  assert.match(await outcome, /xDS send timeout: 1 response\(s\) not read/);
  assert.deepEqual(timeouts, [1]);
  assert.equal(sender.timedOut, true);
  assert.equal(s.errors[0]?.code, status.DEADLINE_EXCEEDED);
  assert.throws(() => { sender.write('c'); }, SendClosedError);
});

test('a closed stream fails waiters at once', async () => {
  const s = new FakeStream();
  const sender = new BoundedSender<string>(s, { timeoutMs: 1000 });
  sender.write('a');
  const p = sender.idle();
  s.emit('close');
  await assert.rejects(p, SendClosedError);
  assert.equal(sender.closed, true);
});

test('http2StreamOf finds the HTTP/2 stream under grpc-js call objects, or nothing', () => {
  const h2 = { closed: false, destroyed: false, rstCode: undefined, close: () => undefined };
  assert.equal(http2StreamOf({ call: { nextCall: { stream: h2 } } }), h2);
  assert.equal(http2StreamOf({ call: { stream: {} } }), undefined);
  assert.equal(http2StreamOf(null), undefined);
});
