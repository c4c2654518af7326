/**
 * Networks, network gateways and the meshNetworks configuration (reference: docs/istio-compat.md §7, §8).
 * Pure data; the resolution rules live in src/registry/network.ts.
 */
import { ErrorCodes, IsthmusError } from './errors.ts';
import type { ClusterId } from './ids.ts';

declare const networkBrand: unique symbol;
/** A network id as in `topology.istio.io/network` and `ISTIO_META_NETWORK`. `''` means "unknown network". */
export type NetworkId = string & { readonly [networkBrand]: 'NetworkId' };

/** The empty network: endpoints that no rule assigned to a network. */
export const NO_NETWORK = '' as NetworkId;

// A Kubernetes label value (the network travels as one): empty, or <= 63 chars of [A-Za-z0-9._-] starting and ending alphanumeric.
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

/** Parses a network id; `''` is accepted and means no network. */
export function networkId(value: string): NetworkId {
  if (!LABEL_VALUE.test(value)) {
    throw new IsthmusError(ErrorCodes.InvalidId, `invalid network id ${JSON.stringify(value)}: must be a label value (<= 63 characters [A-Za-z0-9._-], starting and ending alphanumeric)`);
  }
  return value as NetworkId;
}

/** Like `networkId`, but answers undefined instead of throwing (for values read from objects). */
export function tryNetworkId(value: string | undefined): NetworkId | undefined {
  return value !== undefined && LABEL_VALUE.test(value) ? value as NetworkId : undefined;
}

/** Where a gateway was found. */
export type GatewaySource =
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'meshNetworks' };

/**
 * A cross-network gateway: traffic for endpoints of `network` enters that network at `address:port`
 * (Istio's model: `{Network, Cluster, Addr, Port, HBONEPort}`, docs/istio-compat.md §8).
 */
export interface NetworkGateway {
  readonly network: NetworkId;
  /** The cluster whose registry found it; absent for static meshNetworks addresses. */
  readonly cluster?: ClusterId;
  /** IP address or host name (host names are resolved later, docs/istio-compat.md §8). */
  readonly address: string;
  /** mTLS (AUTO_PASSTHROUGH) port; 0 when the gateway has none. */
  readonly port: number;
  /** HBONE port; 0 when the gateway has none. */
  readonly hbonePort: number;
  readonly source: GatewaySource;
}

/** `istio.mesh.v1alpha1.MeshNetworks` as it appears in JSON/YAML (docs/istio-compat.md §8). */
export interface MeshNetworks {
  readonly networks: Readonly<Record<string, MeshNetwork>>;
}

export interface MeshNetwork {
  readonly endpoints?: readonly MeshNetworkEndpoints[];
  readonly gateways?: readonly MeshNetworkGateway[];
}

/** oneof `fromCidr` | `fromRegistry` (a cluster id). */
export type MeshNetworkEndpoints = { readonly fromCidr: string } | { readonly fromRegistry: string };

/** oneof `registryServiceName` | `address`, plus the required `port`. */
export type MeshNetworkGateway = ({ readonly address: string } | { readonly registryServiceName: string }) & {
  readonly port: number;
  readonly locality?: string;
};

/** Identity of a gateway for de-duplication: everything but where it was found. */
export function gatewayKey(gw: NetworkGateway): string {
  return `${gw.network}|${gw.cluster ?? ''}|${gw.address}|${gw.port}|${gw.hbonePort}`;
}

/** Orders gateways by network, cluster, address, then ports (stable output for debug views and EDS). */
export function compareGateways(a: NetworkGateway, b: NetworkGateway): number {
  return cmp(a.network, b.network) || cmp(a.cluster ?? '', b.cluster ?? '') || cmp(a.address, b.address)
    || a.port - b.port || a.hbonePort - b.hbonePort;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
