import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { status } from '@grpc/grpc-js';
import { BoundedSender, PROGRESS_MIN_BYTES, SendClosedError, type SendStream } from './bounded-send.ts';

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

test('bytes reaching the transport are progress: a message that takes 4 timeouts to flush is not ended; when they stop, it is', async (t) => {
  const s = new FakeStream();
  let bytes = 1000;
  const timeouts: number[] = [];
  const sender = new BoundedSender<string>(s, { timeoutMs: 400, graceMs: 10, transportBytes: () => bytes, onTimeout: (ms) => { timeouts.push(ms); } });
  sender.write('one big response');
  // A slow reader: its connection takes a frame's worth every 20 ms; the message would complete after 1.6 s.
  const t0 = Date.now();
  while (Date.now() - t0 < 1600) {
    await new Promise((r) => setTimeout(r, 20));
    bytes += 16_384;
  }
  assert.deepEqual(timeouts, [], 'a reader that makes progress in bytes is not ended');
  assert.equal(sender.closed, false);
  // It stops reading: nothing moves, the stream is ended after the timeout.
  const stopped = Date.now();
  while (timeouts.length === 0 && Date.now() - stopped < 5000) await new Promise((r) => setTimeout(r, 10));
  t.diagnostic(`ended ${Date.now() - stopped} ms after the last byte (timeout 400 ms, checks every 100 ms), stalled ${timeouts[0]} ms`);
  assert.equal(timeouts.length, 1, 'a reader that stopped is ended');
  assert.ok(Date.now() - stopped >= 300, 'not before the timeout (less the 100 ms between checks)');
  assert.equal(s.errors[0]?.code, status.DEADLINE_EXCEEDED);
});

test('control frames are not progress: under PROGRESS_MIN_BYTES per timeout still ends the stream', async () => {
  const s = new FakeStream();
  let bytes = 0;
  const timeouts: number[] = [];
  const sender = new BoundedSender<string>(s, { timeoutMs: 80, graceMs: 10, transportBytes: () => bytes, onTimeout: (ms) => { timeouts.push(ms); } });
  sender.write('never read');
  const ping = setInterval(() => { bytes += 17; }, 5);
  await new Promise((r) => setTimeout(r, 250));
  clearInterval(ping);
  assert.ok(bytes > 0 && bytes < PROGRESS_MIN_BYTES * 2);
  assert.equal(timeouts.length, 1, `${bytes} bytes of PINGs and WINDOW_UPDATEs keep no stream alive`);
  assert.equal(sender.timedOut, true);
});

test('an unknown transport count (undefined) falls back to whole messages', async () => {
  const s = new FakeStream();
  const timeouts: number[] = [];
  const sender = new BoundedSender<string>(s, { timeoutMs: 60, graceMs: 10, transportBytes: () => undefined, onTimeout: (ms) => { timeouts.push(ms); } });
  sender.write('a');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(timeouts.length, 1);
});
