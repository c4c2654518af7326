/**
 * Raw HTTP/2 for the xDS attack tests: one TLS connection carrying many gRPC streams to the control
 * plane, written frame by frame with node:http2 (no gRPC library), that never read what they get.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { discoveryRequestCodec } from '../../src/proto/codec.ts';
import type { DiscoveryRequest } from '../../src/proto/types.ts';

export const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** A gRPC length-prefixed message. */
export function grpcFrame(msg: DiscoveryRequest): Buffer {
  const body = Buffer.from(discoveryRequestCodec.encode(msg));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

export interface RawStream {
  readonly stream: ClientHttp2Stream;
  /** grpc-status from headers or trailers, once seen. */
  grpcStatus: number | undefined;
  grpcMessage: string | undefined;
  closed: boolean;
  rstCode: number | undefined;
}

export interface Http2Target {
  readonly address: string;
  /** The root to trust over TLS; absent: plaintext (15010). */
  readonly rootPem?: string;
  readonly servername?: string;
}

export async function openSession(t: Http2Target): Promise<ClientHttp2Session> {
  const session = t.rootPem === undefined ? connect(`http://${t.address}`)
    : connect(`https://${t.address}`, { ca: t.rootPem, servername: t.servername ?? 'istiod.istio-system.svc' });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => { resolve(); });
    session.once('error', reject);
  });
  session.on('error', () => undefined);
  return session;
}

/**
 * Opens an ADS stream and writes `messages`; its response data is never read, so the server's writes
 * stay queued behind HTTP/2 flow control. Headers and trailers are still observed.
 */
export function stuckStream(session: ClientHttp2Session, headers: Record<string, string>, messages: readonly DiscoveryRequest[]): RawStream {
  const stream = session.request({
    [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: ADS_PATH,
    'content-type': 'application/grpc', te: 'trailers', ...headers,
  });
  const s: RawStream = { stream, grpcStatus: undefined, grpcMessage: undefined, closed: false, rstCode: undefined };
  const seen = (h: Record<string, unknown>) => {
    const st = h['grpc-status'];
    const msg = h['grpc-message'];
    if (typeof st === 'string') { s.grpcStatus = Number(st); s.grpcMessage = decodeURIComponent(typeof msg === 'string' ? msg : ''); }
  };
  stream.on('response', seen);
  stream.on('trailers', seen);
  stream.on('error', () => undefined);
  stream.on('close', () => { s.closed = true; s.rstCode = stream.rstCode; });
  for (const m of messages) stream.write(grpcFrame(m));
  return s;
}
