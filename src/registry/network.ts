/**
 * Endpoint network resolution and network-gateway discovery, as istiod's kube registry does them
 * (reference: docs/istio-compat.md §7 "Endpoint network", §8; istio `pilot/pkg/serviceregistry/kube/controller/network.go`).
 * Pure functions: the controller feeds them objects and gets answers plus warnings to log.
 */
import { BlockList, isIP } from 'node:net';
import type { ClusterId } from '../model/ids.ts';
import { DEFAULT_GATEWAY_HBONE_PORT, DEFAULT_GATEWAY_PORT, LABEL_GATEWAY_PORT, LABEL_TOPOLOGY_NETWORK } from '../model/labels.ts';
import {
  NO_NETWORK, compareGateways, gatewayKey, tryNetworkId,
  type MeshNetworks, type NetworkGateway, type NetworkId,
} from '../model/network.ts';
import { servicePortByNumber, type Service } from '../model/service.ts';

interface CidrRule {
  readonly network: NetworkId;
  readonly cidr: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
  readonly list: BlockList;
}

/** A meshNetworks configuration as seen by one cluster's registry. */
export interface CompiledMeshNetworks {
  /** The network whose `endpoints[].fromRegistry` names this cluster, or `''`. */
  readonly fromRegistry: NetworkId;
  /** `fromCidr` rules, least specific first (the order Istio's CIDR trie reports matches in). */
  readonly cidrs: readonly CidrRule[];
  /** `gateways[].registryServiceName` of networks that name this cluster in `fromRegistry`, by service FQDN. */
  readonly registryServiceGateways: ReadonlyMap<string, readonly { readonly network: NetworkId; readonly port: number }[]>;
  /** Problems found while compiling (bad CIDRs, a cluster claimed by several networks, ...). */
  readonly warnings: readonly string[];
}

export const EMPTY_MESH_NETWORKS: CompiledMeshNetworks = Object.freeze({
  fromRegistry: NO_NETWORK, cidrs: [], registryServiceGateways: new Map(), warnings: [],
});

