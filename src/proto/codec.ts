/**
 * Encode and decode protobuf messages as the plain objects described in src/proto/types.ts.
 *
 * Decoding converts with these protobufjs `toObject` options:
 * - `longs: String`: every 64-bit integer (int64, uint64, Duration/Timestamp seconds, ...) becomes a
 *   decimal string. Always a string, never sometimes-a-number, and lossless above 2^53. Encoding
 *   accepts strings, numbers or Longs.
 * - `enums: String`: enum values become their names (a number the schema does not know stays a number).
 * - bytes are left as protobufjs reads them: Node `Buffer`s (typed `Uint8Array`) that share memory
 *   with the decoded input. Copy them if the input buffer is reused.
 * - `defaults: false`, `arrays: false`, `objects: false`: only fields present on the wire appear;
 *   empty lists and maps are absent. protobufjs writes every field that is set (even to `''`, `0`,
 *   `false`), proto3 peers omit those, so `decode(encode(x))` deep-equals `x` unless `x` holds
 *   empty lists or maps.
 * - `oneofs: false`: no virtual "which member is set" property.
 *
 * Well-known types: protobufjs special-cases only `google.protobuf.Any` (and only with `json: true`,
 * which we do not use), so Any is `{ typeUrl, value }`; Struct, Value, Duration, Timestamp and the
 * wrappers keep their wire shape (`{ fields: { k: { stringValue } } }`, `{ seconds, nanos }`,
 * `{ value }`). wkt.ts converts them to and from JSON, Date and milliseconds.
 *
 * Before protobufjs sees them, bytes pass a wire-format check (wire-check.ts); any failure, and any
 * encoding failure, is an IsthmusError with code ProtoCodec naming the message type. A type name the
 * schema lacks is ProtoUnknownType. Fields unknown to the schema are skipped on decode (not kept).
 */
import protobuf from 'protobufjs';
import type { IConversionOptions, Type } from 'protobufjs';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import type { TypeUrl } from '../model/ids.ts';
import { TYPE_URL_PREFIX } from '../model/type-urls.ts';
import { protoRoot } from './loader.ts';
import type * as T from './types.ts';
import { checkWireFormat } from './wire-check.ts';

/**
 * `In` is what encoding accepts, `Out` what decoding yields. They differ for the generated types
 * (src/proto/generated): `X` is permissive (a 64-bit integer may be a number, an enum its number),
 * `X__Output` is exactly what the conversion options below produce.
 */
export interface Codec<In, Out = In> {
  /** Fully qualified protobuf type name without a leading dot, e.g. `envoy.config.cluster.v3.Cluster`. */
  readonly typeName: string;
  encode(msg: In): Uint8Array;
  decode(bytes: Uint8Array): Out;
}

const TO_OBJECT: IConversionOptions = {
  longs: String,
  enums: String,
  defaults: false,
  arrays: false,
  objects: false,
  oneofs: false,
};

