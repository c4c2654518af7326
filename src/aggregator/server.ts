/**
 * The running xds-proxy: a TLS gRPC listener with the aggregating ADS service, and one open
 * grpc-js channel per replica address (closed when the replica disappears).
 */
import { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from '../observability/log.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../xds/server/grpc.ts';
import { XdsChannel } from '../xds/client/exchange.ts';
import { transportFor } from '../xds/client/transport.ts';
import type { Replica } from './merge.ts';
import type { ReplicaSource } from './replicas.ts';
import { DEFAULT_AGGREGATOR_LIMITS, XdsProxyService, type AggregatorLimits } from './service.ts';
import type { ServingCert } from './tls.ts';

export interface XdsProxyOptions {
  /** `host:port`; port 0 picks a free one. */
  readonly address: string;
  /** Serving certificate; undefined = plaintext (tests of the service only). */
  readonly cert: ServingCert | undefined;
  readonly replicas: ReplicaSource;
  readonly describeSource: string;
  /** Dial replicas without TLS (plaintext 15010-style ports). */
  readonly plaintextUpstream: boolean;
  /** SNI sent to replicas dialled by IP, e.g. `istiod.istio-system.svc`. */
  readonly upstreamServerName: string;
  readonly replicaTimeoutMs: number;
  readonly attributeReplicas: boolean;
  readonly limits?: Partial<AggregatorLimits>;
  readonly log: Logger;
  readonly version: string;
}

export class XdsProxy {
  readonly service: XdsProxyService;
  readonly #bound: BoundServer;
  readonly #channels: Map<string, XdsChannel>;

  private constructor(service: XdsProxyService, bound: BoundServer, channels: Map<string, XdsChannel>) {
    this.service = service;
    this.#bound = bound;
    this.#channels = channels;
  }

  get port(): number {
    return this.#bound.port;
  }

  static async start(opts: XdsProxyOptions): Promise<XdsProxy> {
    const limits = { ...DEFAULT_AGGREGATOR_LIMITS, ...opts.limits };
    const channels = new Map<string, XdsChannel>();
    const transport = (address: string) => transportFor({
      plaintext: opts.plaintextUpstream, certDir: '', authority: '', insecure: true,
      fallbackServerName: opts.upstreamServerName, maxReceiveBytes: limits.maxResponseBytes,
    }, address);
    const channel = (r: Replica): XdsChannel => {
      let c = channels.get(r.address);
      if (!c) { c = new XdsChannel(r.address, transport(r.address)); channels.set(r.address, c); }
      return c;
    };
    const replicas: ReplicaSource = async () => {
      const list = await opts.replicas();
      const live = new Set(list.map((r) => r.address));
      for (const [addr, c] of channels) if (!live.has(addr)) { c.close(); channels.delete(addr); }
      return list;
    };
    const service = new XdsProxyService({
      replicas, channel, replicaTimeoutMs: opts.replicaTimeoutMs, attributeReplicas: opts.attributeReplicas,
      describeSource: opts.describeSource, limits, log: opts.log, version: opts.version,
    });
    const creds = opts.cert
      ? ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(opts.cert.certPem), private_key: Buffer.from(opts.cert.keyPem) }], false)
      : ServerCredentials.createInsecure();
    const bound = await startGrpcServer(opts.address, creds, { maxRequestBytes: limits.maxRequestBytes, maxResponseBytes: limits.maxResponseBytes }, [
      { definition: preparedAdsService, implementation: service.implementation() },
    ]);
    return new XdsProxy(service, bound, channels);
  }

  async close(): Promise<void> {
    await this.#bound.close();
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }
}
