/**
 * The `ingressGateways` component: per enabled gateway a service account, a Deployment and a Service
 * carrying the gateway's labels (the control plane finds network gateways by the Service label
 * `topology.istio.io/network`). The Deployment runs Istio's proxy as Istio's gateways do:
 * `pilot-agent proxy router` from the proxyv2 image, with the env, volumes (projected `istio-token`
 * for audience `istio-ca`, the root from `istio-ca-root-cert`, ...) and probes of Istio's gateway
 * (docs/istio-compat.md §3.1, §13). It is rendered whole rather than injected, so a gateway starts even
 * where the injection webhook is reached through that gateway (a remote cluster's).
 */
import { revLabel, type Effective, type EnvVar, type GatewayDef } from '../effective.ts';
import type { Json, JsonObject } from '../iop.ts';
import { discoveryAddress } from './pilot.ts';
import type { Manifest } from './types.ts';

const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });
const resourceEnv = (name: string, resource: string): EnvVar => ({ name, valueFrom: { resourceFieldRef: { resource, divisor: '0' } } });

/** Service port of Istio's AUTO_PASSTHROUGH (network gateway) server. */
const MTLS_PORT = 15443;

/**
 * The proxy's environment: identity from the downward API, mesh metadata, then `k8s.env` (which
 * wins; gen-eastwest-gateway puts `ISTIO_META_REQUESTED_NETWORK_VIEW` there). A gateway exposing
 * 15443 is a network gateway: `ISTIO_META_ROUTER_MODE=sni-dnat`, else `standard`.
 */
export function gatewayEnv(e: Effective, g: GatewayDef): EnvVar[] {
  const env: EnvVar[] = [
    { name: 'JWT_POLICY', value: 'third-party-jwt' },
    { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
    { name: 'CA_ADDR', value: discoveryAddress(e) },
    fieldEnv('NODE_NAME', 'spec.nodeName'),
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('INSTANCE_IP', 'status.podIP'),
    fieldEnv('HOST_IP', 'status.hostIP'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    resourceEnv('ISTIO_CPU_LIMIT', 'limits.cpu'),
    { name: 'PROXY_CONFIG', value: JSON.stringify({ discoveryAddress: discoveryAddress(e) }) },
    { name: 'ISTIO_META_WORKLOAD_NAME', value: g.name },
    { name: 'ISTIO_META_OWNER', value: `kubernetes://apis/apps/v1/namespaces/${g.namespace}/deployments/${g.name}` },
    { name: 'ISTIO_META_UNPRIVILEGED_POD', value: 'true' },
    { name: 'ISTIO_META_CLUSTER_ID', value: e.clusterName },
    fieldEnv('ISTIO_META_NODE_NAME', 'spec.nodeName'),
    { name: 'ISTIO_META_ROUTER_MODE', value: g.ports.some((p) => p.port === MTLS_PORT) ? 'sni-dnat' : 'standard' },
    { name: 'TRUST_DOMAIN', value: typeof e.meshConfig['trustDomain'] === 'string' ? e.meshConfig['trustDomain'] : 'cluster.local' },
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
              args: ['proxy', 'router', '--domain', '$(POD_NAMESPACE).svc.cluster.local', '--proxyLogLevel=warning', '--proxyComponentLogLevel=misc:error', '--log_output_level=default:info'],
              ports: containerPorts(g),
              env: gatewayEnv(e, g) as unknown as Json,
              readinessProbe: { httpGet: { path: '/healthz/ready', port: 15021 }, initialDelaySeconds: 1, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 30 },
              resources: k['resources'] ?? { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2000m', memory: '1024Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'workload-socket', mountPath: '/var/run/secrets/workload-spiffe-uds' },
                { name: 'credential-socket', mountPath: '/var/run/secrets/credential-uds' },
                { name: 'workload-certs', mountPath: '/var/run/secrets/workload-spiffe-credentials' },
                { name: 'istio-token', mountPath: '/var/run/secrets/tokens', readOnly: true },
                { name: 'istiod-ca-cert', mountPath: '/var/run/secrets/istio' },
                { name: 'istio-envoy', mountPath: '/etc/istio/proxy' },
                { name: 'istio-data', mountPath: '/var/lib/istio/data' },
                { name: 'istio-podinfo', mountPath: '/etc/istio/pod' },
              ],
            }],
            volumes: [
              { name: 'workload-socket', emptyDir: {} },
              { name: 'credential-socket', emptyDir: {} },
              { name: 'workload-certs', emptyDir: {} },
              { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
              { name: 'istiod-ca-cert', configMap: { name: 'istio-ca-root-cert' } },
              { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
              { name: 'istio-data', emptyDir: {} },
              { name: 'istio-podinfo', downwardAPI: { items: [
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
