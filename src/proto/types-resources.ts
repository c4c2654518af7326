/**
 * Partial shapes of the xDS resources a control plane builds: Listener, RouteConfiguration,
 * Cluster, ClusterLoadAssignment, and the filter configs packed inside them (HttpConnectionManager,
 * TcpProxy, Router). Secret and the TLS contexts are in types-tls.ts. Conventions: types-core.ts.
 * Only the fields a control plane sets are listed; the rest still round-trip through the codec.
 * The endpoint types (ClusterLoadAssignment and what it holds) are generated from the .proto files.
 */
import type { ClusterLoadAssignment } from './generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
import type {
  Address, Any, BoolValue, CidrRange, ConfigSource, DataSource, Duration,
  HeaderValueOption, Int64, Metadata, OpenEnum, Percent, RegexMatcher,
  RoutingPriority, RuntimeFractionalPercent, SocketAddress, StringMatcher, Struct, TrafficDirection, TransportSocket,
  TypedExtensionConfig, UInt32Value,
} from './types-core.ts';

// ---- envoy.config.listener.v3 ----

export interface FilterChainMatch {
  destinationPort?: UInt32Value;
  prefixRanges?: CidrRange[];
  directSourcePrefixRanges?: CidrRange[];
  sourceType?: OpenEnum<'ANY' | 'SAME_IP_OR_LOOPBACK' | 'EXTERNAL'>;
  sourcePrefixRanges?: CidrRange[];
  sourcePorts?: number[];
  serverNames?: string[];
  transportProtocol?: string;
  applicationProtocols?: string[];
}

/** A network filter (Listener) or listener filter; `typedConfig` is the packed filter config. */
export interface Filter {
  name?: string;
  typedConfig?: Any;
}

export interface FilterChain {
  filterChainMatch?: FilterChainMatch;
  filters?: Filter[];
  metadata?: Metadata;
  transportSocket?: TransportSocket;
  transportSocketConnectTimeout?: Duration;
  name?: string;
}

export interface Listener {
  name?: string;
  address?: Address;
  additionalAddresses?: { address?: Address }[];
  statPrefix?: string;
  filterChains?: FilterChain[];
  useOriginalDst?: BoolValue;
  defaultFilterChain?: FilterChain;
  perConnectionBufferLimitBytes?: UInt32Value;
  metadata?: Metadata;
  drainType?: OpenEnum<'DEFAULT' | 'MODIFY_ONLY'>;
  listenerFilters?: Filter[];
  listenerFiltersTimeout?: Duration;
  continueOnListenerFiltersTimeout?: boolean;
  transparent?: BoolValue;
  freebind?: BoolValue;
  trafficDirection?: TrafficDirection;
  /** Proxyless gRPC clients get their HttpConnectionManager here. */
  apiListener?: { apiListener?: Any };
  bindToPort?: BoolValue;
}

// ---- envoy.config.route.v3 ----

export interface HeaderMatcher {
  name?: string;
  exactMatch?: string;
  safeRegexMatch?: RegexMatcher;
  rangeMatch?: { start?: Int64; end?: Int64 };
  presentMatch?: boolean;
  prefixMatch?: string;
  suffixMatch?: string;
  containsMatch?: string;
  stringMatch?: StringMatcher;
  invertMatch?: boolean;
  treatMissingHeaderAsEmpty?: boolean;
}

export interface RouteMatch {
  prefix?: string;
  path?: string;
  safeRegex?: RegexMatcher;
  pathSeparatedPrefix?: string;
  caseSensitive?: BoolValue;
  runtimeFraction?: RuntimeFractionalPercent;
  headers?: HeaderMatcher[];
  queryParameters?: { name?: string; stringMatch?: StringMatcher; presentMatch?: boolean }[];
  grpc?: Record<string, never>;
}

export interface RetryPolicy {
  retryOn?: string;
  numRetries?: UInt32Value;
  perTryTimeout?: Duration;
  retryHostPredicate?: TypedExtensionConfig[];
  hostSelectionRetryMaxAttempts?: Int64;
  retriableStatusCodes?: number[];
}

export interface ClusterWeight {
  name?: string;
  weight?: UInt32Value;
  metadataMatch?: Metadata;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  typedPerFilterConfig?: Record<string, Any>;
  hostRewriteLiteral?: string;
}

export interface HashPolicy {
  header?: { headerName?: string };
  cookie?: { name?: string; ttl?: Duration; path?: string };
  connectionProperties?: { sourceIp?: boolean };
  queryParameter?: { name?: string };
  filterState?: { key?: string };
  terminal?: boolean;
}

