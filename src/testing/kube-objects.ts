/**
 * Kubernetes and Istio objects as an API server would serve them (JSON shape, `kind` set), for tests
 * that feed the in-process harness (fake-discovery.ts). Short builders for the common cases; a test
 * that needs another field writes the object out in full.
 */
import type { KubeObject } from '../kube/types.ts';
import type { KubeEndpointSlice, KubeNamespace, KubePod, KubeService } from '../registry/kube/types.ts';

export function namespace(name: string, labels: Readonly<Record<string, string>> = {}): KubeNamespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

/** A ClusterIP Service; each port `[number, name]` (the name gives the protocol, e.g. `http`). */
export function service(name: string, ns: string, clusterIP: string, ports: readonly (readonly [number, string])[], selector: Readonly<Record<string, string>> = { app: name }): KubeService {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], selector, ports: ports.map(([port, n]) => ({ name: n, port, protocol: 'TCP', targetPort: port })) },
  };
}

/** A running pod with the injector's `security.istio.io/tlsMode=istio` label unless `labels` says otherwise. */
export function pod(name: string, ns: string, ip: string, opts: { labels?: Readonly<Record<string, string>>; serviceAccount?: string; nodeName?: string } = {}): KubePod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { 'security.istio.io/tlsMode': 'istio', ...opts.labels } },
    spec: { serviceAccountName: opts.serviceAccount ?? 'default', ...(opts.nodeName ? { nodeName: opts.nodeName } : {}) },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** One endpoint of a slice: its address and the pod behind it (by name, in the slice's namespace). */
export interface SliceEndpoint {
  readonly ip: string;
  readonly pod?: string;
  readonly ready?: boolean;
}

/** An IPv4 EndpointSlice of Service `svc` (named `<svc>-<suffix>`); each port `[number, name]`. */
export function endpointSlice(svc: string, ns: string, endpoints: readonly SliceEndpoint[], ports: readonly (readonly [number, string])[], suffix = 'abcde'): KubeEndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { name: `${svc}-${suffix}`, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip], conditions: { ready: e.ready ?? true },
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace: ns } } : {}),
    })),
    ports: ports.map(([port, name]) => ({ name, port, protocol: 'TCP' })),
  };
}

/** A `networking.istio.io/v1` DestinationRule for `host` with `subsets` (name -> labels). */
export function destinationRule(name: string, ns: string, host: string, subsets: Readonly<Record<string, Readonly<Record<string, string>>>>): KubeObject & { spec: unknown } {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name, namespace: ns },
    spec: { host, subsets: Object.entries(subsets).map(([n, labels]) => ({ name: n, labels })) },
  };
}

/** An east-west gateway of `network`: a LoadBalancer Service labelled with its network, at `ip`:15443. */
export function eastWestGateway(network: string, ip: string): KubeService {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: { 'topology.istio.io/network': network, istio: 'eastwestgateway' } },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.200.1', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'tls', port: 15443, protocol: 'TCP', targetPort: 15443 }] },
    status: { loadBalancer: { ingress: [{ ip }] } },
  };
}
