/**
 * The HTTP/2 stream under a grpc-js server call, and what it tells about the transport.
 *
 * grpc-js has no public way from a server call (ServerDuplexStream, ServerWritableStream) to the
 * HTTP/2 stream it writes to. This module is the ONLY place that reaches into grpc-js's objects for
 * it: the call's `call` (ServerInterceptingCall), its `nextCall` (BaseServerInterceptingCall), and
 * that object's `stream` (a node:http2 ServerHttp2Stream), as grpc-js 1.10 to 1.14 lay them out.
 * `call-transport.test.ts` runs a real grpc-js server and fails when this walk stops finding the
 * stream, so an upgrade of grpc-js that changes the layout is caught by the tests, not in production.
 * From the HTTP/2 stream on, only public Node APIs are used: `Http2Stream.close`,
 * `Http2Stream.session`, `Http2Session.socket` and `net.Socket.bytesWritten`.
 */

/** The part of a node:http2 stream used here. */
export interface CallHttp2Stream {
  readonly closed: boolean;
  readonly destroyed: boolean;
  readonly session?: unknown;
  close(code: number): void;
}

function isHttp2Stream(v: unknown): v is CallHttp2Stream {
  return typeof v === 'object' && v !== null && typeof (v as { close?: unknown }).close === 'function'
    && 'rstCode' in v && 'closed' in v && 'destroyed' in v;
}

/** The object under a grpc-js server call that holds its HTTP/2 stream: call -> nextCall -> { stream }. */
function streamHolderOf(call: unknown): { readonly stream: CallHttp2Stream } | undefined {
  let o: unknown = call;
  for (let depth = 0; depth < 6 && typeof o === 'object' && o !== null; depth++) {
    const rec = o as { stream?: unknown; call?: unknown; nextCall?: unknown };
    if (isHttp2Stream(rec.stream)) return rec as { readonly stream: CallHttp2Stream };
    o = rec.call ?? rec.nextCall;
  }
  return undefined;
}

/** The HTTP/2 stream of a grpc-js server call, or undefined when grpc-js's layout is not the one expected. */
export function http2StreamOf(call: unknown): CallHttp2Stream | undefined {
  return streamHolderOf(call)?.stream;
}

/**
 * A reader of how many bytes the call's HTTP/2 connection has handed to its transport so far (the
 * session socket's `bytesWritten`: frames nghttp2 wrote, which HTTP/2 and TCP flow control let out
 * only as fast as the peer reads). It counts the whole connection, control frames included, and
 * reads undefined once the stream or session is gone. Undefined when the call has no HTTP/2 stream
 * we can find.
 */
export function transportBytesOf(call: unknown): (() => number | undefined) | undefined {
  const h2 = http2StreamOf(call);
  if (h2 === undefined) return undefined;
  return () => {
    try {
      const session = h2.session as { socket?: { bytesWritten?: unknown } } | undefined;
      const n = session?.socket?.bytesWritten;
      return typeof n === 'number' ? n : undefined;
    } catch {
      // A destroyed session's socket proxy throws (ERR_HTTP2_SOCKET_UNBOUND): nothing moves any more.
      return undefined;
    }
  };
}

/** A message as its stream's own bytes and bytes shared with other streams, written without copying the latter. */
export interface MessageParts {
  readonly head: Uint8Array;
  readonly resources: Uint8Array;
  readonly length: number;
}

/** The part of a grpc-js BaseServerInterceptingCall that sending a message uses (grpc-js 1.10 to 1.14). */
interface BaseCall {
  readonly stream: CallHttp2Stream & {
    cork(): void;
    uncork(): void;
    write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  };
  readonly maxSendMessageSize: number;
  readonly callEventTracker?: { addMessageSent(): void } | null;
  checkCancelled(): boolean;
  maybeSendMetadata(): void;
  sendStatus(status: { code: number; details: string; metadata: null }): void;
  sendMessage(message: unknown, callback: () => void): void;
}

const GRPC_INTERNAL = 13;
const GRPC_RESOURCE_EXHAUSTED = 8;

