/**
 * Hand-written shapes of the protobuf messages shared by every xDS resource: the well-known types
 * and `envoy.config.core.v3`. Field names are camelCase, as protobufjs `toObject` yields them; see
 * src/proto/codec.ts for the conversion options these shapes rely on:
 *
 * - every field is optional, as on the wire. Proto3 peers (Envoy, Go) do not send a field at its
 *   default (`''`, `0`, `false`, enum value 0, `BoolValue{false}` as `{}`), so read `x ?? default`.
 *   protobufjs does write a field that is set explicitly, even at its default, so our own
 *   encodings keep such fields. Empty lists and maps are never written and decode as absent;
 * - 64-bit integers are decimal strings (`Int64`);
 * - enums are their value names; a number the schema does not know arrives as a number (`OpenEnum`);
 * - bytes are `Uint8Array` (Node `Buffer`s after decoding);
 * - oneof members are plain optional fields (set at most one).
 *
 * These are subsets. Fields of the schema missing here still round-trip: the codec hands the whole
 * object to protobufjs.
 *
 * Being replaced by types generated from the pinned `.proto` files (src/proto/generated, made by
 * scripts/proto-types.ts), which list every field, so a misspelled one fails the type check. Done:
 * Address, SocketAddress, Locality, Metadata, HealthStatus (here) and the endpoint types
 * (types-resources.ts). A generated `X` is the permissive form the codec encodes (a 64-bit integer may
 * be a number, an enum its number); `X__Output` is what decoding yields.
 */
import type { Address } from './generated/envoy/config/core/v3/Address.ts';
import type { HealthStatus } from './generated/envoy/config/core/v3/HealthStatus.ts';
import type { Locality } from './generated/envoy/config/core/v3/Locality.ts';
import type { Metadata } from './generated/envoy/config/core/v3/Metadata.ts';
import type { SocketAddress } from './generated/envoy/config/core/v3/SocketAddress.ts';

export type { Address, HealthStatus, Locality, Metadata, SocketAddress };

/** A 64-bit integer as a decimal string (protobufjs also accepts a number when encoding). */
export type Int64 = string;

/** An enum value name, or the number of a value this schema does not know. */
export type OpenEnum<Names extends string> = Names | number;

/**
 * `google.protobuf.Any`. `value` is absent when the packed message encodes to zero bytes (e.g. an
 * empty `Router` config): proto3 does not put empty bytes on the wire.
 */
export interface Any {
  typeUrl: string;
  value?: Uint8Array;
}

/** `google.protobuf.Duration`; see wkt.ts for conversions. */
export interface Duration {
  seconds?: Int64;
  nanos?: number;
}

/** `google.protobuf.Timestamp`; see wkt.ts for conversions. */
export interface Timestamp {
  seconds?: Int64;
  nanos?: number;
}

/**
 * `google.protobuf.Struct` in its wire shape (protobufjs has no JSON mapping for it outside
 * `json: true`); see wkt.ts `structFromJson` / `structToJson`.
 */
export interface Struct {
  fields?: Record<string, Value>;
}

/** `google.protobuf.Value`: exactly one member is set (a oneof, so `0`, `''` and `false` survive). */
export type Value =
  | { nullValue: 'NULL_VALUE' | 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: Struct }
  | { listValue: ListValue };

export interface ListValue {
  values?: Value[];
}

export interface UInt32Value {
  value?: number;
}

export interface BoolValue {
  value?: boolean;
}

/** `google.rpc.Status`, e.g. `DiscoveryRequest.error_detail` on a NACK. */
export interface Status {
  code?: number;
  message?: string;
  details?: Any[];
}

// ---- envoy.type.v3 / envoy.type.matcher.v3 ----

export interface FractionalPercent {
  numerator?: number;
  denominator?: OpenEnum<'HUNDRED' | 'TEN_THOUSAND' | 'MILLION'>;
}

export interface Percent {
  value?: number;
}

export interface SemanticVersion {
  majorNumber?: number;
  minorNumber?: number;
  patch?: number;
}