function parseCidr(cidr: string): { addr: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const addr = cidr.slice(0, slash);
  const bits = cidr.slice(slash + 1);
  const v = isIP(addr);
  if (v === 0 || !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = Number(bits);
  if (prefix > (v === 4 ? 32 : 128)) return undefined;
  return { addr, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Compiles meshNetworks for `cluster`. Networks are visited in name order (istiod walks a Go map, so
 * its choice among conflicting entries is arbitrary; ours is stable): the first network whose
 * `fromRegistry` names the cluster wins, later ones are reported as warnings.
 */
export function compileMeshNetworks(meshNetworks: MeshNetworks | undefined, cluster: ClusterId): CompiledMeshNetworks {
  if (!meshNetworks || Object.keys(meshNetworks.networks).length === 0) return EMPTY_MESH_NETWORKS;
  const warnings: string[] = [];
  const cidrs: CidrRule[] = [];
  const gateways = new Map<string, { network: NetworkId; port: number }[]>();
  let fromRegistry = NO_NETWORK;
  for (const name of Object.keys(meshNetworks.networks).sort()) {
    const net = meshNetworks.networks[name];
    const id = tryNetworkId(name);
    if (!net) continue;
    if (id === undefined || id === NO_NETWORK) {
      warnings.push(`meshNetworks: ignoring network ${JSON.stringify(name)}: not a valid network id`);
      continue;
    }
    let claimsCluster = false;
    for (const ep of net.endpoints ?? []) {
      if ('fromCidr' in ep) {
        const parsed = parseCidr(ep.fromCidr);
        if (!parsed) {
          warnings.push(`meshNetworks: unable to parse CIDR ${JSON.stringify(ep.fromCidr)} for network ${name}`);
          continue;
        }
        const list = new BlockList();
        list.addSubnet(parsed.addr, parsed.prefix, parsed.family);
        cidrs.push({ network: id, cidr: ep.fromCidr, prefix: parsed.prefix, family: parsed.family, list });
      } else if (ep.fromRegistry === cluster) {
        claimsCluster = true;
      }
    }
    if (!claimsCluster) continue;
    if (fromRegistry !== NO_NETWORK) {
      warnings.push(`meshNetworks: multiple networks specify ${cluster} in fromRegistry; endpoints from ${cluster} stay in ${fromRegistry}`);
    } else {
      fromRegistry = id;
    }
    for (const gw of net.gateways ?? []) {
      if (!('registryServiceName' in gw) || gw.registryServiceName === '') continue;
      const list = gateways.get(gw.registryServiceName) ?? [];
      list.push({ network: id, port: gw.port });
      gateways.set(gw.registryServiceName, list);
    }
  }
  // Stable sort: least specific first, ties keep network-name order.
  cidrs.sort((a, b) => a.prefix - b.prefix);
  return { fromRegistry, cidrs, registryServiceGateways: gateways, warnings };
}

/**
 * The meshNetworks rule for an endpoint IP: the `fromRegistry` network of this cluster, else the
 * first `fromCidr` containing the IP. Like istiod (whose CIDR trie lists containing networks from
 * the least specific), overlapping CIDRs resolve to the widest one.
 */
export function networkFromMeshNetworks(mesh: CompiledMeshNetworks, ip: string): NetworkId {
  if (mesh.fromRegistry !== NO_NETWORK) return mesh.fromRegistry;
  const v = isIP(ip);
  if (v === 0) return NO_NETWORK;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  for (const rule of mesh.cidrs) {
    if (rule.family === family && rule.list.check(ip, family)) return rule.network;
  }
  return NO_NETWORK;
}

export interface NetworkInputs {
  /** Labels of the pod behind the endpoint, if any. */
  readonly podLabels?: Readonly<Record<string, string>> | undefined;
  /** `topology.istio.io/network` of the cluster's system namespace, or `''`. */
  readonly systemNetwork: NetworkId;
  readonly meshNetworks: CompiledMeshNetworks;
}

/**
 * An endpoint's network, in Istio's precedence (docs/istio-compat.md §7): pod label `topology.istio.io/network` >
 * the cluster's system-namespace label > meshNetworks (`fromRegistry`, then `fromCidr`) > `''`.
 */
export function endpointNetwork(address: string, inputs: NetworkInputs): NetworkId {
  const fromPod = tryNetworkId(inputs.podLabels?.[LABEL_TOPOLOGY_NETWORK]);
  if (fromPod) return fromPod;
  if (inputs.systemNetwork !== NO_NETWORK) return inputs.systemNetwork;
  return networkFromMeshNetworks(inputs.meshNetworks, address);
}

export interface GatewayResult {
  readonly gateways: readonly NetworkGateway[];
  readonly warnings: readonly string[];
}

function parseGatewayPort(value: string): number | undefined {
  // strconv.Atoi semantics, as istiod parses the label.
  if (!/^[+-]?\d{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The gateways a Service of `cluster` provides (docs/istio-compat.md §8):
 * - labelled `topology.istio.io/network=<id>`: port 15443, or the `networking.istio.io/gatewayPort`
 *   label, only if the Service exposes it; HBONE 15008 if exposed; exposing neither → ignored with a
 *   warning. The label wins over meshNetworks.
 * - otherwise, named by a meshNetworks `registryServiceName` of a network whose `fromRegistry` is
 *   this cluster: the configured port.
 * One gateway per external address of the Service in this cluster (LoadBalancer ingress IP/host name,
 * `spec.externalIPs`); a Service without external addresses yields none.
 */
export function serviceGateways(svc: Service, cluster: ClusterId, mesh: CompiledMeshNetworks): GatewayResult {
  const warnings: string[] = [];
  const templates: { network: NetworkId; port: number; hbonePort: number }[] = [];
  const label = svc.labels[LABEL_TOPOLOGY_NETWORK];
  if (label !== undefined && label !== '') {
    const network = tryNetworkId(label);
    if (network === undefined) return { gateways: [], warnings: [`service ${svc.namespace}/${svc.name}: invalid ${LABEL_TOPOLOGY_NETWORK} ${JSON.stringify(label)}`] };
    let gwPort = DEFAULT_GATEWAY_PORT;
    const portLabel = svc.labels[LABEL_GATEWAY_PORT];
    if (portLabel !== undefined && portLabel !== '') {
      const parsed = parseGatewayPort(portLabel);
      if (parsed === undefined) {
        warnings.push(`could not parse ${JSON.stringify(portLabel)} for ${LABEL_GATEWAY_PORT} on ${svc.namespace}/${svc.name}; defaulting to ${DEFAULT_GATEWAY_PORT}`);
      } else {
        gwPort = parsed;
      }
    }
    const mtls = servicePortByNumber(svc, gwPort) !== undefined;
    const hbone = servicePortByNumber(svc, DEFAULT_GATEWAY_HBONE_PORT) !== undefined;
    if (!mtls && !hbone) {
      warnings.push(`service ${svc.namespace}/${svc.name} is labeled as gateway, but does not listen neither on port ${gwPort} nor on port ${DEFAULT_GATEWAY_HBONE_PORT}`);
      return { gateways: [], warnings };
    }
    templates.push({ network, port: mtls ? gwPort : 0, hbonePort: hbone ? DEFAULT_GATEWAY_HBONE_PORT : 0 });
  } else {
    for (const g of mesh.registryServiceGateways.get(svc.hostname) ?? []) templates.push({ network: g.network, port: g.port, hbonePort: 0 });
  }
  if (templates.length === 0) return { gateways: [], warnings };
  const out: NetworkGateway[] = [];
  for (const address of svc.clusterExternalAddresses.get(cluster) ?? []) {
    for (const t of templates) {
      out.push({ ...t, cluster, address, source: { kind: 'service', namespace: svc.namespace, name: svc.name } });
    }
  }
  return { gateways: mergeGateways(out), warnings };
}

/** Static gateways: meshNetworks `gateways[].address` entries (no cluster), in network-name order (docs/istio-compat.md §8). */
export function meshNetworksGateways(meshNetworks: MeshNetworks | undefined): NetworkGateway[] {
  const out: NetworkGateway[] = [];
  for (const name of Object.keys(meshNetworks?.networks ?? {}).sort()) {
    const network = tryNetworkId(name);
    if (network === undefined || network === NO_NETWORK) continue;
    for (const gw of meshNetworks?.networks[name]?.gateways ?? []) {
      if ('address' in gw && gw.address !== '') {
        out.push({ network, address: gw.address, port: gw.port, hbonePort: 0, source: { kind: 'meshNetworks' } });
      }
    }
  }
  return mergeGateways(out);
}

/** De-duplicates (first occurrence wins) and sorts gateways. */
export function mergeGateways(...lists: readonly (readonly NetworkGateway[])[]): NetworkGateway[] {
  const seen = new Map<string, NetworkGateway>();
  for (const list of lists) {
    for (const gw of list) {
      const key = gatewayKey(gw);
      if (!seen.has(key)) seen.set(key, gw);
    }
  }
  return [...seen.values()].sort(compareGateways);
}
