/**
 * EDS: one `ClusterLoadAssignment` per requested cluster name, for `outbound|<port>|<subset>|<host>`
 * and the SNI-DNAT form `outbound_.<port>_.<subset>_.<host>` (which keeps only mTLS endpoints), with
 * network-aware endpoints (split-horizon.ts); an endpoint whose PeerAuthentication DISABLEs mTLS
 * on its target port counts as plaintext (peer-authn.ts). An unknown service or port yields an empty assignment
 * (the name is still answered, as istiod does); names of other shapes are not answered.
 *
 * Reads: proxy.network, proxy.requestedNetworkView (networkViewKey), the IP family of proxy.ip,
 * proxy.generator (`grpc`: an address that would appear in two localities is merged into one, since
 * @grpc/grpc-js-xds rejects duplicate addresses within an assignment), and where a DestinationRule
 * balances by locality, the proxy's place (proxy-locality.ts: locality priorities and weights).
 */
import { isIP } from 'node:net';
import type { Endpoint } from '../../model/endpoint.ts';
import type { Hostname } from '../../model/ids.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL } from '../../model/type-urls.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import { networkViewKey, type Proxy } from '../../model/proxy.ts';
import { servicePortByNumber } from '../../model/service.ts';
import { clusterLoadAssignmentCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { clusterName, parseAnyClusterName, sniName, type ClusterKey } from '../../model/cluster-names.ts';
import { inboundMtlsPolicy, modeForPort } from './peer-authn.ts';
import { byPriority, contiguousPriorities } from './locality-lb.ts';
import { localityCacheKey, localityLoadBalance } from './proxy-locality.ts';
import { endpointPort, labelsMatch, subsetsFor } from './scope.ts';
import { buildLocalityEndpoints, type ClusterEndpoint, type SplitHorizonProxy } from './split-horizon.ts';
import { effectiveTrafficPolicy } from './traffic-policy.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from './types.ts';

export const reads = ['network', 'requestedNetworkView', 'ip (IP family only)', 'generator', 'locality, labels, clusterId, podName + namespace + ip, metadata NODE_NAME (the proxy\'s place, only where a rule balances by locality)'] as const;

function ipFamily(proxy: Proxy): 4 | 6 {
  return isIP(proxy.ip) === 6 ? 6 : 4;
}

export function cacheKey(proxy: Proxy, view: MeshView): string {
  return `${networkViewKey(proxy)}|v${ipFamily(proxy)}|${proxy.generator === 'grpc' ? 'grpc' : 'envoy'}|${localityCacheKey(proxy, view)}`;
}

function label(labels: Readonly<Record<string, string>>, ...keys: string[]): string {
  for (const k of keys) {
    const v = labels[k];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** Istio's endpoint telemetry string `<workload>;<namespace>;<canonical service>;<revision>;<cluster>`. */
export function workloadMetadata(ep: Endpoint): string {
  const l = ep.labels;
  const name = label(l, 'service.istio.io/canonical-name', 'app.kubernetes.io/name', 'app') || (ep.pod?.name ?? '');
  const rev = label(l, 'service.istio.io/canonical-revision', 'app.kubernetes.io/version', 'version') || 'latest';
  return `${ep.pod?.name ?? ''};${ep.pod?.namespace ?? ''};${name};${rev};${ep.cluster}`;
}

type Parsed = { readonly key: ClusterKey; readonly sni: boolean };

function parseName(name: string): Parsed | undefined {
  const p = parseAnyClusterName(name);
  return p !== undefined && p.key.direction === 'outbound' ? p : undefined;
}

/** Endpoints of `host:port` (restricted to a subset's labels), with their target ports. */
export function clusterEndpoints(view: MeshView, key: ClusterKey): ClusterEndpoint[] | undefined {
  const svc = view.service(key.host as Hostname);
  const sp = svc === undefined ? undefined : servicePortByNumber(svc, key.port);
  if (svc === undefined || sp === undefined) return undefined;
  let selector: Readonly<Record<string, string>> = {};
  if (key.subset !== '') {
    const subset = subsetsFor(view, key.host).find((s) => s.name === key.subset);
    if (subset === undefined) return undefined;
    selector = subset.labels;
  }
  // As istiod: unready endpoints are sent (marked unhealthy) unless the traffic policy asks for a
  // minimum healthy share, where Envoy's panic mode would send traffic to them.
  const policy = effectiveTrafficPolicy(view, key.host, key.port, key.subset);
  const withUnready = svc.publishNotReadyAddresses || (policy.outlierDetection?.minHealthPercent ?? 0) === 0;
  const out: ClusterEndpoint[] = [];
  for (const ep of view.endpoints(svc.hostname)) {
    const port = endpointPort(ep, sp.name);
    if (port === undefined || !labelsMatch(selector, ep.labels) || (!ep.healthy && !withUnready)) continue;
    let endpoint = svc.publishNotReadyAddresses && !ep.healthy ? { ...ep, healthy: true } : ep;
    // A workload whose PeerAuthentication DISABLEs mTLS on this port only has a plaintext inbound
    // chain there: clients must not send mTLS to it (and gateways cannot reach it), as with istiod.
    // A DestinationRule's TLS mode decides for every endpoint (ISTIO_MUTUAL even without a sidecar), as istiod.
    if (policy.tls !== undefined) {
      const mode = policy.tls.mode === 'ISTIO_MUTUAL' ? 'istio' : 'disabled';
      if (endpoint.tlsMode !== mode) endpoint = { ...endpoint, tlsMode: mode };
    } else if (endpoint.tlsMode === 'istio' && modeForPort(inboundMtlsPolicy(view, ep.pod?.namespace ?? svc.namespace, ep.labels), port) === 'DISABLE') {
      endpoint = { ...endpoint, tlsMode: 'disabled' };
    }
    out.push({ endpoint, port, workload: workloadMetadata(ep) });
  }
  return out;
}

/**
 * Moves every repeated (address, port) into its first occurrence, adding the weights, and recomputes
 * locality weights as endpoint-weight sums: each address's share of traffic is unchanged.
 */
export function mergeDuplicateAddresses(groups: readonly T.LocalityLbEndpoints[]): T.LocalityLbEndpoints[] {
  const first = new Map<string, T.LbEndpoint>();
  const out: T.LocalityLbEndpoints[] = [];
  for (const g of groups) {
    const kept: T.LbEndpoint[] = [];
    for (const lb of g.lbEndpoints ?? []) {
      const sa = lb.endpoint?.address?.socketAddress;
      const k = `${sa?.address ?? ''}|${sa?.portValue ?? 0}`;
      const prev = first.get(k);
      if (prev === undefined) {
        const copy: T.LbEndpoint = { ...lb, loadBalancingWeight: { value: lb.loadBalancingWeight?.value ?? 1 } };
        first.set(k, copy);
        kept.push(copy);
      } else {
        prev.loadBalancingWeight = { value: Math.min((prev.loadBalancingWeight?.value ?? 1) + (lb.loadBalancingWeight?.value ?? 1), 0xffffffff) };
      }
    }
    if (kept.length > 0) out.push({ ...g, lbEndpoints: kept });
    else if ((g.lbEndpoints ?? []).length === 0) out.push(g); // a locality split horizon emptied stays, weightless
  }
  return out.map((g) => (g.lbEndpoints ?? []).length === 0 ? g : ({
    ...g,
    loadBalancingWeight: { value: Math.min((g.lbEndpoints ?? []).reduce((s, e) => s + (e.loadBalancingWeight?.value ?? 1), 0), 0xffffffff) },
  }));
}

function assignment(proxy: Proxy, view: MeshView, name: string, parsed: Parsed): T.ClusterLoadAssignment {
  const eps = clusterEndpoints(view, parsed.key);
  if (eps === undefined) return { clusterName: name };
  const shProxy: SplitHorizonProxy = { network: proxy.network, requestedNetworkView: proxy.requestedNetworkView, ipFamily: ipFamily(proxy) };
  let endpoints = buildLocalityEndpoints({ proxy: shProxy, endpoints: eps, gateways: view.gateways(), mtlsOnly: parsed.sni });
  endpoints = localityLoadBalance(proxy, view, parsed.key, eps, endpoints);
  if (proxy.generator === 'grpc') endpoints = contiguousPriorities(mergeDuplicateAddresses(byPriority(endpoints)));
  return endpoints.length > 0 ? { clusterName: name, endpoints } : { clusterName: name };
}

/** Every outbound EDS name the view defines (for wildcard requests): `|` and SNI forms, with subsets. */
function allNames(view: MeshView): string[] {
  const out: string[] = [];
  for (const svc of view.services()) {
    if (svc.resolution !== 'ClientSideLB') continue;
    const subsets = ['', ...subsetsFor(view, svc.hostname).map((s) => s.name)];
    for (const p of svc.ports) {
      for (const subset of subsets) {
        const key: ClusterKey = { direction: 'outbound', port: p.port, subset, host: svc.hostname };
        out.push(clusterName(key));
        if (p.protocol !== 'UDP') out.push(sniName(key));
      }
    }
  }
  return out;
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.ClusterLoadAssignment>[] {
  const wanted = names === 'wildcard' ? allNames(view) : names;
  const out: GeneratedResource<T.ClusterLoadAssignment>[] = [];
  const seen = new Set<string>();
  for (const name of wanted) {
    if (seen.has(name)) continue;
    seen.add(name);
    const parsed = parseName(name);
    if (parsed !== undefined) out.push({ name, resource: assignment(proxy, view, name, parsed) });
  }
  return out;
}

export const edsGenerator: ResourceGenerator<T.ClusterLoadAssignment> = {
  typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  codec: clusterLoadAssignmentCodec,
  reads,
  cacheKey,
  generate,
};
