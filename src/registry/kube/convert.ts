/**
 * Kubernetes JSON -> model, as istiod's kube registry converts it (istio `pilot/pkg/serviceregistry/kube/conversion.go`,
 * `pkg/config/kube/conversion.go`, `controller/endpointslice.go`, `endpoint_builder.go`). Pure functions.
 */
import type { Endpoint, Locality, TlsMode } from '../../model/endpoint.ts';
import { serviceHostname, spiffeId, type ClusterId } from '../../model/ids.ts';
import {
  ANNOTATION_CANONICAL_SERVICE_ACCOUNTS, ANNOTATION_EXPORT_TO, ANNOTATION_KUBERNETES_SERVICE_ACCOUNTS,
  LABEL_ISTIO_LOCALITY, LABEL_KUBE_HOSTNAME, LABEL_MCS_SERVICE_NAME, LABEL_SERVICE_NAME, LABEL_TLS_MODE,
  LABEL_TOPOLOGY_CLUSTER, LABEL_TOPOLOGY_NETWORK, LABEL_TOPOLOGY_REGION, LABEL_TOPOLOGY_SUBZONE, LABEL_TOPOLOGY_ZONE,
} from '../../model/labels.ts';
import { NO_NETWORK, type NetworkId } from '../../model/network.ts';
import { UNSPECIFIED_IP, type Protocol, type Resolution, type Service, type ServicePort } from '../../model/service.ts';
import { endpointNetwork, type NetworkInputs } from '../network.ts';
import type { KubeEndpointSlice, KubeNode, KubePod, KubeService, KubeSliceEndpoint } from './types.ts';
import type { KubeObject, ObjectMeta } from '../../kube/types.ts';

export interface ServiceConvertOptions {
  readonly cluster: ClusterId;
  /** DNS suffix of service host names (`cluster.local`). */
  readonly domainSuffix: string;
  /** Trust domain for `alpha.istio.io/kubernetes-serviceaccounts` identities. */
  readonly trustDomain: string;
}

// Ports that default to TCP when the name declares no protocol (Istio: they break under sniffing).
const WELL_KNOWN_PORTS = new Set([25, 53, 3306, 27017]);

const PROTOCOL_NAMES: ReadonlyMap<string, Protocol> = new Map<string, Protocol>([
  ['tcp', 'TCP'], ['udp', 'UDP'], ['grpc', 'GRPC'], ['grpc-web', 'GRPC-Web'], ['http', 'HTTP'], ['http_proxy', 'HTTP_PROXY'],
  ['http2', 'HTTP2'], ['https', 'HTTPS'], ['tls', 'TLS'], ['mongo', 'Mongo'], ['redis', 'Redis'], ['mysql', 'MySQL'],
]);

/** Istio's `protocol.Parse`: case-insensitive; anything else is `UnsupportedProtocol`. */
export function parseProtocol(s: string): Protocol {
  return PROTOCOL_NAMES.get(s.toLowerCase()) ?? 'UnsupportedProtocol';
}

/**
 * Istio's protocol selection for a Service port (`ConvertProtocol`):
 * 1. `protocol: UDP` -> UDP;
 * 2. the `appProtocol` if set, else the port name, is examined: a `grpc-web` prefix -> GRPC-Web;
 *    otherwise the part before the first `-` is parsed case-insensitively (`http`, `http2`, `grpc`,
 *    `tcp`, `tls`, `https`, `mongo`, `redis`, `mysql`, `udp`, `http_proxy`);
 * 3. fallback: an unrecognised or empty name is `UnsupportedProtocol` (the data plane sniffs), except
 *    on the well-known ports 25, 53, 3306, 27017, which are TCP.
 * Kubernetes-style values such as `kubernetes.io/h2c` are not recognised (Istio does not either).
 */
export function convertProtocol(port: number, name: string, proto?: string, appProtocol?: string): Protocol {
  if (proto === 'UDP') return 'UDP';
  let n = appProtocol ?? name;
  if (n.slice(0, 8).toLowerCase() === 'grpc-web') return 'GRPC-Web';
  const dash = n.indexOf('-');
  if (dash >= 0) n = n.slice(0, dash);
  const p = parseProtocol(n);
  return p === 'UnsupportedProtocol' && WELL_KNOWN_PORTS.has(port) ? 'TCP' : p;
}

function splitList(v: string | undefined): string[] {
  return v ? v.split(',') : [];
}