function baseCallOf(call: unknown): BaseCall | undefined {
  const holder = streamHolderOf(call);
  if (holder === undefined) return undefined;
  const rec = holder as Partial<Record<keyof BaseCall, unknown>>;
  const s = holder.stream as unknown as Record<string, unknown>;
  const fns = [rec.checkCancelled, rec.maybeSendMetadata, rec.sendStatus, rec.sendMessage, s['cork'], s['uncork'], s['write']];
  return fns.every((f) => typeof f === 'function') && typeof rec.maxSendMessageSize === 'number' ? holder as unknown as BaseCall : undefined;
}

/**
 * Makes the call send each message for which `parts` answers as gRPC's 5-byte prefix plus the
 * message's head in one small buffer, followed by its shared bytes as they are: node:http2 hands
 * them to the socket without a copy. Messages for which `parts` answers undefined go through
 * grpc-js as usual. Cancellation, the send-size limit, the response headers and write errors are
 * handled by grpc-js's own methods, as its sendMessage does. Answers false, changing nothing, when
 * the call is not laid out as expected (call-transport.test.ts fails then).
 */
export function sendInParts(call: unknown, parts: (message: unknown) => MessageParts | undefined): boolean {
  const base = baseCallOf(call);
  if (base === undefined) return false;
  const original = base.sendMessage.bind(base);
  base.sendMessage = (message: unknown, callback: () => void): void => {
    let p: MessageParts | undefined;
    try {
      p = parts(message);
    } catch {
      if (!base.checkCancelled()) base.sendStatus({ code: GRPC_INTERNAL, details: 'Error serializing response', metadata: null });
      return;
    }
    if (p === undefined) { original(message, callback); return; }
    if (base.checkCancelled()) return;
    if (base.maxSendMessageSize !== -1 && p.length > base.maxSendMessageSize) {
      base.sendStatus({ code: GRPC_RESOURCE_EXHAUSTED, details: `Sent message larger than max (${p.length} vs. ${base.maxSendMessageSize})`, metadata: null });
      return;
    }
    base.maybeSendMetadata();
    const first = Buffer.allocUnsafe(5 + p.head.byteLength);
    first[0] = 0;
    first.writeUInt32BE(p.length, 1);
    first.set(p.head, 5);
    const stream = base.stream;
    const done = (err?: Error | null): void => {
      if (err) { base.sendStatus({ code: GRPC_INTERNAL, details: 'Internal server error', metadata: null }); return; }
      base.callEventTracker?.addMessageSent();
      callback();
    };
    stream.cork();
    if (p.resources.byteLength === 0) {
      stream.write(first, done);
    } else {
      stream.write(first);
      stream.write(p.resources, done);
    }
    stream.uncork();
  };
  return true;
}

/**
 * The part of grpc-js's StreamDecoder (grpc-js 1.10 to 1.14) that says it holds nothing yet:
 * `readState` NO_DATA (0) is between messages (its `readPartialMessage` keeps the last one's parts
 * until the next starts).
 */
interface GrpcStreamDecoder {
  readonly maxReadMessageLength: number;
  readonly readState: number;
  write(data: Buffer): Buffer[];
}

function isIdleDecoder(d: unknown): d is GrpcStreamDecoder {
  if (typeof d !== 'object' || d === null) return false;
  const r = d as Partial<Record<keyof GrpcStreamDecoder, unknown>>;
  return typeof r.write === 'function' && typeof r.maxReadMessageLength === 'number' && r.readState === 0;
}

/**
 * Makes the call frame the messages it receives with `make(maxLength)`'s decoder (same contract as
 * grpc-js's StreamDecoder: `write(chunk)` answers the complete messages, prefix included, and throws
 * over the limit, which grpc-js answers RESOURCE_EXHAUSTED). Answers false, changing nothing, when
 * the call is not laid out as expected or its decoder holds part of a message.
 */
export function receiveWith(call: unknown, make: (maxLength: number) => { write(data: Buffer): Buffer[] }): boolean {
  const holder = streamHolderOf(call) as { decoder?: unknown } | undefined;
  if (holder === undefined || !isIdleDecoder(holder.decoder)) return false;
  holder.decoder = make(holder.decoder.maxReadMessageLength);
  return true;
}
