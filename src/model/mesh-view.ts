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

/** `networking.istio.io/v1` DestinationRule subsets: name -> labels. */
export interface DestinationRuleSubsets {
  readonly host: Hostname;
  readonly namespace: string;
  readonly subsets: readonly { readonly name: string; readonly labels: Readonly<Record<string, string>> }[];
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
}
