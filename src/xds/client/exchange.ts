/**
 * One request/response exchange over an ADS stream, as istioctl's xDS client does it: open a
 * stream (with `authorization: Bearer` when there is a token), send one DiscoveryRequest carrying
 * the node, wait for the first response of the requested type, close the stream. Failures become
 * IsthmusErrors that say what went wrong in the user's terms (unreachable, TLS, refused, timeout).
 *
 * An XdsChannel keeps its grpc-js channel open between exchanges (the aggregator keeps one per
 * replica), each exchange is a new stream.
 */
import { networkInterfaces } from 'node:os';
import { Metadata, makeGenericClientConstructor, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { GrpcStatus, grpcStatusName, isGrpcStatusCode, RelayedStatusError, type GrpcStatusCode } from '../../model/grpc-status.ts';
import { aggregatedDiscoveryService, ServiceNames } from '../../proto/services.ts';
import type { DiscoveryRequest, DiscoveryResponse, Node } from '../../proto/types.ts';
import { structFromJson } from '../../proto/wkt.ts';
import type { Transport } from './transport.ts';

const AdsClient = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);
type Stream = ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** istioctl's node (adsc defaults): `sidecar~<ip>~test-1.default~default.svc.cluster.local`, metadata for the `event` generator. */
export function istioctlNode(namespace: string, serviceAccount = 'default', ip = localIp()): Node {
  return {
    id: `sidecar~${ip}~test-1.default~default.svc.cluster.local`,
    metadata: structFromJson({ GENERATOR: 'event', SERVICE_ACCOUNT: serviceAccount, NAMESPACE: namespace, ISTIO_VERSION: '65536.65536.65536' }),
  };
}

function localIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const TLS_HINTS = /certificate|SSL|TLS|handshake|wrong version number|packet length|self[- ]signed|unable to (verify|get)|ERR_TLS|alert|Hostname\/IP does not match|EPROTO/i;

/** What a failed exchange means for the user. Pure. */
export function classifyXdsError(err: Pick<ServiceError, 'code' | 'details'>, address: string, mode: string, timeoutMs: number): IsthmusError {
  const e = classify(err, address, mode, timeoutMs);
  return new XdsCallError(e.code, e.message, isGrpcStatusCode(err.code) ? err.code : GrpcStatus.UNKNOWN);
}

/** A failed exchange: an IsthmusError that also keeps the gRPC status the stream ended with. */
export class XdsCallError extends RelayedStatusError {
  constructor(code: IsthmusError['code'], message: string, grpcStatus: GrpcStatusCode) {
    super(code, message, grpcStatus);
    this.name = 'XdsCallError';
  }
}

/** The gRPC status code behind an error from XdsChannel.exchange, if it came from the stream. */
export function grpcCodeOf(err: unknown): GrpcStatusCode | undefined {
  return err instanceof XdsCallError ? err.grpcStatus : undefined;
}

function classify(err: Pick<ServiceError, 'code' | 'details'>, address: string, mode: string, timeoutMs: number): IsthmusError {
  const details = err.details || 'no details';
  const code: number = err.code;
  if (code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED) {
    return new IsthmusError(ErrorCodes.XdsRefused, `${address} refused the request (${grpcStatusName(code)}): ${details}`);
  }
  if (code === GrpcStatus.UNAVAILABLE) {
    if (TLS_HINTS.test(details)) {
      const hint = mode === 'plaintext'
        ? 'the server speaks TLS: drop --plaintext/ISTIOCTL_PLAINTEXT'
        : mode === 'tls-insecure'
          ? 'is the server plaintext (then use --plaintext, e.g. for port 15010)?'
          : 'check --cert-dir, --authority and the server certificate, or use --insecure';
      return new IsthmusError(ErrorCodes.XdsTls, `TLS handshake with ${address} failed (${mode}): ${details}; ${hint}`);
    }
    return new IsthmusError(ErrorCodes.XdsUnreachable, `cannot reach the xDS server at ${address}: ${details}`);
  }
  if (code === GrpcStatus.DEADLINE_EXCEEDED) {
    if (/LB pick|waiting for (a )?connection|connect/i.test(details)) {
      return new IsthmusError(ErrorCodes.XdsUnreachable, `cannot reach the xDS server at ${address} within ${timeoutMs} ms: ${details}`);
    }
    return new IsthmusError(ErrorCodes.XdsFailed, `no answer from ${address} within ${timeoutMs} ms`);
  }
  return new IsthmusError(ErrorCodes.XdsFailed, `${address}: ${grpcStatusName(code)}: ${details}`);
}

export interface ExchangeOptions {
  readonly timeoutMs: number;
  /** Bearer token (sent only if the transport sends tokens). */
  readonly token?: string | undefined;
  /** A verbatim `authorization` value to forward (the aggregator forwards its caller's). */
  readonly authorization?: string | undefined;
  readonly signal?: AbortSignal;
}

export class XdsChannel {
  readonly address: string;
  readonly transport: Transport;
  readonly #client: InstanceType<typeof AdsClient>;

  constructor(address: string, transport: Transport) {
    this.address = address;
    this.transport = transport;
    this.#client = new AdsClient(address, transport.credentials, { ...transport.channelOptions });
  }

  /** Sends `request` (which must carry the node) on a new stream and returns the first response of its type. */
  async exchange(request: DiscoveryRequest, opts: ExchangeOptions): Promise<DiscoveryResponse> {
    const md = new Metadata();
    if (opts.authorization) md.set('authorization', opts.authorization);
    else if (opts.token && this.transport.sendsToken) md.set('authorization', `Bearer ${opts.token}`);
    const method = (this.#client as unknown as Record<string, (md: Metadata, o: { deadline: Date }) => Stream>)['StreamAggregatedResources'];
    if (!method) throw new Error('ADS client has no StreamAggregatedResources method');
    const stream = method.call(this.#client, md, { deadline: new Date(Date.now() + opts.timeoutMs) });
    const wanted = request.typeUrl ?? '';
    return new Promise<DiscoveryResponse>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        opts.signal?.removeEventListener('abort', onAbort);
        fn();
        stream.cancel();
      };
      const onAbort = () => { finish(() => { reject(new IsthmusError(ErrorCodes.XdsFailed, `${this.address}: cancelled`)); }); };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (r: DiscoveryResponse) => { if ((r.typeUrl ?? '') === wanted) finish(() => { resolve(r); }); });
      stream.on('error', (e: ServiceError) => { finish(() => { reject(classifyXdsError(e, this.address, this.transport.mode, opts.timeoutMs)); }); });
      stream.on('end', () => { finish(() => { reject(new IsthmusError(ErrorCodes.XdsFailed, `${this.address} closed the stream without answering ${wanted}`)); }); });
      stream.write(request);
    });
  }

  close(): void {
    this.#client.close();
  }
}
