/**
 * Builders for the Kubernetes and Istio objects the scenarios apply (plain data, so a scenario
 * reads as the list of objects a user would apply), and applying them to a test-bed cluster by
 * server-side apply, status included.
 */
import { serverSideApply } from '../../../src/testing/istiod/istiod-process.ts';
import type { TestbedCluster } from '../../../src/testing/testbed/testbed.ts';

export type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

const RESOURCES: Record<string, { prefix: string; plural: string; namespaced: boolean }> = {
  Namespace: { prefix: '/api/v1', plural: 'namespaces', namespaced: false },
  Node: { prefix: '/api/v1', plural: 'nodes', namespaced: false },
  Service: { prefix: '/api/v1', plural: 'services', namespaced: true },
  Pod: { prefix: '/api/v1', plural: 'pods', namespaced: true },
  ServiceAccount: { prefix: '/api/v1', plural: 'serviceaccounts', namespaced: true },
  Secret: { prefix: '/api/v1', plural: 'secrets', namespaced: true },
  EndpointSlice: { prefix: '/apis/discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  Gateway: { prefix: '/apis/networking.istio.io/v1', plural: 'gateways', namespaced: true },
  DestinationRule: { prefix: '/apis/networking.istio.io/v1', plural: 'destinationrules', namespaced: true },
  VirtualService: { prefix: '/apis/networking.istio.io/v1', plural: 'virtualservices', namespaced: true },
  PeerAuthentication: { prefix: '/apis/security.istio.io/v1', plural: 'peerauthentications', namespaced: true },
  Sidecar: { prefix: '/apis/networking.istio.io/v1', plural: 'sidecars', namespaced: true },
};

export function objectPath(o: KubeObject): string {
  const r = RESOURCES[o.kind];
  if (!r) throw new Error(`conformance: no API path known for kind ${o.kind} (${o.metadata.name})`);
  const ns = r.namespaced ? `/namespaces/${o.metadata.namespace ?? 'default'}` : '';
  return `${r.prefix}${ns}/${r.plural}/${o.metadata.name}`;
}

/** Server-side applies the object, then its `status` (Pods, LoadBalancer Services) on the status subresource. */
export async function applyObject(c: TestbedCluster, o: KubeObject): Promise<void> {
  const { status, ...spec } = o;
  await serverSideApply(c, objectPath(o), spec);
  if (status !== undefined) await serverSideApply(c, `${objectPath(o)}/status`, { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace }, status });
}

export const namespace = (name: string, labels: Record<string, string> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

export const node = (name: string, region: string, zone: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'topology.kubernetes.io/region': region, 'topology.kubernetes.io/zone': zone } } });

export const serviceAccount = (ns: string, name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });

export interface PortSpec { readonly name: string; readonly port: number; readonly targetPort?: number; readonly appProtocol?: string }

export function service(ns: string, name: string, ports: readonly PortSpec[], opts: { selector?: Record<string, string>; headless?: boolean; labels?: Record<string, string>; annotations?: Record<string, string>; lbIp?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: ns, labels: opts.labels ?? {}, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
    spec: {
      selector: opts.selector ?? { app: name },
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
      ...(opts.headless ? { clusterIP: 'None' } : {}),
      ...(opts.lbIp ? { type: 'LoadBalancer' } : {}),
    },
    ...(opts.lbIp ? { status: { loadBalancer: { ingress: [{ ip: opts.lbIp }] } } } : {}),
  };
}

export interface PodSpec { readonly ns: string; readonly name: string; readonly ip: string; readonly node: string; readonly labels: Record<string, string>; readonly sa: string; readonly ready?: boolean }

export function pod(p: PodSpec): KubeObject {
  const ready = p.ready ?? true;
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: p.name, namespace: p.ns, labels: p.labels },
    spec: { nodeName: p.node, serviceAccountName: p.sa, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    status: {
      phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], hostIP: '198.18.0.1',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }, { type: 'ContainersReady', status: ready ? 'True' : 'False' }],
    },
  };
}

/** One EndpointSlice for `svc` naming the given pods (their ready flags become the endpoints' conditions). */
export function slice(svc: string, name: string, pods: readonly PodSpec[], ports: readonly PortSpec[], zoneOf: (node: string) => string): KubeObject {
  const ns = pods[0]?.ns ?? 'default';
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc, 'endpointslice.kubernetes.io/managed-by': 'conformance.isthmus' } },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip], nodeName: p.node, zone: zoneOf(p.node),
      conditions: { ready: p.ready ?? true, serving: p.ready ?? true, terminating: false },
      targetRef: { kind: 'Pod', name: p.name, namespace: p.ns },
    })),
    ports: ports.map((p) => ({ name: p.name, port: p.targetPort ?? p.port, protocol: 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
  };
}

export function istio(kind: 'Gateway' | 'DestinationRule' | 'VirtualService' | 'PeerAuthentication' | 'Sidecar', ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  const group = kind === 'PeerAuthentication' ? 'security.istio.io/v1' : 'networking.istio.io/v1';
  return { apiVersion: group, kind, metadata: { name, namespace: ns }, spec };
}
