/**
 * Network-aware ("split horizon") endpoints, docs/istio-compat.md §9.2: for one cluster's endpoints,
 * group them by locality, hide networks outside the proxy's network view, and replace endpoints on
 * other networks by that network's gateways (mTLS port, normally 15443) with weights scaled by the
 * lcm of the gateway group sizes and divided evenly among the gateways.
 *
 * Pure: it reads the proxy only through `SplitHorizonProxy` (network, network view, IP family).
 * Choices where the reference is silent: endpoint weights are 1 (the model has no weight); unhealthy
 * endpoints on other networks add no weight to a gateway (the gateway forwards only to its own
 * healthy pods), and a network whose endpoints are all unhealthy gets no gateway endpoint. This
 * differs from istiod on purpose: istiod's network filter counts unready remote endpoints in the
 * gateway's weight and keeps a healthy gateway endpoint for them, which the gateway then cannot
 * serve (it has no healthy host and panic mode is off). Gateways without an mTLS port or with a
 * host-name address (unresolved) are never emitted, for every proxy type (EDS addresses must be
 * IPs; HBONE is out of scope). A locality whose endpoints are all filtered out (plaintext on an
 * SNI-DNAT cluster, unreachable across networks) is kept as an empty group without weight, as in istiod.
 */
import { isIP } from 'node:net';
import { localityString, type Endpoint, type Locality } from '../../model/endpoint.ts';
import { NO_NETWORK, type NetworkGateway, type NetworkId } from '../../model/network.ts';
import type * as T from '../../proto/types.ts';

const MAX_WEIGHT = 0xffffffff;
/** Where Envoy's transport_socket_matches look for the endpoint's `tlsMode`. */
export const TRANSPORT_SOCKET_MATCH_KEY = 'envoy.transport_socket_match';

export interface SplitHorizonProxy {
  readonly network: NetworkId;
  /** Empty = every network. */
  readonly requestedNetworkView: readonly NetworkId[];
  /** 4 or 6: gateways of the other family are unreachable. */
  readonly ipFamily: 4 | 6;
}

/** One endpoint of the cluster: the model endpoint and the port the cluster targets on it. */
export interface ClusterEndpoint {
  readonly endpoint: Endpoint;
  readonly port: number;
  /** Istio's `workload` metadata string, `<workload>;<namespace>;<canonical name>;<revision>;<cluster>`. */
  readonly workload: string;
}

