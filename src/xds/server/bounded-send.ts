/**
 * Bounded writes to one server stream (state-of-the-world and delta ADS): a message is handed to the
 * stream at once and never awaited by a shared resource (a push slot), the stream counts the messages
 * it has not yet flushed, and a stream whose pending bytes make no progress for `timeoutMs` (its peer
 * stopped reading) is ended (PILOT_XDS_SEND_TIMEOUT; istiod has no such timeout, see README).
 *
 * Progress is counted in bytes, not in whole messages: a proxy reading a 1 MB response slowly but
 * steadily must not be taken for a stuck one. grpc-js reports a message written only once all of it
 * left, so between those callbacks the sender watches the bytes the call's HTTP/2 connection hands to
 * its transport (call-transport.ts); HTTP/2 and TCP flow control let those out only as the peer reads.
 * At least PROGRESS_MIN_BYTES must move within a timeout: keepalive PINGs, WINDOW_UPDATEs for the
 * peer's requests and other control frames are far less, so a peer whose transport answers pings but
 * whose application reads nothing is still ended. The count is per connection: a stream shares the
 * progress of other streams on its connection (an Envoy has one ADS stream per connection; streams
 * per connection and per identity are capped).
 *
 * Ending a stuck stream: first the gRPC status the caller should see (DEADLINE_EXCEEDED and why);
 * a peer that does not read cannot receive that status either (HTTP/2 flow control holds the
 * trailers behind the unread data), so after `graceMs` the HTTP/2 stream is reset.
 */
import { constants as h2 } from 'node:http2';
import { systemClock, type Clock } from '../../model/clock.ts';
import { ErrorCodes } from '../../model/errors.ts';
import { grpcStatusForCode, type GrpcStatusCode } from '../../model/grpc-status.ts';
import { http2StreamOf, transportBytesOf } from './call-transport.ts';

/**
 * Transport bytes that count as progress within one timeout: more than the control frames a live
 * connection writes while no response data moves (a keepalive PING is 17 bytes, a WINDOW_UPDATE 13),
 * and less than any reader that makes real progress takes (flow-control windows open in many KiB).
 */
export const PROGRESS_MIN_BYTES = 4096;

/** The part of a grpc-js server stream the sender uses (ServerDuplexStream and ServerWritableStream fit). */
export interface SendStream<T> {
  write(msg: T, cb: (err?: Error | null) => void): boolean;
  emit(event: 'error', err: { code: GrpcStatusCode; details: string }): boolean;
  once(event: 'close' | 'cancelled' | 'finish', listener: () => void): unknown;
}

export interface BoundedSenderOptions {
  /** No progress (no message completed, under PROGRESS_MIN_BYTES sent) for this long ends the stream; 0 disables (then a stuck stream only parks). */
  readonly timeoutMs: number;
  /** After the status was sent, how long to wait before resetting the HTTP/2 stream. */
  readonly graceMs?: number;
  /** Called once when the timeout fires, before the stream is ended (log, metric). */
  readonly onTimeout?: (stalledMs: number, unflushed: number) => void;
  readonly clock?: Pick<Clock, 'now'>;
  /**
   * Bytes the stream's connection has handed to its transport so far; undefined when unknown (then
   * only completed messages count as progress). Default: read from the grpc-js call (call-transport.ts).
   */
  readonly transportBytes?: () => number | undefined;
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
  readonly #transportBytes: (() => number | undefined) | undefined;
  #unflushed = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastProgress = 0;
  /** The transport's byte count at the last progress (undefined: not known). */
  #progressBytes: number | undefined;
  #closed = false;
  #timedOut = false;
  #idle: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(stream: SendStream<T>, opts: BoundedSenderOptions) {
    this.#stream = stream;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#transportBytes = opts.transportBytes ?? transportBytesOf(stream);
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
    if (this.#unflushed === 0) this.#progress();
    this.#unflushed++;
    this.#arm();
    this.#stream.write(msg, (err) => {
      if (err) { this.#close(new SendClosedError(`write failed: ${err.message}`)); return; }
      this.#unflushed = Math.max(0, this.#unflushed - 1);
      this.#progress();
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

  #progress(): void {
    this.#lastProgress = this.#clock.now();
    this.#progressBytes = this.#transportBytes?.();
  }

  /** Whether at least PROGRESS_MIN_BYTES reached the transport since the last progress (then that is progress). */
  #bytesMoved(): boolean {
    const now = this.#transportBytes?.();
    if (now === undefined) return false;
    if (this.#progressBytes === undefined) { this.#progressBytes = now; return false; }
    return now - this.#progressBytes >= PROGRESS_MIN_BYTES;
  }

  /**
   * Checks progress every quarter of the timeout while anything is unflushed, so a stream that stops
   * moving is ended between 1 and 1.25 timeouts after its last progress.
   */
  #arm(): void {
    if (this.#timer || this.#opts.timeoutMs <= 0) return;
    const every = Math.max(10, Math.floor(this.#opts.timeoutMs / 4));
    const check = () => {
      this.#timer = undefined;
      if (this.#closed || this.#unflushed === 0) return;
      if (this.#bytesMoved()) this.#progress();
      const stalled = this.#clock.now() - this.#lastProgress;
      if (stalled >= this.#opts.timeoutMs) { this.#expire(stalled); return; }
      this.#timer = setTimeout(check, Math.min(every, this.#opts.timeoutMs - stalled));
      this.#timer.unref();
    };
    this.#timer = setTimeout(check, every);
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
    const details = `xDS send timeout: ${unflushed} response(s) not read by the client, no progress for ${Math.round(stalledMs / 100) / 10}s (PILOT_XDS_SEND_TIMEOUT)`;
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
