/**
 * Binding the xDS (and later CA) services to grpc-js servers with the limits every listener has:
 * message sizes, concurrent streams, keepalive enforcement.
 */
import { Server, type ServerCredentials, type ChannelOptions, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { discoveryRequestCodec, deltaDiscoveryRequestCodec } from '../../proto/codec.ts';
import { ServiceNames } from '../../proto/services.ts';
import type { DeltaDiscoveryRequest, DiscoveryRequest } from '../../proto/types.ts';
import { encodeDeltaResponse, type PreparedDeltaResponse } from '../protocol/delta-response.ts';
import { decodeDiscoveryRequest } from '../protocol/request-wire.ts';
import { encodeResponse, type PreparedResponse } from '../protocol/response.ts';
import { parseListenAddress } from '../../model/listen-address.ts';
import type { ServerLimits } from './types.ts';

const ADS = ServiceNames.ads;

/**
 * ADS (state of the world and delta) whose responses are prepared (resources already encoded
 * once, shared across streams) rather than message objects.
 */
export const preparedAdsService = {
  StreamAggregatedResources: {
    path: `/${ADS}/StreamAggregatedResources`,
    originalName: 'streamAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: DiscoveryRequest) => Buffer.from(discoveryRequestCodec.encode(m)),
    // Names stay encoded until read: most ACKs are compared as bytes (request-wire.ts).
    requestDeserialize: (b: Buffer) => decodeDiscoveryRequest(b),
    responseSerialize: (r: PreparedResponse) => encodeResponse(r),
    responseDeserialize: (): PreparedResponse => { throw new Error('server-side definition: responses are not decoded here'); },
  },
  DeltaAggregatedResources: {
    path: `/${ADS}/DeltaAggregatedResources`,
    originalName: 'deltaAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: DeltaDiscoveryRequest) => Buffer.from(deltaDiscoveryRequestCodec.encode(m)),
    requestDeserialize: (b: Buffer) => deltaDiscoveryRequestCodec.decode(b),
    responseSerialize: (r: PreparedDeltaResponse) => encodeDeltaResponse(r),
    responseDeserialize: (): PreparedDeltaResponse => { throw new Error('server-side definition: responses are not decoded here'); },
  },
} satisfies ServiceDefinition;

export function serverOptions(limits: Pick<ServerLimits, 'maxRequestBytes' | 'maxResponseBytes'>): ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxRequestBytes,
    'grpc.max_send_message_length': limits.maxResponseBytes,
    'grpc.max_concurrent_streams': 1000,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  };
}

export interface BoundServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a grpc-js server with the given services on `address` (`host:port`, `:port`). */
export async function startGrpcServer(
  address: string,
  credentials: ServerCredentials,
  limits: Pick<ServerLimits, 'maxRequestBytes' | 'maxResponseBytes'>,
  services: readonly { definition: ServiceDefinition; implementation: UntypedServiceImplementation }[],
): Promise<BoundServer> {
  const { host, port } = parseListenAddress(address);
  const server = new Server(serverOptions(limits));
  for (const s of services) server.addService(s.definition, s.implementation);
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, credentials, (err, p) => { if (err) reject(err); else resolve(p); });
  });
  return {
    server,
    port: bound,
    close: () => new Promise<void>((resolve) => {
      server.tryShutdown(() => { resolve(); });
      setTimeout(() => { server.forceShutdown(); resolve(); }, 2000).unref();
    }),
  };
}
