/**
 * Hand-written shapes of the protobuf messages Isthmus exchanges: the xDS discovery protocol
 * (state of the world and delta), CSDS client status, Envoy's admin config dump, and Istio's CA
 * API. The well-known and core types live in types-core.ts, the xDS resources in
 * types-resources.ts and types-tls.ts; all are re-exported from here. Conventions (optional fields, `Int64` as
 * strings, enum names, bytes) are described in types-core.ts.
 */
import type {
  Any, ControlPlane, Duration, Int64, Metadata, Node, OpenEnum, Status, StringMatcher, Struct, Timestamp,
} from './types-core.ts';

export type * from './types-core.ts';
export type * from './types-resources.ts';
export type * from './types-tls.ts';

// ---- envoy.service.discovery.v3 ----

export interface ResourceLocator {
  name?: string;
  dynamicParameters?: Record<string, string>;
}

export interface DynamicParameterConstraints {
  constraint?: { key?: string; value?: string; exists?: Record<string, never> };
  orConstraints?: { constraints?: DynamicParameterConstraints[] };
  andConstraints?: { constraints?: DynamicParameterConstraints[] };
  notConstraints?: DynamicParameterConstraints;
}

export interface ResourceName {
  name?: string;
  dynamicParameterConstraints?: DynamicParameterConstraints;
}

/** State-of-the-world request; an ACK echoes `responseNonce` and `versionInfo`, a NACK adds `errorDetail`. */
export interface DiscoveryRequest {
  versionInfo?: string;
  /** Sent on the first request of a stream (Envoy may omit it afterwards). */
  node?: Node;
  resourceNames?: string[];
  resourceLocators?: ResourceLocator[];
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: Status;
}

export interface DiscoveryResponse {
  versionInfo?: string;
  resources?: Any[];
  canary?: boolean;
  typeUrl?: string;
  nonce?: string;
  controlPlane?: ControlPlane;
}

export interface DeltaDiscoveryRequest {
  node?: Node;
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  resourceLocatorsSubscribe?: ResourceLocator[];
  resourceLocatorsUnsubscribe?: ResourceLocator[];
  /** Resource name -> version the client already has (first request of a reconnecting stream). */
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: Status;
}

/** `envoy.service.discovery.v3.Resource`, one entry of a delta response. */
export interface Resource {
  name?: string;
  resourceName?: ResourceName;
  aliases?: string[];
  version?: string;
  resource?: Any;
  ttl?: Duration;
  cacheControl?: { doNotCache?: boolean };
  metadata?: Metadata;
}

export interface DeltaDiscoveryResponse {
  systemVersionInfo?: string;
  resources?: Resource[];
  typeUrl?: string;
  removedResources?: string[];
  removedResourceNames?: ResourceName[];
  nonce?: string;
  controlPlane?: ControlPlane;
}

// ---- envoy.admin.v3 / envoy.service.status.v3 (CSDS) ----

export type ConfigStatus = OpenEnum<'UNKNOWN' | 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR'>;
export type ClientResourceStatus = OpenEnum<'UNKNOWN' | 'REQUESTED' | 'DOES_NOT_EXIST' | 'ACKED' | 'NACKED'>;
export type ClientConfigStatus = OpenEnum<'CLIENT_UNKNOWN' | 'CLIENT_REQUESTED' | 'CLIENT_ACKED' | 'CLIENT_NACKED'>;

/** `envoy.admin.v3.UpdateFailureState`: why the last update of a resource was rejected. */
export interface UpdateFailureState {
  failedConfiguration?: Any;
  lastUpdateAttempt?: Timestamp;
  details?: string;
  versionInfo?: string;
}

export interface GenericXdsConfig {
  typeUrl?: string;
  name?: string;
  versionInfo?: string;
  /** The resource itself, unless the request set `excludeResourceContents`. */
  xdsConfig?: Any;
  lastUpdated?: Timestamp;
  /** Server-side view: was the latest version sent and ACKed. */
  configStatus?: ConfigStatus;
  /** Client-side view of the resource. */
  clientStatus?: ClientResourceStatus;
  errorState?: UpdateFailureState;
  isStaticResource?: boolean;
}

/** Deprecated per-type status; the typed config dumps (oneof per_xds_config) are not listed. */
export interface PerXdsConfig {
  status?: ConfigStatus;
  clientStatus?: ClientConfigStatus;
}

export interface ClientConfig {
  node?: Node;
  /** Deprecated in favour of genericXdsConfigs. */
  xdsConfig?: PerXdsConfig[];
  genericXdsConfigs?: GenericXdsConfig[];
  clientScope?: string;
}

export interface NodeMatcher {
  nodeId?: StringMatcher;
  nodeMetadatas?: { path?: { key?: string }[]; value?: unknown }[];
}

export interface ClientStatusRequest {
  nodeMatchers?: NodeMatcher[];
  node?: Node;
  excludeResourceContents?: boolean;
}

export interface ClientStatusResponse {
  config?: ClientConfig[];
}

/** `envoy.admin.v3.ConfigDump`: each entry is a packed `*ConfigDump` message. */
export interface ConfigDump {
  configs?: Any[];
}

// ---- istio.v1.auth (proto/istio/v1/auth/ca.proto) ----

export interface IstioCertificateRequest {
  /** PEM CSR. */
  csr?: string;
  /** Requested lifetime in seconds. */
  validityDuration?: Int64;
  /** Keys used by Istio: `CertSigner`, `ImpersonatedIdentity` (string values). */
  metadata?: Struct;
}

export interface IstioCertificateResponse {
  /** PEM certificates, leaf first, root last. */
  certChain?: string[];
}