/** Looks a message type up in the loaded schema; ProtoUnknownType if it is not there. */
export function lookupMessageType(typeName: string): Type {
  const root = protoRoot();
  const found = root.lookup(typeName.startsWith('.') ? typeName : `.${typeName}`);
  if (!(found instanceof protobuf.Type)) {
    throw new IsthmusError(ErrorCodes.ProtoUnknownType, `unknown protobuf message type ${typeName}`);
  }
  return found;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

class ProtobufCodec<In, Out> implements Codec<In, Out> {
  readonly typeName: string;
  #type: Type | undefined;

  constructor(typeName: string) {
    this.typeName = typeName.startsWith('.') ? typeName.slice(1) : typeName;
  }

  /** The schema type, looked up on first use (which also loads the schema). */
  resolve(): Type {
    this.#type ??= lookupMessageType(this.typeName);
    return this.#type;
  }

  encode(msg: In): Uint8Array {
    const type = this.resolve();
    try {
      return type.encode(type.fromObject(msg as Record<string, unknown>)).finish();
    } catch (err) {
      throw new IsthmusError(ErrorCodes.ProtoCodec, `cannot encode ${this.typeName}: ${errorMessage(err)}`, { cause: err });
    }
  }

  decode(bytes: Uint8Array): Out {
    const type = this.resolve();
    try {
      checkWireFormat(type, bytes);
      return type.toObject(type.decode(asBuffer(bytes)), TO_OBJECT) as Out;
    } catch (err) {
      throw new IsthmusError(ErrorCodes.ProtoCodec, `cannot decode ${this.typeName}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/** A codec for any message type of the schema; throws ProtoUnknownType at once if it is not there. */
export function codec<M>(fullTypeName: string): Codec<M> {
  const c = new ProtobufCodec<M, M>(fullTypeName);
  c.resolve();
  return c;
}

/**
 * A codec for a type name known to be in the schema, created without loading the schema: it loads on
 * first encode/decode (a name it lacks fails there, with ProtoUnknownType). For module-level codecs,
 * so that importing a module costs no schema load.
 */
export function lazyCodec<In, Out = In>(fullTypeName: string): Codec<In, Out> {
  return new ProtobufCodec<In, Out>(fullTypeName);
}

// ---- xDS resources ----
export const listenerCodec = lazyCodec<T.Listener, T.Listener__Output>('envoy.config.listener.v3.Listener');
export const routeConfigurationCodec = lazyCodec<T.RouteConfiguration, T.RouteConfiguration__Output>('envoy.config.route.v3.RouteConfiguration');
export const clusterCodec = lazyCodec<T.Cluster, T.Cluster__Output>('envoy.config.cluster.v3.Cluster');
export const clusterLoadAssignmentCodec = lazyCodec<T.ClusterLoadAssignment, T.ClusterLoadAssignment__Output>('envoy.config.endpoint.v3.ClusterLoadAssignment');
export const secretCodec = lazyCodec<T.Secret, T.Secret__Output>('envoy.extensions.transport_sockets.tls.v3.Secret');

// ---- configs packed inside resources ----
export const httpConnectionManagerCodec = lazyCodec<T.HttpConnectionManager, T.HttpConnectionManager__Output>(
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
);
export const tcpProxyCodec = lazyCodec<T.TcpProxy, T.TcpProxy__Output>('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy');
export const routerCodec = lazyCodec<T.Router, T.Router__Output>('envoy.extensions.filters.http.router.v3.Router');
export const upstreamTlsContextCodec = lazyCodec<T.UpstreamTlsContext, T.UpstreamTlsContext__Output>('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
export const downstreamTlsContextCodec = lazyCodec<T.DownstreamTlsContext, T.DownstreamTlsContext__Output>('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');

// ---- discovery protocol ----
export const discoveryRequestCodec = lazyCodec<T.DiscoveryRequest, T.DiscoveryRequest__Output>('envoy.service.discovery.v3.DiscoveryRequest');
export const discoveryResponseCodec = lazyCodec<T.DiscoveryResponse, T.DiscoveryResponse__Output>('envoy.service.discovery.v3.DiscoveryResponse');
export const deltaDiscoveryRequestCodec = lazyCodec<T.DeltaDiscoveryRequest, T.DeltaDiscoveryRequest__Output>('envoy.service.discovery.v3.DeltaDiscoveryRequest');
export const deltaDiscoveryResponseCodec = lazyCodec<T.DeltaDiscoveryResponse, T.DeltaDiscoveryResponse__Output>('envoy.service.discovery.v3.DeltaDiscoveryResponse');
export const nodeCodec = lazyCodec<T.Node, T.Node__Output>('envoy.config.core.v3.Node');

// ---- client status (CSDS) and admin ----
export const clientConfigCodec = lazyCodec<T.ClientConfig, T.ClientConfig__Output>('envoy.service.status.v3.ClientConfig');
export const clientStatusRequestCodec = lazyCodec<T.ClientStatusRequest, T.ClientStatusRequest__Output>('envoy.service.status.v3.ClientStatusRequest');
export const clientStatusResponseCodec = lazyCodec<T.ClientStatusResponse, T.ClientStatusResponse__Output>('envoy.service.status.v3.ClientStatusResponse');
export const configDumpCodec = lazyCodec<T.ConfigDump, T.ConfigDump__Output>('envoy.admin.v3.ConfigDump');

// ---- Istio CA ----
export const istioCertificateRequestCodec = lazyCodec<T.IstioCertificateRequest, T.IstioCertificateRequest__Output>('istio.v1.auth.IstioCertificateRequest');
export const istioCertificateResponseCodec = lazyCodec<T.IstioCertificateResponse, T.IstioCertificateResponse__Output>('istio.v1.auth.IstioCertificateResponse');

// ---- well-known types ----
export const anyCodec = lazyCodec<T.Any, T.Any__Output>('google.protobuf.Any');
export const structCodec = lazyCodec<T.Struct, T.Struct__Output>('google.protobuf.Struct');
export const durationCodec = lazyCodec<T.Duration, T.Duration__Output>('google.protobuf.Duration');
export const timestampCodec = lazyCodec<T.Timestamp, T.Timestamp__Output>('google.protobuf.Timestamp');

// ---- Any ----

/** `type.googleapis.com/<typeName>` for a codec's message type. */
export function typeUrlOf(c: Codec<unknown>): TypeUrl {
  return `${TYPE_URL_PREFIX}${c.typeName}` as TypeUrl;
}

/** Packs a message into an Any (without `value` when the message encodes to zero bytes, as decoding yields). */
export function packAny<M>(c: Codec<M, unknown>, msg: M): T.Any {
  const value = c.encode(msg);
  return value.length === 0 ? { typeUrl: typeUrlOf(c) } : { typeUrl: typeUrlOf(c), value };
}

/** Unpacks an Any; ProtoCodec if its type URL is not exactly `type.googleapis.com/<c.typeName>`. */
export function unpackAny<M>(c: Codec<unknown, M>, any: T.Any): M {
  const expected = typeUrlOf(c);
  if (any.typeUrl !== expected) {
    throw new IsthmusError(ErrorCodes.ProtoCodec, `cannot unpack Any: expected type URL ${expected}, got ${JSON.stringify(any.typeUrl)}`);
  }
  return c.decode(any.value ?? new Uint8Array(0));
}

/**
 * The wire bytes of a `google.protobuf.Any` holding already-encoded `value` bytes, for building
 * responses from cached resource encodings without re-encoding them.
 */
export function encodeAnyRaw(typeUrl: TypeUrl | string, value: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  if (typeUrl.length > 0) w.uint32(0x0a).string(typeUrl);
  if (value.length > 0) w.uint32(0x12).bytes(value);
  return w.finish();
}
