/**
 * The immutable view of the whole mesh that one push is computed from (istiod's PushContext):
 * services merged across clusters, endpoints of every cluster, network gateways and Istio config.
 * Generators read only this and the proxy; they never reach a registry or Kubernetes.
 */
import type { Endpoint } from './endpoint.ts';
import type { Hostname } from './ids.ts';
import type { NetworkGateway } from './network.ts';
import type { Service } from './service.ts';

export interface MeshSettings {
  /** SPIFFE trust domain, `cluster.local` by default. */
  readonly trustDomain: string;
  /** DNS suffix of services, `cluster.local` by default. */
  readonly domainSuffix: string;
}

/** `networking.istio.io/v1` Gateway, the parts the generators use. */
export interface IstioGateway {
  readonly name: string;
  readonly namespace: string;
  /** Pod labels the gateway applies to, e.g. `{ istio: 'eastwestgateway' }`. */
  readonly selector: Readonly<Record<string, string>>;
  readonly servers: readonly IstioGatewayServer[];
}

export interface IstioGatewayServer {
  readonly port: { readonly number: number; readonly name: string; readonly protocol: string };
  readonly hosts: readonly string[];
  readonly tls?: { readonly mode: 'PASSTHROUGH' | 'SIMPLE' | 'MUTUAL' | 'AUTO_PASSTHROUGH' | 'ISTIO_MUTUAL' | 'OPTIONAL_MUTUAL' };
}

/**
 * `loadBalancer.localityLbSetting` of a DestinationRule (Istio's LocalityLoadBalancerSetting). Localities
 * are `region/zone/subzone` patterns where a trailing `*` (or a missing part) matches anything.
 */
export interface LocalityLbSetting {
  /** `false` turns locality load balancing off for the destination (the mesh-wide default too); absent: on. */
  readonly enabled?: boolean;
  /** For proxies in `from`: each `to` locality's share of traffic (percent, summing to 100); other localities get none. */
  readonly distribute: readonly { readonly from: string; readonly to: readonly { readonly locality: string; readonly weight: number }[] }[];
  /** Proxies in region `from` fail over to region `to` before any other region. */
  readonly failover: readonly { readonly from: string; readonly to: string }[];
  /** Label names (or `name=value`, a fixed value): endpoints agreeing with the proxy on more leading labels come first. */
  readonly failoverPriority: readonly string[];
}

/** The parts of a DestinationRule traffic policy Isthmus applies to clusters (absent: Istio's defaults). */
export interface TrafficPolicySettings {
  readonly loadBalancer?: 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';
  /**
   * The `loadBalancer` section's locality setting; `null` when the section is there without one. Set
   * (either way) exactly when the policy has a `loadBalancer` section, which replaces an inherited one whole.
   */
  readonly localityLbSetting?: LocalityLbSetting | null;
  readonly connectionPool?: {
    readonly tcp?: { readonly maxConnections?: number; readonly connectTimeout?: DurationValue; readonly idleTimeout?: DurationValue };
    readonly http?: {
      readonly http1MaxPendingRequests?: number; readonly http2MaxRequests?: number; readonly maxRequestsPerConnection?: number;
      readonly maxRetries?: number; readonly idleTimeout?: DurationValue;
    };
  };
  readonly outlierDetection?: {
    readonly consecutive5xxErrors?: number; readonly consecutiveGatewayErrors?: number; readonly interval?: DurationValue;
    readonly baseEjectionTime?: DurationValue; readonly maxEjectionPercent?: number; readonly minHealthPercent?: number;
  };
  /** Client TLS toward the destination; absent: Istio's auto mTLS. */
  readonly tls?: { readonly mode: 'DISABLE' | 'ISTIO_MUTUAL' };
}

/** A traffic policy: settings for every port, with per-port overrides (each replaces whole parts). */
export interface TrafficPolicy extends TrafficPolicySettings {
  readonly portLevelSettings: readonly (TrafficPolicySettings & { readonly port: number })[];
}

/** `networking.istio.io/v1` DestinationRule: subsets (name -> labels) and traffic policies. */
export interface DestinationRuleSubsets {
  readonly host: Hostname;
  readonly namespace: string;
  readonly subsets: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly trafficPolicy?: TrafficPolicy }[];
  readonly trafficPolicy?: TrafficPolicy;
}

/**
 * `networking.istio.io/v1` VirtualService, the parts the gateway generator uses: its hosts, the
 * gateways it binds to (`<namespace>/<name>`, or `mesh` for sidecars) and its `tls` routes.
 */
export interface VirtualService {
  readonly name: string;
  readonly namespace: string;
  readonly hosts: readonly string[];
  /** `<namespace>/<name>` of each Gateway (short names resolved in the VirtualService's namespace), or `mesh`. */
  readonly gateways: readonly string[];
  readonly tls: readonly TlsRoute[];
  /** `http` routes, in order (used for sidecars when `gateways` includes `mesh`); absent: none. */
  readonly http?: readonly HttpRoute[];
  /** Namespaces that see it: `*` all, `.` its own, or names; absent or empty: all. */
  readonly exportTo?: readonly string[];
}