export interface RouteAction {
  cluster?: string;
  clusterHeader?: string;
  weightedClusters?: { clusters?: ClusterWeight[]; totalWeight?: UInt32Value };
  clusterNotFoundResponseCode?: OpenEnum<'SERVICE_UNAVAILABLE' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR'>;
  metadataMatch?: Metadata;
  prefixRewrite?: string;
  regexRewrite?: { pattern?: RegexMatcher; substitution?: string };
  hostRewriteLiteral?: string;
  autoHostRewrite?: BoolValue;
  timeout?: Duration;
  idleTimeout?: Duration;
  retryPolicy?: RetryPolicy;
  requestMirrorPolicies?: { cluster?: string; runtimeFraction?: RuntimeFractionalPercent; traceSampled?: BoolValue }[];
  priority?: RoutingPriority;
  hashPolicy?: HashPolicy[];
  maxGrpcTimeout?: Duration;
  grpcTimeoutOffset?: Duration;
  upgradeConfigs?: { upgradeType?: string; enabled?: BoolValue }[];
  maxStreamDuration?: { maxStreamDuration?: Duration; grpcTimeoutHeaderMax?: Duration; grpcTimeoutHeaderOffset?: Duration };
}

export interface RedirectAction {
  httpsRedirect?: boolean;
  schemeRedirect?: string;
  hostRedirect?: string;
  portRedirect?: number;
  pathRedirect?: string;
  prefixRewrite?: string;
  responseCode?: OpenEnum<'MOVED_PERMANENTLY' | 'FOUND' | 'SEE_OTHER' | 'TEMPORARY_REDIRECT' | 'PERMANENT_REDIRECT'>;
  stripQuery?: boolean;
}

export interface Route {
  name?: string;
  match?: RouteMatch;
  route?: RouteAction;
  redirect?: RedirectAction;
  directResponse?: { status?: number; body?: DataSource };
  nonForwardingAction?: Record<string, never>;
  metadata?: Metadata;
  decorator?: { operation?: string; propagate?: BoolValue };
  typedPerFilterConfig?: Record<string, Any>;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
}

export interface VirtualHost {
  name?: string;
  domains?: string[];
  routes?: Route[];
  requireTls?: OpenEnum<'NONE' | 'EXTERNAL_ONLY' | 'ALL'>;
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  typedPerFilterConfig?: Record<string, Any>;
  includeRequestAttemptCount?: boolean;
  retryPolicy?: RetryPolicy;
  metadata?: Metadata;
}

export interface RouteConfiguration {
  name?: string;
  virtualHosts?: VirtualHost[];
  internalOnlyHeaders?: string[];
  responseHeadersToAdd?: HeaderValueOption[];
  responseHeadersToRemove?: string[];
  requestHeadersToAdd?: HeaderValueOption[];
  requestHeadersToRemove?: string[];
  validateClusters?: BoolValue;
  maxDirectResponseBodySizeBytes?: UInt32Value;
  ignorePortInHostMatching?: boolean;
  typedPerFilterConfig?: Record<string, Any>;
  metadata?: Metadata;
}

// ---- envoy.config.endpoint.v3: generated (src/proto/generated) ----

export type { ClusterLoadAssignment, ClusterLoadAssignment__Output } from './generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
export type { LbEndpoint } from './generated/envoy/config/endpoint/v3/LbEndpoint.ts';
export type { LocalityLbEndpoints } from './generated/envoy/config/endpoint/v3/LocalityLbEndpoints.ts';

// ---- envoy.config.cluster.v3 ----

export interface CircuitBreakerThresholds {
  priority?: RoutingPriority;
  maxConnections?: UInt32Value;
  maxPendingRequests?: UInt32Value;
  maxRequests?: UInt32Value;
  maxRetries?: UInt32Value;
  trackRemaining?: boolean;
  maxConnectionPools?: UInt32Value;
}

export interface OutlierDetection {
  consecutive_5xx?: UInt32Value;
  interval?: Duration;
  baseEjectionTime?: Duration;
  maxEjectionPercent?: UInt32Value;
  enforcingConsecutive_5xx?: UInt32Value;
  enforcingSuccessRate?: UInt32Value;
  consecutiveGatewayFailure?: UInt32Value;
  enforcingConsecutiveGatewayFailure?: UInt32Value;
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailure?: UInt32Value;
}