/** A Kubernetes Service as seen from `cluster` (its VIPs and external addresses keyed by that cluster). */
export function convertService(svc: KubeService, opts: ServiceConvertOptions): Service {
  const spec = svc.spec ?? {};
  const namespace = svc.metadata.namespace ?? 'default';
  const annotations = svc.metadata.annotations ?? {};
  let addrs: readonly string[] = [UNSPECIFIED_IP];
  let resolution: Resolution = 'ClientSideLB';
  let externalName: string | undefined;
  if (spec.type === 'ExternalName' && spec.externalName) {
    externalName = spec.externalName;
    resolution = 'Alias';
  }
  if (spec.clusterIP === 'None') {
    resolution = 'Passthrough';
  } else if (spec.clusterIP) {
    addrs = spec.clusterIPs && spec.clusterIPs.length > 1 ? [...spec.clusterIPs] : [spec.clusterIP];
  }

  const ports: ServicePort[] = (spec.ports ?? []).map((p) => {
    const name = p.name ?? '';
    const port: ServicePort = { name, port: p.port, protocol: convertProtocol(p.port, name, p.protocol, p.appProtocol) };
    return p.targetPort === undefined ? port : { ...port, targetPort: p.targetPort };
  });

  const accounts = new Set(splitList(annotations[ANNOTATION_CANONICAL_SERVICE_ACCOUNTS]));
  for (const sa of splitList(annotations[ANNOTATION_KUBERNETES_SERVICE_ACCOUNTS])) {
    try {
      accounts.add(spiffeId({ trustDomain: opts.trustDomain, namespace, serviceAccount: sa }));
    } catch {
      // An unusable account name cannot match any workload identity; skip it.
    }
  }

  const external: string[] = [];
  if (spec.type === 'LoadBalancer') {
    for (const ingress of svc.status?.loadBalancer?.ingress ?? []) {
      // Host names are kept as-is: they are resolved where they are used (docs/istio-compat.md §8), never here.
      if (ingress.ip) external.push(ingress.ip);
      else if (ingress.hostname) external.push(ingress.hostname);
    }
  }
  external.push(...(spec.externalIPs ?? []));

  const exportTo = annotations[ANNOTATION_EXPORT_TO];
  return {
    hostname: serviceHostname(svc.metadata.name, namespace, opts.domainSuffix),
    namespace,
    name: svc.metadata.name,
    ports,
    clusterVIPs: new Map([[opts.cluster, addrs]]),
    clusterExternalAddresses: external.length > 0 ? new Map([[opts.cluster, external]]) : new Map(),
    serviceAccounts: [...accounts].sort(),
    labels: { ...svc.metadata.labels },
    ...(spec.selector ? { selector: { ...spec.selector } } : {}),
    ...(exportTo ? { exportTo: exportTo.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
    resolution,
    type: spec.type ?? 'ClusterIP',
    ...(externalName !== undefined ? { externalName } : {}),
    publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
    ...(svc.metadata.creationTimestamp ? { creationTimestamp: svc.metadata.creationTimestamp } : {}),
  };
}

/**
 * The name of the Service an EndpointSlice belongs to, or undefined if the registry ignores the
 * slice: no `kubernetes.io/service-name` label, an MCS-derived slice, or `addressType: FQDN`.
 */
export function sliceServiceName(slice: KubeEndpointSlice): string | undefined {
  const labels = slice.metadata.labels ?? {};
  if (labels[LABEL_MCS_SERVICE_NAME] !== undefined || slice.addressType === 'FQDN') return undefined;
  const name = labels[LABEL_SERVICE_NAME];
  return name ? name : undefined;
}

/** Inputs an EndpointSlice conversion needs besides the slice itself. */
export interface SliceContext {
  readonly cluster: ClusterId;
  /** The pod `namespace/name`, if cached. */
  readonly podByKey: (namespace: string, name: string) => KubePod | undefined;
  /** Pods with this IP (for endpoints without a Pod `targetRef`). */
  readonly podsByIp: (ip: string) => readonly KubePod[];
  /** The Node (its topology labels at least), when known. */
  readonly nodeByName?: (name: string) => KubeNode | undefined;
  readonly network: Omit<NetworkInputs, 'podLabels'>;
}

/**
 * The pod behind one slice endpoint, and whether one was expected. Like istiod: a Pod `targetRef` is
 * looked up by name (missing -> the endpoint is skipped until the pod arrives); without one, the
 * first pod of the slice's namespace with that IP is a best guess.
 */
export function podForEndpoint(ep: KubeSliceEndpoint, address: string, sliceNamespace: string, ctx: SliceContext): { pod?: KubePod; expected: boolean } {
  const ref = ep.targetRef;
  if (ref?.kind === 'Pod' && ref.name) {
    const pod = ctx.podByKey(ref.namespace ?? sliceNamespace, ref.name);
    return pod ? { pod, expected: true } : { expected: true };
  }
  const pod = ctx.podsByIp(address).find((p) => p.metadata.namespace === sliceNamespace);
  return pod ? { pod, expected: false } : { expected: false };
}

const REGION_LABELS = [LABEL_TOPOLOGY_REGION, 'failure-domain.beta.kubernetes.io/region'];
const ZONE_LABELS = [LABEL_TOPOLOGY_ZONE, 'failure-domain.beta.kubernetes.io/zone'];
const NODE_LOCALITY_LABELS = [...REGION_LABELS, ...ZONE_LABELS, LABEL_TOPOLOGY_SUBZONE];

/** An object's metadata without `managedFields` (server-side apply bookkeeping nothing here reads). */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (!Object.hasOwn(obj.metadata, 'managedFields')) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata as ObjectMeta & { managedFields?: unknown };
  return { ...obj, metadata };
}

/**
 * What the registry keeps of a Pod: the fields endpoints are built from (labels, service account,
 * node, IPs, phase). A Pod object is kilobytes of spec and status; the cache of a cluster with
 * thousands of pods held megabytes that nothing read.
 */
export function podEssentials(pod: KubePod): KubePod {
  const m = pod.metadata;
  const spec = pod.spec;
  const status = pod.status;
  const podIPs = status?.podIPs?.map((p) => ({ ip: p.ip }));
  return {
    metadata: {
      name: m.name,
      ...(m.namespace === undefined ? {} : { namespace: m.namespace }),
      ...(m.uid === undefined ? {} : { uid: m.uid }),
      ...(m.resourceVersion === undefined ? {} : { resourceVersion: m.resourceVersion }),
      ...(m.labels === undefined ? {} : { labels: m.labels }),
      ...(m.deletionTimestamp === undefined ? {} : { deletionTimestamp: m.deletionTimestamp }),
    },
    spec: {
      ...(spec?.serviceAccountName === undefined ? {} : { serviceAccountName: spec.serviceAccountName }),
      ...(spec?.nodeName === undefined ? {} : { nodeName: spec.nodeName }),
      ...(spec?.hostNetwork === undefined ? {} : { hostNetwork: spec.hostNetwork }),
    },
    status: {
      ...(status?.phase === undefined ? {} : { phase: status.phase }),
      ...(status?.podIP === undefined ? {} : { podIP: status.podIP }),
      ...(podIPs === undefined ? {} : { podIPs }),
    },
  };
}

/**
 * What the registry keeps of a Node: its name and the labels locality is read from (a Node object is
 * kilobytes of status; thousands of them would be megabytes of cache for three strings each).
 */
export function nodeLocalityOnly(node: KubeNode): KubeNode {
  const labels = node.metadata.labels ?? {};
  const kept: Record<string, string> = {};
  for (const k of NODE_LOCALITY_LABELS) { const v = labels[k]; if (v !== undefined) kept[k] = v; }
  return { metadata: { name: node.metadata.name, ...(node.metadata.resourceVersion === undefined ? {} : { resourceVersion: node.metadata.resourceVersion }), labels: kept } };
}

function firstLabel(labels: Readonly<Record<string, string>>, keys: readonly string[]): string {
  for (const k of keys) {
    const v = labels[k];
    if (v) return v;
  }
  return '';
}

/**
 * Locality of an endpoint:
 * 1. pod label `istio-locality` (`region.zone.subzone`), as istiod;
 * 2. the pod's Node labels (region, zone, `topology.istio.io/subzone`), as istiod, when the Node is known;
 * 3. without a Node (not listed yet, or not readable): zone from the EndpointSlice endpoint's `zone`
 *    (which the EndpointSlice controller copies from the Node), region and subzone from the pod's own
 *    `topology.kubernetes.io/region` / `topology.istio.io/subzone` labels. Slice `hints` are not used:
 *    they name the zones of consumers, not the endpoint's zone.
 */
export function endpointLocality(ep: KubeSliceEndpoint, pod: KubePod | undefined, node: KubeNode | undefined): Locality {
  const podLabels = pod?.metadata.labels ?? {};
  const override = podLabels[LABEL_ISTIO_LOCALITY];
  if (override) {
    const [region = '', zone = '', subzone = ''] = override.split('.');
    return { region, zone, subzone };
  }
  if (node) {
    const nl = node.metadata.labels ?? {};
    return { region: firstLabel(nl, REGION_LABELS), zone: firstLabel(nl, ZONE_LABELS), subzone: nl[LABEL_TOPOLOGY_SUBZONE] ?? '' };
  }
  return { region: podLabels[LABEL_TOPOLOGY_REGION] ?? '', zone: ep.zone ?? '', subzone: podLabels[LABEL_TOPOLOGY_SUBZONE] ?? '' };
}

/** Istio's `AugmentLabels`: pod labels plus topology labels; the cluster label always overrides. */
export function augmentLabels(podLabels: Readonly<Record<string, string>>, cluster: ClusterId, locality: Locality, nodeName: string, network: NetworkId): Record<string, string> {
  const out: Record<string, string> = { ...podLabels };
  if (locality.region) out[LABEL_TOPOLOGY_REGION] = locality.region;
  if (locality.zone) out[LABEL_TOPOLOGY_ZONE] = locality.zone;
  if (locality.subzone) out[LABEL_TOPOLOGY_SUBZONE] = locality.subzone;
  out[LABEL_TOPOLOGY_CLUSTER] = cluster;
  if (nodeName) out[LABEL_KUBE_HOSTNAME] = nodeName;
  if (network !== NO_NETWORK) out[LABEL_TOPOLOGY_NETWORK] = network;
  return out;
}

/** `security.istio.io/tlsMode=istio` (set by the injector) -> `istio`; anything else or no pod -> `disabled`. */
export function podTlsMode(pod: KubePod | undefined): TlsMode {
  return pod?.metadata.labels?.[LABEL_TLS_MODE] === 'istio' ? 'istio' : 'disabled';
}

/** Pod keys (`namespace/name`) an EndpointSlice references through Pod `targetRef`s. */
export function slicePodKeys(slice: KubeEndpointSlice): string[] {
  const ns = slice.metadata.namespace ?? '';
  const keys = new Set<string>();
  for (const ep of slice.endpoints ?? []) {
    if (ep.targetRef?.kind === 'Pod' && ep.targetRef.name) keys.add(`${ep.targetRef.namespace ?? ns}/${ep.targetRef.name}`);
  }
  return [...keys];
}

/** Addresses of a slice's endpoints that have no Pod `targetRef` (looked up by IP). */
export function sliceUnreferencedAddresses(slice: KubeEndpointSlice): string[] {
  const out = new Set<string>();
  for (const ep of slice.endpoints ?? []) {
    if (ep.targetRef?.kind !== 'Pod') for (const a of ep.addresses) out.add(a);
  }
  return [...out];
}

/**
 * One Endpoint per address of the slice, with the slice's ports by name. Health is
 * `conditions.ready` (unset = ready); unready endpoints are kept (generators decide, e.g. for
 * `publishNotReadyAddresses`). Ports without a number ("all ports") are skipped.
 */
export function convertEndpointSlice(slice: KubeEndpointSlice, ctx: SliceContext): Endpoint[] {
  if (sliceServiceName(slice) === undefined) return [];
  const sliceNamespace = slice.metadata.namespace ?? '';
  const ports: Record<string, number> = {};
  for (const p of slice.ports ?? []) {
    if (typeof p.port === 'number') ports[p.name ?? ''] = p.port;
  }
  const out: Endpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    const ready = ep.conditions?.ready;
    const healthy = ready === undefined || ready === null || ready;
    for (const address of ep.addresses) {
      const { pod, expected } = podForEndpoint(ep, address, sliceNamespace, ctx);
      if (!pod && expected) continue;
      const nodeName = pod?.spec?.nodeName ?? ep.nodeName ?? '';
      const node = nodeName && ctx.nodeByName ? ctx.nodeByName(nodeName) : undefined;
      const locality = endpointLocality(ep, pod, node);
      const podLabels = pod?.metadata.labels ?? {};
      const network = endpointNetwork(address, { ...ctx.network, podLabels });
      out.push({
        address,
        ports,
        cluster: ctx.cluster,
        network,
        locality,
        serviceAccount: pod ? pod.spec?.serviceAccountName || 'default' : '',
        tlsMode: podTlsMode(pod),
        healthy,
        labels: augmentLabels(podLabels, ctx.cluster, locality, nodeName, network),
        ...(pod ? { pod: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? sliceNamespace } } : {}),
        ...(nodeName ? { nodeName } : {}),
      });
    }
  }
  return out;
}

/**
 * The endpoints of one service from all its slices (pass them in a stable order, e.g. by slice
 * name). An address in several slices (an endpoint moving between slices) appears once: per
 * (address, port name) the first slice wins, as in istiod's slice cache. Sorted by address.
 */
export function mergeEndpoints(lists: readonly (readonly Endpoint[])[]): Endpoint[] {
  const byAddress = new Map<string, Endpoint>();
  for (const list of lists) {
    for (const ep of list) {
      const prev = byAddress.get(ep.address);
      if (!prev) {
        byAddress.set(ep.address, ep);
      } else if (Object.keys(ep.ports).some((name) => !(name in prev.ports))) {
        byAddress.set(ep.address, { ...prev, ports: { ...ep.ports, ...prev.ports } });
      }
    }
  }
  return [...byAddress.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
