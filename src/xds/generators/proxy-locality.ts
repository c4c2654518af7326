/**
 * Where a proxy is, for locality load balancing (locality-lb.ts), found as istiod finds it: the
 * registry's knowledge of the proxy's pod first (here: the endpoint of the proxy's pod, by
 * `<pod>.<namespace>` of the node id, else by its IP, in the proxy's cluster), with its locality and
 * labels; without one, the topology labels among the node metadata `LABELS` (or their
 * `topology.istio.io/locality` / `istio-locality` label), else the Node message's locality. The labels
 * carry Istio's topology labels (region, zone, subzone, cluster, network, and `kubernetes.io/hostname`
 * from metadata `NODE_NAME`). A pod that backs no Service is not in the view: such a proxy is placed
 * by its metadata and Node message.
 *
 * Also what EDS output depends on besides the network view (`localityCacheKey`), and the glue that
 * applies a destination's setting to one assignment (`localityLoadBalance`).
 */
import { localityString, type Endpoint, type Locality } from '../../model/endpoint.ts';
import type { ClusterKey } from '../../model/cluster-names.ts';
import {
  LABEL_KUBE_HOSTNAME, LABEL_ISTIO_LOCALITY, LABEL_TOPOLOGY_CLUSTER, LABEL_TOPOLOGY_NETWORK, LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_SUBZONE, LABEL_TOPOLOGY_ZONE,
} from '../../model/labels.ts';
import type { MeshView, TrafficPolicySettings } from '../../model/mesh-view.ts';
import { NO_NETWORK, type NetworkGateway } from '../../model/network.ts';
import type { Proxy } from '../../model/proxy.ts';
import type * as T from '../../proto/types.ts';
import { applyLocalityLb, effectiveLocalityLb } from './locality-lb.ts';
import type { ClusterEndpoint } from './split-horizon.ts';
import { effectiveTrafficPolicy } from './traffic-policy.ts';

const LABEL_TOPOLOGY_LOCALITY = 'topology.istio.io/locality';

export interface ProxyPlace {
  readonly locality: Locality;
  readonly labels: Readonly<Record<string, string>>;
}

const podIndexes = new WeakMap<MeshView, Map<string, Endpoint>>();

function podIndex(view: MeshView): Map<string, Endpoint> {
  let index = podIndexes.get(view);
  if (index !== undefined) return index;
  index = new Map();
  for (const svc of view.services()) {
    for (const ep of view.endpoints(svc.hostname)) {
      const byPod = ep.pod === undefined ? undefined : `${ep.cluster}\u0000pod\u0000${ep.pod.namespace}/${ep.pod.name}`;
      if (byPod !== undefined && !index.has(byPod)) index.set(byPod, ep);
      const byIp = `${ep.cluster}\u0000ip\u0000${ep.address}`;
      if (!index.has(byIp)) index.set(byIp, ep);
    }
  }
  podIndexes.set(view, index);
  return index;
}

function hasLocality(l: Locality): boolean {
  return l.region !== '' || l.zone !== '' || l.subzone !== '';
}

function localityFromLabels(labels: Readonly<Record<string, string>>): Locality | undefined {
  const region = labels[LABEL_TOPOLOGY_REGION];
  const zone = labels[LABEL_TOPOLOGY_ZONE];
  const subzone = labels[LABEL_TOPOLOGY_SUBZONE];
  if (region !== undefined || zone !== undefined || subzone !== undefined) return { region: region ?? '', zone: zone ?? '', subzone: subzone ?? '' };
  const label = labels[LABEL_TOPOLOGY_LOCALITY] ?? labels[LABEL_ISTIO_LOCALITY] ?? '';
  if (label === '') return undefined;
  const [r = '', z = '', s = ''] = label.split('/');
  return { region: r, zone: z, subzone: s };
}

const places = new WeakMap<Proxy, { view: MeshView; place: ProxyPlace }>();

/** The proxy's locality and labels in this view (memoised per proxy and view). */
export function proxyPlace(proxy: Proxy, view: MeshView): ProxyPlace {
  const known = places.get(proxy);
  if (known?.view === view) return known.place;
  const index = podIndex(view);
  const ep = index.get(`${proxy.clusterId}\u0000pod\u0000${proxy.namespace}/${proxy.podName}`) ?? index.get(`${proxy.clusterId}\u0000ip\u0000${proxy.ip}`);
  // The node name comes from the proxy's metadata only, as with istiod.
  const { [LABEL_KUBE_HOSTNAME]: _node, ...source } = ep?.labels ?? proxy.labels;
  const labels: Record<string, string> = { ...source };
  const locality = (ep !== undefined && hasLocality(ep.locality) ? ep.locality : undefined) ?? localityFromLabels(labels) ?? proxy.locality;
  if (locality.region !== '') labels[LABEL_TOPOLOGY_REGION] = locality.region;
  if (locality.zone !== '') labels[LABEL_TOPOLOGY_ZONE] = locality.zone;
  if (locality.subzone !== '') labels[LABEL_TOPOLOGY_SUBZONE] = locality.subzone;
  if (proxy.clusterId !== '') labels[LABEL_TOPOLOGY_CLUSTER] = proxy.clusterId;
  const node = proxy.metadata['NODE_NAME'];
  if (typeof node === 'string' && node !== '') labels[LABEL_KUBE_HOSTNAME] = node;
  if (proxy.network !== NO_NETWORK && (labels[LABEL_TOPOLOGY_NETWORK] ?? '') === '') labels[LABEL_TOPOLOGY_NETWORK] = proxy.network;
  const place = { locality, labels };
  places.set(proxy, { view, place });
  return place;
}