export interface Cluster {
  transportSocketMatches?: { name?: string; match?: Struct; transportSocket?: TransportSocket }[];
  name?: string;
  altStatName?: string;
  /** oneof cluster_discovery_type */
  type?: OpenEnum<'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST'>;
  /** oneof cluster_discovery_type */
  clusterType?: TypedExtensionConfig;
  edsClusterConfig?: { edsConfig?: ConfigSource; serviceName?: string };
  connectTimeout?: Duration;
  perConnectionBufferLimitBytes?: UInt32Value;
  lbPolicy?: OpenEnum<'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RING_HASH' | 'RANDOM' | 'MAGLEV' | 'CLUSTER_PROVIDED' | 'LOAD_BALANCING_POLICY_CONFIG'>;
  loadAssignment?: ClusterLoadAssignment;
  maxRequestsPerConnection?: UInt32Value;
  circuitBreakers?: { thresholds?: CircuitBreakerThresholds[]; perHostThresholds?: CircuitBreakerThresholds[] };
  /** Keyed by extension name, e.g. `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`. */
  typedExtensionProtocolOptions?: Record<string, Any>;
  dnsRefreshRate?: Duration;
  respectDnsTtl?: boolean;
  dnsLookupFamily?: OpenEnum<'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL'>;
  outlierDetection?: OutlierDetection;
  cleanupInterval?: Duration;
  ringHashLbConfig?: { minimumRingSize?: { value?: Int64 }; maximumRingSize?: { value?: Int64 } };
  leastRequestLbConfig?: { choiceCount?: UInt32Value };
  commonLbConfig?: {
    healthyPanicThreshold?: Percent;
    localityWeightedLbConfig?: Record<string, never>;
    updateMergeWindow?: Duration;
    closeConnectionsOnHostSetChange?: boolean;
  };
  transportSocket?: TransportSocket;
  metadata?: Metadata;
  filters?: TypedExtensionConfig[];
  lrsServer?: ConfigSource;
  /** `envoy.config.core.v3.BindConfig`: the local address upstream connections are made from. */
  upstreamBindConfig?: { sourceAddress?: SocketAddress; freebind?: BoolValue };
}

// ---- filters ----

export interface HttpFilter {
  name?: string;
  typedConfig?: Any;
  isOptional?: boolean;
  disabled?: boolean;
}

export interface HttpConnectionManager {
  codecType?: OpenEnum<'AUTO' | 'HTTP1' | 'HTTP2' | 'HTTP3'>;
  statPrefix?: string;
  /** oneof route_specifier */
  rds?: { configSource?: ConfigSource; routeConfigName?: string };
  /** oneof route_specifier */
  routeConfig?: RouteConfiguration;
  httpFilters?: HttpFilter[];
  serverName?: string;
  streamIdleTimeout?: Duration;
  requestTimeout?: Duration;
  drainTimeout?: Duration;
  useRemoteAddress?: BoolValue;
  xffNumTrustedHops?: number;
  generateRequestId?: BoolValue;
  preserveExternalRequestId?: boolean;
  forwardClientCertDetails?: OpenEnum<'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY'>;
  setCurrentClientCertDetails?: { subject?: BoolValue; cert?: boolean; chain?: boolean; dns?: boolean; uri?: boolean };
  upgradeConfigs?: { upgradeType?: string; filters?: HttpFilter[]; enabled?: BoolValue }[];
  normalizePath?: BoolValue;
  mergeSlashes?: boolean;
  pathWithEscapedSlashesAction?: OpenEnum<'IMPLEMENTATION_SPECIFIC_DEFAULT' | 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD'>;
  proxy_100Continue?: boolean;
}

export interface TcpProxy {
  statPrefix?: string;
  /** oneof cluster_specifier */
  cluster?: string;
  /** oneof cluster_specifier; note the weight is a plain uint32 here. */
  weightedClusters?: { clusters?: { name?: string; weight?: number; metadataMatch?: Metadata }[] };
  metadataMatch?: Metadata;
  idleTimeout?: Duration;
  maxConnectAttempts?: UInt32Value;
  tunnelingConfig?: { hostname?: string; usePost?: boolean; headersToAdd?: HeaderValueOption[] };
  maxDownstreamConnectionDuration?: Duration;
}

/** `envoy.extensions.filters.http.router.v3.Router`; usually empty. */
export interface Router {
  dynamicStats?: BoolValue;
  startChildSpan?: boolean;
  suppressEnvoyHeaders?: boolean;
  strictCheckHeaders?: string[];
  respectExpectedRqTimeout?: boolean;
}


