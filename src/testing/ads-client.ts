/**
 * A small ADS client for tests and benchmarks (istio's AdsTest): open a stream, send requests,
 * await responses in order, ACK or NACK them. Real grpc-js, real protobuf.
 */
import { credentials as grpcCredentials, makeGenericClientConstructor, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { aggregatedDiscoveryService, ServiceNames } from '../proto/services.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../proto/types.ts';
import { structFromJson, type JsonObject } from '../proto/wkt.ts';

const AdsClientCtor = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);

export interface AdsClientOptions {
  readonly address: string;
  readonly nodeId: string;
  readonly metadata?: JsonObject;
  readonly credentials?: ChannelCredentials;
  readonly headers?: Readonly<Record<string, string>>;
  readonly channelOptions?: Readonly<Record<string, string | number>>;
}

export class AdsTestClient {
  readonly #client: InstanceType<typeof AdsClientCtor>;
  readonly #stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  readonly #opts: AdsClientOptions;
  readonly #queue: DiscoveryResponse[] = [];
  #waiters: { resolve: (r: DiscoveryResponse) => void; reject: (e: Error) => void }[] = [];
  #error: ServiceError | undefined;
  #ended = false;
  #sentNode = false;

  constructor(opts: AdsClientOptions) {
    this.#opts = opts;
    this.#client = new AdsClientCtor(opts.address, opts.credentials ?? grpcCredentials.createInsecure(), { ...opts.channelOptions });
    const md = new Metadata();
    for (const [k, v] of Object.entries(opts.headers ?? {})) md.set(k, v);
    const method = (this.#client as unknown as Record<string, (md: Metadata) => ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>>)['StreamAggregatedResources'];
    if (!method) throw new Error('ADS client has no StreamAggregatedResources method');
    this.#stream = method.call(this.#client, md);
    this.#stream.on('data', (r: DiscoveryResponse) => {
      const w = this.#waiters.shift();
      if (w) w.resolve(r); else this.#queue.push(r);
    });
    this.#stream.on('error', (e: ServiceError) => { this.#error = e; this.#failAll(e); });
    this.#stream.on('end', () => { this.#ended = true; this.#failAll(new Error('stream ended')); });
  }

  #failAll(e: Error): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w.reject(e);
  }

  /** The error the stream ended with, if any. */
  get error(): ServiceError | undefined {
    return this.#error;
  }

  send(req: DiscoveryRequest): void {
    const withNode: DiscoveryRequest = this.#sentNode ? req : { ...req, node: req.node ?? { id: this.#opts.nodeId, metadata: structFromJson(this.#opts.metadata ?? {}) } };
    this.#sentNode = true;
    this.#stream.write(withNode);
  }

  /** The next response (in order), or rejects with the stream's error or after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<DiscoveryResponse> {
    const queued = this.#queue.shift();
    if (queued) return queued;
    if (this.#error) throw this.#error;
    if (this.#ended) throw new Error('stream ended');
    return new Promise<DiscoveryResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== ok);
        reject(new Error(`no DiscoveryResponse within ${timeoutMs} ms`));
      }, timeoutMs);
      const ok = (r: DiscoveryResponse) => { clearTimeout(timer); resolve(r); };
      this.#waiters.push({ resolve: ok, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
  }

  /** Waits for the stream to end with an error and returns it. */
  async failure(timeoutMs = 5000): Promise<ServiceError> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#error && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.#error) throw new Error(`stream did not fail within ${timeoutMs} ms`);
    return this.#error;
  }

  /** Sends a request and returns the next response of that type (skipping nothing: it must be next). */
  async request(typeUrl: string, resourceNames: readonly string[] = [], timeoutMs = 5000): Promise<DiscoveryResponse> {
    this.send({ typeUrl, resourceNames: [...resourceNames] });
    return this.next(timeoutMs);
  }

  ack(resp: DiscoveryResponse, resourceNames: readonly string[] = []): void {
    this.send({ typeUrl: resp.typeUrl ?? '', responseNonce: resp.nonce ?? '', versionInfo: resp.versionInfo ?? '', resourceNames: [...resourceNames] });
  }

  nack(resp: DiscoveryResponse, message: string, resourceNames: readonly string[] = []): void {
    this.send({ typeUrl: resp.typeUrl ?? '', responseNonce: resp.nonce ?? '', resourceNames: [...resourceNames], errorDetail: { code: 3, message } });
  }

  close(): void {
    this.#stream.cancel();
    this.#client.close();
  }
}
