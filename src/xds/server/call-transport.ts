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

/** The HTTP/2 stream of a grpc-js server call, or undefined when grpc-js's layout is not the one expected. */
export function http2StreamOf(call: unknown): CallHttp2Stream | undefined {
  let o: unknown = call;
  for (let depth = 0; depth < 6 && typeof o === 'object' && o !== null; depth++) {
    const rec = o as { stream?: unknown; call?: unknown; nextCall?: unknown };
    if (isHttp2Stream(rec.stream)) return rec.stream;
    o = rec.call ?? rec.nextCall;
  }
  return undefined;
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