/** A length of time, as protobuf's Duration. */
export interface DurationValue { readonly seconds: number; readonly nanos: number }

/** A string condition of an HTTP match: exactly one of the three. */
export type StringCondition = { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

export interface HttpMatch {
  readonly name: string;
  readonly uri?: StringCondition;
  /** Header name (lower case) → condition. */
  readonly headers: ReadonlyMap<string, StringCondition>;
  /** Only for this service port. */
  readonly port?: number;
  readonly ignoreUriCase: boolean;
}

export interface HttpRetries {
  readonly attempts: number;
  readonly perTryTimeout?: DurationValue;
  readonly retryOn?: string;
}

export interface HttpRoute {
  readonly name: string;
  /** Empty: every request. Several: any of them. */
  readonly match: readonly HttpMatch[];
  readonly route: readonly RouteDestination[];
  /** Absent: the mesh default retry policy. */
  readonly retries?: HttpRetries;
  /** Absent: no timeout. */
  readonly timeout?: DurationValue;
}

export interface TlsRoute {
  readonly match: readonly TlsMatch[];
  readonly route: readonly RouteDestination[];
}

export interface TlsMatch {
  /** SNI values to match; `*` matches any. */
  readonly sniHosts: readonly string[];
  /** The gateway port the match is for; absent: any. */
  readonly port?: number;
  /** Gateways (as in VirtualService.gateways) the match is for; empty: the VirtualService's. */
  readonly gateways: readonly string[];
}

export interface RouteDestination {
  /** FQDN (short names resolved in the VirtualService's namespace). */
  readonly host: Hostname;
  /** The service port; absent: the service's only port. */
  readonly port?: number;
  /** `''` = the whole service. */
  readonly subset: string;
  /** Share of connections, 0-100; absent in the object means 100 for a single destination. */
  readonly weight: number;
}

/** A PeerAuthentication mTLS mode; `UNSET` inherits from the wider scope. */
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/**
 * `security.istio.io/v1` PeerAuthentication, the parts sidecar inbound uses. Without a selector it
 * applies to its namespace, or to the whole mesh when it lives in the root (system) namespace; with
 * one, to the workloads of its namespace whose labels match (ignored in the root namespace, as istiod does).
 */
export interface PeerAuthentication {
  readonly name: string;
  readonly namespace: string;
  /** Whether `namespace` is the mesh's root namespace. */
  readonly inRootNamespace: boolean;
  /** `selector.matchLabels`; empty: namespace-wide (or mesh-wide). */
  readonly selector: Readonly<Record<string, string>>;
  readonly mode: MtlsMode;
  /** Target port -> mode (only for policies with a selector). */
  readonly portLevelMtls: readonly { readonly port: number; readonly mode: MtlsMode }[];
  /** RFC 3339 creation time: of several policies at one scope, the oldest wins. */
  readonly creationTimestamp: string;
}

/**
 * An egress host of a Sidecar resource, `<namespace>/<host>`: namespace `*` (any), `~` (none) or a
 * name (`.` is resolved to the Sidecar's own at conversion); host `*`, `*.<suffix>` or a host name.
 */
export interface EgressHost {
  readonly namespace: string;
  readonly host: string;
}

/**
 * `networking.istio.io/v1` Sidecar, the part Isthmus applies: which services its proxies get config
 * for (the union of `egress[].hosts`). Without a selector it applies to its namespace, or to every
 * namespace without one of its own when it lives in the root namespace; with one, to the selected
 * workloads of its namespace.
 */
export interface SidecarConfig {
  readonly name: string;
  readonly namespace: string;
  readonly inRootNamespace: boolean;
  /** `workloadSelector.labels`; empty: namespace-wide (or mesh-wide). */
  readonly selector: Readonly<Record<string, string>>;
  readonly egressHosts: readonly EgressHost[];
  /** RFC 3339 creation time: of several Sidecars at one scope, the oldest wins. */
  readonly creationTimestamp: string;
}

export interface MeshView {
  /** Push version: changes whenever anything in the view changes. */
  readonly version: string;
  readonly mesh: MeshSettings;
  /** Every service, sorted by hostname. */
  services(): readonly Service[];
  service(hostname: Hostname): Service | undefined;
  /** Endpoints of a service from every cluster (each cluster's shard, concatenated). */
  endpoints(hostname: Hostname): readonly Endpoint[];
  /** Known cross-network gateways, sorted (compareGateways). */
  gateways(): readonly NetworkGateway[];
  istioGateways(): readonly IstioGateway[];
  destinationRules(): readonly DestinationRuleSubsets[];
  /** VirtualServices of the config cluster; absent: none. */
  virtualServices?(): readonly VirtualService[];
  /** PeerAuthentications of the config cluster; absent: none (every port PERMISSIVE). */
  peerAuthentications?(): readonly PeerAuthentication[];
  /** Sidecar resources of the config cluster; absent: none (every exported service visible). */
  sidecars?(): readonly SidecarConfig[];
}