export interface RegexMatcher {
  regex?: string;
  googleRe2?: { maxProgramSize?: UInt32Value };
}

export interface StringMatcher {
  exact?: string;
  prefix?: string;
  suffix?: string;
  safeRegex?: RegexMatcher;
  contains?: string;
  ignoreCase?: boolean;
}

// ---- envoy.config.core.v3 ----

export interface BuildVersion {
  version?: SemanticVersion;
  metadata?: Struct;
}

export interface Extension {
  name?: string;
  category?: string;
  version?: BuildVersion;
  disabled?: boolean;
  typeUrls?: string[];
}

/** `envoy.config.core.v3.Node`: who is asking, on every first request of an xDS stream. */
export interface Node {
  id?: string;
  cluster?: string;
  /** Istio puts the proxy's `ISTIO_META_*` values here (CLUSTER_ID, NETWORK, LABELS, ...). */
  metadata?: Struct;
  /** `xds.core.v3.ContextParams` per resource type. */
  dynamicParameters?: Record<string, { params?: Record<string, string> }>;
  locality?: Locality;
  userAgentName?: string;
  /** oneof user_agent_version_type */
  userAgentVersion?: string;
  /** oneof user_agent_version_type */
  userAgentBuildVersion?: BuildVersion;
  extensions?: Extension[];
  clientFeatures?: string[];
  /** Deprecated. */
  listeningAddresses?: Address[];
}

export interface ControlPlane {
  identifier?: string;
}

export interface WatchedDirectory {
  path?: string;
}

/** A certificate, key or other blob; set one of the four sources. */
export interface DataSource {
  filename?: string;
  inlineBytes?: Uint8Array;
  inlineString?: string;
  environmentVariable?: string;
  watchedDirectory?: WatchedDirectory;
}

export interface TransportSocket {
  name?: string;
  typedConfig?: Any;
}

export interface TypedExtensionConfig {
  name?: string;
  typedConfig?: Any;
}

export interface HeaderValue {
  key?: string;
  value?: string;
  rawValue?: Uint8Array;
}

export interface HeaderValueOption {
  header?: HeaderValue;
  /** Deprecated in favour of appendAction. */
  append?: BoolValue;
  appendAction?: OpenEnum<'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS'>;
  keepEmptyValue?: boolean;
}

export interface CidrRange {
  addressPrefix?: string;
  prefixLen?: UInt32Value;
}

export interface RuntimeFractionalPercent {
  defaultValue?: FractionalPercent;
  runtimeKey?: string;
}

export type ApiVersion = OpenEnum<'AUTO' | 'V2' | 'V3'>;

export interface GrpcService {
  envoyGrpc?: { clusterName?: string; authority?: string };
  timeout?: Duration;
  initialMetadata?: HeaderValue[];
}

export interface ApiConfigSource {
  apiType?: OpenEnum<'DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE' | 'REST' | 'GRPC' | 'DELTA_GRPC' | 'AGGREGATED_GRPC' | 'AGGREGATED_DELTA_GRPC'>;
  transportApiVersion?: ApiVersion;
  clusterNames?: string[];
  grpcServices?: GrpcService[];
  refreshDelay?: Duration;
  requestTimeout?: Duration;
  setNodeOnFirstMessageOnly?: boolean;
}

/** Where a resource comes from; Istio sends `{ ads: {}, resourceApiVersion: 'V3' }`. */
export interface ConfigSource {
  path?: string;
  pathConfigSource?: { path?: string; watchedDirectory?: WatchedDirectory };
  apiConfigSource?: ApiConfigSource;
  ads?: Record<string, never>;
  self?: { transportApiVersion?: ApiVersion };
  initialFetchTimeout?: Duration;
  resourceApiVersion?: ApiVersion;
}

export type RoutingPriority = OpenEnum<'DEFAULT' | 'HIGH'>;
export type TrafficDirection = OpenEnum<'UNSPECIFIED' | 'INBOUND' | 'OUTBOUND'>;

