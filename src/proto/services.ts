/**
 * gRPC service definitions for grpc-js built from our codecs, without @grpc/proto-loader: use them
 * with `server.addService(def, impl)` or `makeGenericClientConstructor(def, serviceName)`.
 * Creating them does not load the protobuf schema; the first (de)serialization does.
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import type { Codec } from './codec.ts';
import {
  clientStatusRequestCodec, clientStatusResponseCodec, deltaDiscoveryRequestCodec, deltaDiscoveryResponseCodec,
  discoveryRequestCodec, discoveryResponseCodec, istioCertificateRequestCodec, istioCertificateResponseCodec,
} from './codec.ts';

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A grpc-js method definition for `path` (`/<package>.<Service>/<Method>`). Serializers throw
 * IsthmusError (ProtoCodec) on bad input; grpc-js turns that into a call error.
 */
export function methodDefinition<Req, Res>(
  path: string,
  requestType: Codec<Req>,
  responseType: Codec<Res>,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<Req, Res> {
  const originalName = path.slice(path.lastIndexOf('/') + 1);
  return {
    path,
    originalName: originalName.charAt(0).toLowerCase() + originalName.slice(1),
    requestStream,
    responseStream,
    requestSerialize: (msg: Req) => toBuffer(requestType.encode(msg)),
    requestDeserialize: (bytes: Buffer) => requestType.decode(bytes),
    responseSerialize: (msg: Res) => toBuffer(responseType.encode(msg)),
    responseDeserialize: (bytes: Buffer) => responseType.decode(bytes),
  };
}

const ADS = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
const CSDS = 'envoy.service.status.v3.ClientStatusDiscoveryService';
const CA = 'istio.v1.auth.IstioCertificateService';

/** Fully qualified service names, as `makeGenericClientConstructor` wants them. */
export const ServiceNames = { ads: ADS, csds: CSDS, ca: CA } as const;

/** Aggregated discovery (ADS): state-of-the-world and delta, both bidirectional streams. */
export const aggregatedDiscoveryService = {
  StreamAggregatedResources: methodDefinition(`/${ADS}/StreamAggregatedResources`, discoveryRequestCodec, discoveryResponseCodec, true, true),
  DeltaAggregatedResources: methodDefinition(`/${ADS}/DeltaAggregatedResources`, deltaDiscoveryRequestCodec, deltaDiscoveryResponseCodec, true, true),
} satisfies ServiceDefinition;

/** Client status discovery (CSDS). */
export const clientStatusDiscoveryService = {
  StreamClientStatus: methodDefinition(`/${CSDS}/StreamClientStatus`, clientStatusRequestCodec, clientStatusResponseCodec, true, true),
  FetchClientStatus: methodDefinition(`/${CSDS}/FetchClientStatus`, clientStatusRequestCodec, clientStatusResponseCodec, false, false),
} satisfies ServiceDefinition;

/** Istio's CA: `/istio.v1.auth.IstioCertificateService/CreateCertificate`, unary. */
export const istioCertificateService = {
  CreateCertificate: methodDefinition(`/${CA}/CreateCertificate`, istioCertificateRequestCodec, istioCertificateResponseCodec, false, false),
} satisfies ServiceDefinition;
