/**
 * Test helpers: a MeshView built from plain arrays, proxies from a few fields, and small builders
 * for services, endpoints and gateways with Istio's defaults. For unit tests only.
 */
import { NO_LOCALITY, type Endpoint, type Locality } from '../../model/endpoint.ts';
import { clusterId, hostname, type ClusterId, type Hostname } from '../../model/ids.ts';
import type { DestinationRuleSubsets, IstioGateway, MeshView, PeerAuthentication, SidecarConfig, VirtualService } from '../../model/mesh-view.ts';
import { networkId, type NetworkGateway } from '../../model/network.ts';
import { compareGateways } from '../../model/network.ts';
import { parseProxy, type Proxy } from '../../model/proxy.ts';
import type { Protocol, Service, ServicePort } from '../../model/service.ts';

export interface FakeMesh {
  readonly services?: readonly Service[];
  readonly endpoints?: readonly (Endpoint & { readonly service: string })[];
  readonly gateways?: readonly NetworkGateway[];
  readonly istioGateways?: readonly IstioGateway[];
  readonly destinationRules?: readonly DestinationRuleSubsets[];
  readonly virtualServices?: readonly VirtualService[];
  readonly peerAuthentications?: readonly PeerAuthentication[];
  readonly sidecars?: readonly SidecarConfig[];
  readonly version?: string;
  readonly trustDomain?: string;
  readonly domainSuffix?: string;
}

export function fakeMeshView(m: FakeMesh): MeshView {
  const services = [...(m.services ?? [])].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  const byHost = new Map(services.map((s) => [s.hostname as string, s]));
  const eps = new Map<string, Endpoint[]>();
  for (const e of m.endpoints ?? []) {
    const { service, ...ep } = e;
    let list = eps.get(service);
    if (list === undefined) eps.set(service, list = []);
    list.push(ep);
  }
  const gateways = [...(m.gateways ?? [])].sort(compareGateways);
  return {
    version: m.version ?? 'v1',
    mesh: { trustDomain: m.trustDomain ?? 'cluster.local', domainSuffix: m.domainSuffix ?? 'cluster.local' },
    services: () => services,
    service: (h) => byHost.get(h),
    endpoints: (h) => eps.get(h) ?? [],
    gateways: () => gateways,
    istioGateways: () => m.istioGateways ?? [],
    destinationRules: () => m.destinationRules ?? [],
    virtualServices: () => m.virtualServices ?? [],
    peerAuthentications: () => m.peerAuthentications ?? [],
    sidecars: () => m.sidecars ?? [],
  };
}

export interface ServiceSpec {
  readonly name: string;
  readonly namespace?: string;
  readonly ports: readonly (readonly [number, Protocol] | ServicePort)[];
  /** cluster -> ClusterIPs. */
  readonly vips?: Readonly<Record<string, readonly string[]>>;
  readonly resolution?: Service['resolution'];
  readonly exportTo?: readonly string[];
  readonly serviceAccounts?: readonly string[];
}

/** A Kubernetes service `<name>.<ns>.svc.cluster.local`; port tuples are named `<protocol>-<port>`. */
export function svc(s: ServiceSpec): Service {
  const namespace = s.namespace ?? 'default';
  const ports: ServicePort[] = s.ports.map((p) => ('port' in p ? p : { name: `${p[1].toLowerCase()}-${p[0]}`, port: p[0], protocol: p[1] }));
  const vips = new Map<ClusterId, readonly string[]>(Object.entries(s.vips ?? { cluster1: ['10.96.0.10'] }).map(([c, v]) => [clusterId(c), v]));
  return {
    hostname: hostname(`${s.name}.${namespace}.svc.cluster.local`),
    namespace,
    name: s.name,
    ports,
    clusterVIPs: vips,
    clusterExternalAddresses: new Map(),
    serviceAccounts: s.serviceAccounts ?? [],
    labels: {},
    ...(s.exportTo !== undefined ? { exportTo: s.exportTo } : {}),
    resolution: s.resolution ?? 'ClientSideLB',
    type: 'ClusterIP',
    publishNotReadyAddresses: false,
  };
}

export interface EndpointSpec {
  readonly service: Service;
  readonly address: string;
  /** Target port for every service port (by name), or a map by port name. */
  readonly port?: number | Readonly<Record<string, number>>;
  readonly cluster?: string;
  readonly network?: string;
  readonly locality?: Locality;
  readonly tlsMode?: Endpoint['tlsMode'];
  readonly healthy?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  readonly pod?: string;
}

export function ep(e: EndpointSpec): Endpoint & { readonly service: Hostname } {
  const ports: Record<string, number> = {};
  for (const p of e.service.ports) ports[p.name] = typeof e.port === 'object' ? (e.port[p.name] ?? p.port) : (e.port ?? p.port);
  const cluster = clusterId(e.cluster ?? 'cluster1');
  return {
    service: e.service.hostname,
    address: e.address,
    ports,
    cluster,
    network: networkId(e.network ?? ''),
    locality: e.locality ?? NO_LOCALITY,
    serviceAccount: e.serviceAccount ?? '',
    tlsMode: e.tlsMode ?? 'istio',
    healthy: e.healthy ?? true,
    labels: e.labels ?? {},
    ...(e.pod !== undefined ? { pod: { name: e.pod, namespace: e.service.namespace } } : {}),
  };
}

export function gw(network: string, address: string, cluster?: string, port = 15443): NetworkGateway {
  return {
    network: networkId(network),
    ...(cluster !== undefined ? { cluster: clusterId(cluster) } : {}),
    address,
    port,
    hbonePort: 0,
    source: { kind: 'meshNetworks' },
  };
}

export interface ProxySpec {
  readonly type?: 'sidecar' | 'router';
  readonly ip?: string;
  readonly namespace?: string;
  readonly cluster?: string;
  readonly network?: string;
  readonly networkView?: string;
  readonly generator?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** A proxy as parsed from an Istio-style node id and metadata. */
export function proxy(p: ProxySpec = {}): Proxy {
  const ns = p.namespace ?? 'default';
  const meta: Record<string, unknown> = {
    NAMESPACE: ns,
    CLUSTER_ID: p.cluster ?? 'cluster1',
    NETWORK: p.network ?? '',
    LABELS: p.labels ?? {},
  };
  if (p.networkView !== undefined) meta['REQUESTED_NETWORK_VIEW'] = p.networkView;
  if (p.generator !== undefined) meta['GENERATOR'] = p.generator;
  return parseProxy(`${p.type ?? 'sidecar'}~${p.ip ?? '10.0.0.1'}~pod.${ns}~${ns}.svc.cluster.local`, meta);
}

/** Encodes every resource with `codec` and decodes it back (proves the shape is valid protobuf). */
export function roundTrip<T>(codec: { encode(m: T): Uint8Array; decode(b: Uint8Array): T }, resources: readonly { readonly resource: T }[]): T[] {
  return resources.map((r) => codec.decode(codec.encode(r.resource)));
}
