/**
 * Bounded writes to one server stream (state-of-the-world ADS today, delta ADS too): a message is
 * handed to the stream at once and never awaited by a shared resource (a push slot), the stream
 * counts the messages it has not yet flushed, and a stream that makes no progress for `timeoutMs`
 * (its peer stopped reading) is ended, as istiod's PILOT_XDS_SEND_TIMEOUT ends it.
 *
 * Ending a stuck stream: first the gRPC status the caller should see (DEADLINE_EXCEEDED and why);
 * a peer that does not read cannot receive that status either (HTTP/2 flow control holds the
 * trailers behind the unread data), so after `graceMs` the HTTP/2 stream is reset.
 */
import { constants as h2 } from 'node:http2';
import { systemClock, type Clock } from '../../model/clock.ts';
import { ErrorCodes } from '../../model/errors.ts';
import { grpcStatusForCode, type GrpcStatusCode } from '../../model/grpc-status.ts';

/** The part of a grpc-js server stream the sender uses (ServerDuplexStream and ServerWritableStream fit). */
export interface SendStream<T> {
  write(msg: T, cb: (err?: Error | null) => void): boolean;
  emit(event: 'error', err: { code: GrpcStatusCode; details: string }): boolean;
  once(event: 'close' | 'cancelled' | 'finish', listener: () => void): unknown;
}

export interface BoundedSenderOptions {
  /** No progress for this long ends the stream; 0 disables (then a stuck stream only parks). */
  readonly timeoutMs: number;
  /** After the status was sent, how long to wait before resetting the HTTP/2 stream. */
  readonly graceMs?: number;
  /** Called once when the timeout fires, before the stream is ended (log, metric). */
  readonly onTimeout?: (stalledMs: number, unflushed: number) => void;
  readonly clock?: Pick<Clock, 'now'>;
}

export class SendClosedError extends Error {
  constructor(message = 'stream closed') {
    super(message);
    this.name = 'SendClosedError';
  }
}

export class SendTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendTimeoutError';
  }
}

export class BoundedSender<T> {
  readonly #stream: SendStream<T>;
  readonly #opts: BoundedSenderOptions;
  readonly #clock: Pick<Clock, 'now'>;
  #unflushed = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastProgress = 0;
  #closed = false;
  #timedOut = false;
  #idle: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(stream: SendStream<T>, opts: BoundedSenderOptions) {
    this.#stream = stream;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    const closed = () => { this.#close(new SendClosedError()); };
    stream.once('close', closed);
    stream.once('cancelled', closed);
  }

  /** Messages handed to the stream and not yet flushed to the transport. */
  get unflushed(): number {
    return this.#unflushed;
  }

  /** Whether earlier messages are still waiting for the peer (a new push should wait, not pile up). */
  get busy(): boolean {
    return this.#unflushed > 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Hands `msg` to the stream now, without waiting; the timeout watches it until it is flushed. */
  write(msg: T): void {
    if (this.#closed) throw new SendClosedError();
    if (this.#unflushed === 0) this.#lastProgress = this.#clock.now();
    this.#unflushed++;
    this.#arm();
    this.#stream.write(msg, (err) => {
      if (err) { this.#close(new SendClosedError(`write failed: ${err.message}`)); return; }
      this.#unflushed = Math.max(0, this.#unflushed - 1);
      this.#lastProgress = this.#clock.now();
      if (this.#unflushed === 0) {
        this.#disarm();
        const ws = this.#idle;
        this.#idle = [];
        for (const w of ws) w.resolve();
      }
    });
  }

  /** Resolves once everything written so far is flushed; rejects if the stream closes or times out first. */
  async idle(): Promise<void> {
    if (this.#closed) throw new SendClosedError();
    if (this.#unflushed === 0) return;
    await new Promise<void>((resolve, reject) => { this.#idle.push({ resolve, reject }); });
  }

  /** Waits for earlier messages to flush (bounded by the timeout), then writes `msg`. */
  async send(msg: T): Promise<void> {
    await this.idle();
    this.write(msg);
  }

  /** Stops the timer and fails waiters (the stream ended for another reason). */
  close(): void {
    this.#close(new SendClosedError());
  }

  #arm(): void {
    if (this.#timer || this.#opts.timeoutMs <= 0) return;
    const check = () => {
      this.#timer = undefined;
      if (this.#closed || this.#unflushed === 0) return;
      const stalled = this.#clock.now() - this.#lastProgress;
      if (stalled >= this.#opts.timeoutMs) { this.#expire(stalled); return; }
      this.#timer = setTimeout(check, this.#opts.timeoutMs - stalled);
      this.#timer.unref();
    };
    this.#timer = setTimeout(check, this.#opts.timeoutMs);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(stalledMs: number): void {
    this.#timedOut = true;
    const unflushed = this.#unflushed;
    this.#opts.onTimeout?.(stalledMs, unflushed);
    const details = `xDS send timeout: ${unflushed} response(s) not read by the client for ${Math.round(stalledMs / 100) / 10}s (PILOT_XDS_SEND_TIMEOUT)`;
    this.#close(new SendTimeoutError(details));
    endStream(this.#stream, grpcStatusForCode(ErrorCodes.StreamStalled), details, this.#opts.graceMs ?? 1000);
  }

  #close(err: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    const ws = this.#idle;
    this.#idle = [];
    for (const w of ws) w.reject(err);
  }
}

/** The HTTP/2 stream under a grpc-js server call, found through grpc-js's call objects (not public API). */
interface ResettableStream {
  readonly closed: boolean;
  readonly destroyed: boolean;
  close(code: number): void;
}

function isResettable(v: unknown): v is ResettableStream {
  return typeof v === 'object' && v !== null && typeof (v as { close?: unknown }).close === 'function'
    && 'rstCode' in v && 'closed' in v && 'destroyed' in v;
}

/** The HTTP/2 stream of a grpc-js server call, or undefined when grpc-js's layout is not the one expected. */
export function http2StreamOf(call: unknown): ResettableStream | undefined {
  let o: unknown = call;
  for (let depth = 0; depth < 6 && typeof o === 'object' && o !== null; depth++) {
    const rec = o as { stream?: unknown; call?: unknown; nextCall?: unknown };
    if (isResettable(rec.stream)) return rec.stream;
    o = rec.call ?? rec.nextCall;
  }
  return undefined;
}

/**
 * Ends a server stream with `code`/`details`; if the stream is still open after `graceMs` (the peer
 * does not read, so the status cannot get through), resets it (RST_STREAM CANCEL).
 */
export function endStream(call: SendStream<unknown>, code: GrpcStatusCode, details: string, graceMs = 1000): void {
  let closed = false;
  call.once('close', () => { closed = true; });
  call.once('cancelled', () => { closed = true; });
  call.emit('error', { code, details });
  const t = setTimeout(() => {
    if (closed) return;
    const h = http2StreamOf(call);
    if (h && !h.closed && !h.destroyed) h.close(h2.NGHTTP2_CANCEL);
  }, graceMs);
  t.unref();
}