export interface SplitHorizonInput {
  readonly proxy: SplitHorizonProxy;
  readonly endpoints: readonly ClusterEndpoint[];
  /** Every known network gateway (the whole mesh's set, sorted). */
  readonly gateways: readonly NetworkGateway[];
  /** SNI-DNAT (`outbound_.…`) clusters keep only mTLS-capable endpoints. */
  readonly mtlsOnly: boolean;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** lcm of the gateway group sizes, grouped by network and by (network, cluster); 1 when there are none. */
export function gatewayWeightScale(gateways: readonly NetworkGateway[]): number {
  const sizes = new Map<string, number>();
  for (const gw of gateways) {
    sizes.set(`n/${gw.network}`, (sizes.get(`n/${gw.network}`) ?? 0) + 1);
    sizes.set(`c/${gw.network}/${gw.cluster ?? ''}`, (sizes.get(`c/${gw.network}/${gw.cluster ?? ''}`) ?? 0) + 1);
  }
  let l = 1;
  for (const n of sizes.values()) l = (l / gcd(l, n)) * n;
  return l;
}

function canSee(view: readonly NetworkId[], network: NetworkId): boolean {
  return view.length === 0 || network === NO_NETWORK || view.includes(network);
}

function socketAddress(address: string, port: number): T.Address {
  return { socketAddress: { address, portValue: port } };
}

function tlsIstioMetadata(workload: string, mtls: boolean): T.Metadata {
  const filterMetadata: Record<string, T.Struct> = { istio: { fields: { workload: { stringValue: workload } } } };
  if (mtls) filterMetadata[TRANSPORT_SOCKET_MATCH_KEY] = { fields: { tlsMode: { stringValue: 'istio' } } };
  return { filterMetadata };
}

function toEnvoyLocality(l: Locality): T.Locality {
  return { region: l.region, zone: l.zone, subZone: l.subzone };
}

interface Group {
  readonly locality: Locality;
  readonly lbEndpoints: T.LbEndpoint[];
  /** gateway key -> accumulated weight, with the gateway. */
  readonly viaGateway: Map<string, { gw: NetworkGateway; weight: number }>;
}

/** Gateways an endpoint on another network is reached through, before the IP-family filter. */
function gatewaysFor(gateways: readonly NetworkGateway[], network: NetworkId, cluster: string): NetworkGateway[] {
  const ofNetwork = gateways.filter((g) => g.network === network && g.port > 0);
  const ofCluster = ofNetwork.filter((g) => (g.cluster ?? '') === cluster);
  return ofCluster.length > 0 ? ofCluster : ofNetwork;
}

function reachable(gw: NetworkGateway, family: 4 | 6): boolean {
  return isIP(gw.address) === family;
}

function gwKey(gw: NetworkGateway): string {
  return `${gw.address}|${gw.port}`;
}

function compareGwEndpoints(a: NetworkGateway, b: NetworkGateway): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

/** The `LocalityLbEndpoints` of one cluster for one proxy view, sorted by locality. */
export function buildLocalityEndpoints(input: SplitHorizonInput): T.LocalityLbEndpoints[] {
  const { proxy, gateways, mtlsOnly } = input;
  const multiNetwork = gateways.length > 0;
  const scale = multiNetwork ? gatewayWeightScale(gateways) : 1;
  const groups = new Map<string, Group>();
  for (const ce of input.endpoints) {
    const ep = ce.endpoint;
    const mtls = ep.tlsMode === 'istio';
    if (multiNetwork && !canSee(proxy.requestedNetworkView, ep.network)) continue;
    const key = localityString(ep.locality);
    let group = groups.get(key);
    if (group === undefined) groups.set(key, group = { locality: ep.locality, lbEndpoints: [], viaGateway: new Map() });
    if (mtlsOnly && !mtls) continue;
    const weight = Math.min(scale, MAX_WEIGHT);
    const direct = ep.network === proxy.network || ep.network === NO_NETWORK;
    const candidates = multiNetwork && !direct ? gatewaysFor(gateways, ep.network, ep.cluster) : [];
    if (candidates.length === 0) {
      group.lbEndpoints.push({
        endpoint: { address: socketAddress(ep.address, ce.port) },
        healthStatus: ep.healthy ? 'HEALTHY' : 'UNHEALTHY',
        metadata: tlsIstioMetadata(ce.workload, mtls),
        loadBalancingWeight: { value: weight },
      });
      continue;
    }
    const usable = candidates.filter((g) => reachable(g, proxy.ipFamily));
    if (usable.length === 0 || !mtls || !ep.healthy) continue;
    const share = Math.floor(weight / usable.length);
    for (const gw of usable) {
      const acc = group.viaGateway.get(gwKey(gw));
      if (acc === undefined) group.viaGateway.set(gwKey(gw), { gw, weight: share });
      else acc.weight += share;
    }
  }
  const out: T.LocalityLbEndpoints[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key);
    if (g === undefined) continue;
    const viaGw = [...g.viaGateway.values()].sort((a, b) => compareGwEndpoints(a.gw, b.gw));
    const lbEndpoints = [...g.lbEndpoints, ...viaGw.map(({ gw, weight }) => ({
      endpoint: { address: socketAddress(gw.address, gw.port) },
      healthStatus: 'HEALTHY' as const,
      metadata: tlsIstioMetadata(`;;;;${gw.cluster ?? ''}`, true),
      loadBalancingWeight: { value: Math.min(Math.max(weight, 1), MAX_WEIGHT) },
    }))];
    // A locality all of whose endpoints were filtered out here stays as an empty group without a
    // weight, as istiod leaves it: it holds no host, so Envoy sends it nothing.
    if (lbEndpoints.length === 0) {
      out.push({ locality: toEnvoyLocality(g.locality) });
      continue;
    }
    const total = lbEndpoints.reduce((s, e) => s + (e.loadBalancingWeight?.value ?? 1), 0);
    out.push({ locality: toEnvoyLocality(g.locality), lbEndpoints, loadBalancingWeight: { value: Math.min(total, MAX_WEIGHT) } });
  }
  return out;
}
