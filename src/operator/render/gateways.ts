/**
 * The `ingressGateways` component: per enabled gateway a service account, a Deployment running
 * `isthmus agent router` and a Service carrying the gateway's labels (the control plane finds
 * network gateways by the Service label `topology.istio.io/network`).
 */
import { revLabel, type Effective, type EnvVar, type GatewayDef } from '../effective.ts';
import type { Json, JsonObject } from '../iop.ts';
import { discoveryAddress } from './pilot.ts';
import type { Manifest } from './types.ts';

const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

/** The proxy's environment: identity from the downward API, mesh metadata, then `k8s.env` (which wins). */
export function gatewayEnv(e: Effective, g: GatewayDef): EnvVar[] {
  const env: EnvVar[] = [
    { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
    { name: 'CA_ADDR', value: discoveryAddress(e) },
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    fieldEnv('HOST_IP', 'status.hostIP'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    { name: 'PROXY_CONFIG', value: JSON.stringify({ discoveryAddress: discoveryAddress(e) }) },
    { name: 'ISTIO_META_WORKLOAD_NAME', value: g.name },
    { name: 'ISTIO_META_OWNER', value: `kubernetes://apis/apps/v1/namespaces/${g.namespace}/deployments/${g.name}` },
    { name: 'ISTIO_META_CLUSTER_ID', value: e.clusterName },
  ];
  if (e.network !== '') env.push({ name: 'ISTIO_META_NETWORK', value: e.network });
  if (e.meshID !== '') env.push({ name: 'ISTIO_META_MESH_ID', value: e.meshID });
  const at = new Map(env.map((x, i) => [x.name, i]));
  for (const v of g.env) {
    const i = at.get(v.name);
    if (i !== undefined) { env[i] = v; continue; }
    at.set(v.name, env.length);
    env.push(v);
  }
  return env;
}

function containerPorts(g: GatewayDef): JsonObject[] {
  const seen = new Set<number>();
  const out: JsonObject[] = [];
  for (const p of g.ports) {
    const n = typeof p.targetPort === 'number' ? p.targetPort : p.port;
    if (seen.has(n)) continue;
    seen.add(n);
    out.push({ containerPort: n, protocol: p.protocol });
  }
  if (!seen.has(15090)) out.push({ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' });
  return out;
}

function gatewayObjects(e: Effective, g: GatewayDef): Manifest[] {
  const labels = { ...g.labels, 'istio.io/rev': revLabel(e), release: 'istio' };
  const sa = `${g.name}-service-account`;
  const k = g.k8s;
  const svcAnnotations = k['serviceAnnotations'] as Record<string, string> | undefined;
  const service = k['service'] as JsonObject | undefined;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: g.namespace, labels } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: g.name, namespace: g.namespace, labels },
      spec: {
        replicas: g.replicas,
        selector: { matchLabels: { ...g.labels } },
        strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: '25%' } },
        template: {
          metadata: {
            labels: { ...labels, 'sidecar.istio.io/inject': 'false', 'service.istio.io/canonical-name': g.name },
            annotations: { 'prometheus.io/port': '15020', 'prometheus.io/scrape': 'true', 'prometheus.io/path': '/stats/prometheus', 'sidecar.istio.io/inject': 'false', ...(k['podAnnotations'] as Record<string, string> | undefined) },
          },
          spec: {
            serviceAccountName: sa,
            containers: [{
              name: 'istio-proxy',
              image: g.image,
              ...(k['imagePullPolicy'] === undefined ? {} : { imagePullPolicy: k['imagePullPolicy'] }),
              args: ['agent', 'router'],
              ports: containerPorts(g),
              env: gatewayEnv(e, g) as unknown as Json,
              readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 1, periodSeconds: 2, failureThreshold: 30 },
              resources: k['resources'] ?? { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2000m', memory: '1024Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'istio-token', mountPath: '/var/run/secrets/tokens', readOnly: true },
                { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio', readOnly: true },
                { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
                { name: 'istio-data', mountPath: '/var/lib/istio/data' },
                { name: 'podinfo', mountPath: '/etc/istio/pod' },
              ],
            }],
            volumes: [
              { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
              { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
              { name: 'istio-envoy', emptyDir: {} },
              { name: 'istio-data', emptyDir: {} },
              { name: 'podinfo', downwardAPI: { items: [
                { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
                { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
              ] } },
            ],
            ...(k['nodeSelector'] === undefined ? {} : { nodeSelector: k['nodeSelector'] }),
            ...(k['tolerations'] === undefined ? {} : { tolerations: k['tolerations'] }),
            ...(k['affinity'] === undefined ? {} : { affinity: k['affinity'] }),
            ...(k['priorityClassName'] === undefined ? {} : { priorityClassName: k['priorityClassName'] }),
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: g.name, namespace: g.namespace, labels, ...(svcAnnotations === undefined ? {} : { annotations: svcAnnotations }) },
      spec: {
        type: g.serviceType,
        selector: { ...g.labels },
        ports: g.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol, ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }) })),
        ...(service?.['loadBalancerIP'] === undefined ? {} : { loadBalancerIP: service['loadBalancerIP'] }),
        ...(service?.['externalTrafficPolicy'] === undefined ? {} : { externalTrafficPolicy: service['externalTrafficPolicy'] }),
        ...(service?.['loadBalancerSourceRanges'] === undefined ? {} : { loadBalancerSourceRanges: service['loadBalancerSourceRanges'] }),
      },
    },
  ];
}

export function renderGateways(e: Effective): Manifest[] {
  return e.gateways.flatMap((g) => gatewayObjects(e, g));
}