interface Relevance {
  /** Some destination's load assignments depend on the proxy's locality. */
  readonly locality: boolean;
  /** Label names some `failoverPriority` compares with the proxy's (not those with a fixed value). */
  readonly labels: readonly string[];
}

const relevances = new WeakMap<MeshView, Relevance>();

function relevance(view: MeshView): Relevance {
  let r = relevances.get(view);
  if (r !== undefined) return r;
  const all: TrafficPolicySettings[] = [];
  for (const dr of view.destinationRules()) {
    for (const tp of [dr.trafficPolicy, ...dr.subsets.map((s) => s.trafficPolicy)]) if (tp !== undefined) all.push(tp, ...tp.portLevelSettings);
  }
  // Outlier detection anywhere turns on (default) failover; what a level inherits is not worked out here: be broad.
  const locality = all.some((s) => s.outlierDetection !== undefined || (s.localityLbSetting?.distribute.length ?? 0) > 0);
  const labels = new Set(all.flatMap((s) => s.localityLbSetting?.failoverPriority ?? []).filter((p) => !p.includes('=')));
  r = { locality: locality || labels.size > 0, labels: [...labels].sort() };
  relevances.set(view, r);
  return r;
}

/** What load assignments depend on about the proxy's place: '' when no destination balances by locality. */
export function localityCacheKey(proxy: Proxy, view: MeshView): string {
  const r = relevance(view);
  if (!r.locality) return '';
  const place = proxyPlace(proxy, view);
  return [localityString(place.locality), ...r.labels.map((l) => `${l}=${place.labels[l] ?? ''}`)].join('|');
}

function envoyLocalityString(l: T.Locality | null | undefined): string {
  return localityString({ region: l?.region ?? '', zone: l?.zone ?? '', subzone: l?.subZone ?? '' });
}

/** Labels behind each emitted endpoint: the workload's, or for a gateway its cluster and network (as istiod). */
function labeler(eps: readonly ClusterEndpoint[], gateways: readonly NetworkGateway[]): (g: T.LocalityLbEndpoints, i: number) => Readonly<Record<string, string>> {
  const direct = new Map<string, Readonly<Record<string, string>>>();
  for (const ce of eps) {
    const k = `${localityString(ce.endpoint.locality)}|${ce.endpoint.address}|${ce.port}`;
    if (!direct.has(k)) direct.set(k, ce.endpoint.labels);
  }
  const viaGateway = new Map<string, Readonly<Record<string, string>>>();
  for (const gw of gateways) {
    const k = `${gw.address}|${gw.port}`;
    if (!viaGateway.has(k)) viaGateway.set(k, { ...(gw.cluster ? { [LABEL_TOPOLOGY_CLUSTER]: gw.cluster } : {}), ...(gw.network === NO_NETWORK ? {} : { [LABEL_TOPOLOGY_NETWORK]: gw.network }) });
  }
  return (g, i) => {
    const sa = g.lbEndpoints?.[i]?.endpoint?.address?.socketAddress;
    const addr = `${sa?.address ?? ''}|${sa?.portValue ?? 0}`;
    return direct.get(`${envoyLocalityString(g.locality)}|${addr}`) ?? viaGateway.get(addr) ?? {};
  };
}

/** One assignment's groups with the destination's locality priorities or weights for this proxy. */
export function localityLoadBalance(proxy: Proxy, view: MeshView, key: ClusterKey, eps: readonly ClusterEndpoint[], groups: readonly T.LocalityLbEndpoints[]): T.LocalityLbEndpoints[] {
  const policy = effectiveTrafficPolicy(view, key.host, key.port, key.subset);
  const setting = effectiveLocalityLb(policy);
  if (setting === undefined || (setting.distribute.length === 0 && policy.outlierDetection === undefined)) return [...groups];
  return applyLocalityLb(groups, { proxy: proxyPlace(proxy, view), setting, outlierDetection: policy.outlierDetection !== undefined, labelsOf: labeler(eps, view.gateways()) });
}
