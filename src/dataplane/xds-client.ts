/**
 * A small state-of-the-world ADS client for the data plane (what Envoy's xDS client does for the
 * types it is configured with): one stream, one subscription per type URL, every response ACKed
 * (or NACKed when the handler throws) with its version and nonce, and a reconnect with backoff that
 * re-sends the current subscriptions with the last accepted versions.
 */
import { credentials, makeGenericClientConstructor, Metadata, type ChannelCredentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { aggregatedDiscoveryService, ServiceNames } from '../proto/services.ts';
import type { Any, DiscoveryRequest, DiscoveryResponse } from '../proto/types.ts';
import { structFromJson, type JsonObject } from '../proto/wkt.ts';

const AdsClient = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);
type Stream = ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export interface XdsNode {
  readonly id: string;
  readonly metadata: JsonObject;
}

/** Applies one response's resources; throwing NACKs the response with the error's message. */
export type ResourceHandler = (resources: readonly Any[], versionInfo: string) => void;

interface Subscription {
  names: readonly string[] | 'wildcard';
  readonly handler: ResourceHandler;
  version: string;
  nonce: string;
}

/**
 * How a pod's agent authenticates to the control plane's TLS port, as Istio's does: the root from
 * `istio-ca-root-cert`, the name in istiod's serving certificate, a projected service-account token
 * (read at every call, so a rotated token is used) and the `clusterid` header.
 */
export interface XdsSecurity {
  readonly rootCertPem: string;
  readonly serverName: string;
  readonly token: () => string;
  readonly clusterId: string;
}

export interface XdsClientOptions {
  readonly address: string;
  readonly node: XdsNode;
  /** Absent: plaintext (the control plane's 15010). */
  readonly security?: XdsSecurity;
  readonly log: (event: Record<string, unknown>) => void;
  readonly reconnectMs?: number;
}

export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #client: InstanceType<typeof AdsClient>;
  readonly #subs = new Map<string, Subscription>();
  #stream: Stream | undefined;
  #sentNode = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: XdsClientOptions) {
    this.#opts = opts;
    const sec = opts.security;
    let creds: ChannelCredentials = credentials.createInsecure();
    const channelOptions: Record<string, string> = {};
    if (sec) {
      const perCall = credentials.createFromMetadataGenerator((_params, cb) => {
        const md = new Metadata();
        try {
          md.set('authorization', `Bearer ${sec.token().trim()}`);
          md.set('clusterid', sec.clusterId);
          cb(null, md);
        } catch (err) {
          cb(err instanceof Error ? err : new Error(String(err)));
        }
      });
      creds = credentials.combineChannelCredentials(credentials.createSsl(Buffer.from(sec.rootCertPem)), perCall);
      channelOptions['grpc.ssl_target_name_override'] = sec.serverName;
      channelOptions['grpc.default_authority'] = sec.serverName;
    }
    this.#client = new AdsClient(opts.address, creds, channelOptions);
  }

  /** Subscribes (or changes the names of) one type; the handler gets every accepted response. */
  watch(typeUrl: string, names: readonly string[] | 'wildcard', handler: ResourceHandler): void {
    const prev = this.#subs.get(typeUrl);
    const sub: Subscription = prev ?? { names, handler, version: '', nonce: '' };
    sub.names = names;
    this.#subs.set(typeUrl, sub);
    if (this.#stream !== undefined) this.#send(typeUrl, sub);
  }

  start(): void {
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stream?.cancel();
    this.#client.close();
  }

  #connect(): void {
    const method = (this.#client as unknown as Record<string, (() => Stream) | undefined>)['StreamAggregatedResources'];
    if (method === undefined) throw new Error('ADS client has no StreamAggregatedResources');
    const stream = method.call(this.#client);
    this.#stream = stream;
    this.#sentNode = false;
    stream.on('data', (r: DiscoveryResponse) => { this.#onResponse(r); });
    const retry = (why: string) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      if (this.#closed) return;
      this.#opts.log({ event: 'xds-disconnected', error: why });
      this.#timer = setTimeout(() => { this.#connect(); }, this.#opts.reconnectMs ?? 500);
    };
    stream.on('error', (e: ServiceError) => { retry(e.message); });
    stream.on('end', () => { retry('stream ended'); });
    for (const [t, sub] of this.#subs) {
      sub.nonce = ''; // nonces belong to a stream; the version says what was accepted
      this.#send(t, sub);
    }
  }

  #send(typeUrl: string, sub: Subscription, errorDetail?: string): void {
    const req: DiscoveryRequest = {
      typeUrl,
      versionInfo: sub.version,
      responseNonce: sub.nonce,
      resourceNames: sub.names === 'wildcard' ? [] : [...sub.names],
      ...(errorDetail === undefined ? {} : { errorDetail: { code: 3, message: errorDetail } }),
    };
    if (!this.#sentNode) {
      req.node = { id: this.#opts.node.id, metadata: structFromJson(this.#opts.node.metadata) };
      this.#sentNode = true;
    }
    this.#stream?.write(req);
  }

  #onResponse(r: DiscoveryResponse): void {
    const typeUrl = r.typeUrl ?? '';
    const sub = this.#subs.get(typeUrl);
    if (sub === undefined) return;
    sub.nonce = r.nonce ?? '';
    try {
      sub.handler(r.resources ?? [], r.versionInfo ?? '');
      sub.version = r.versionInfo ?? '';
      this.#send(typeUrl, sub);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#opts.log({ event: 'xds-nack', typeUrl, version: r.versionInfo, error: message });
      this.#send(typeUrl, sub, message);
    }
  }
}
