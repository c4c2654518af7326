/**
 * The `pilot` component: mesh ConfigMap, the control plane Deployment and Service running
 * `isthmus discovery`, the injection webhook, and for the remote profile the Service that points
 * at a control plane elsewhere (`values.global.remotePilotAddress`).
 */
import { isIP } from 'node:net';
import { istiodName, revLabel, type Effective, type EnvVar } from '../effective.ts';
import { merge, type Json, type JsonObject } from '../iop.ts';
import { stringify } from 'yaml';
import { istiodRbac, readerRbac } from './rbac.ts';
import type { Manifest } from './types.ts';

/** The address proxies use for xDS and the CA: always the in-cluster name (docs/istio-compat.md §2.3). */
export function discoveryAddress(e: Effective): string {
  return `${istiodName(e)}.${e.namespace}.svc:15012`;
}

/** The mesh config written into ConfigMap `istio[-rev]` key `mesh`: defaults, then spec.meshConfig. */
export function meshConfig(e: Effective): JsonObject {
  const defaults: JsonObject = {
    defaultConfig: {
      discoveryAddress: discoveryAddress(e),
      ...(e.meshID === '' ? {} : { meshId: e.meshID }),
      proxyMetadata: {},
    },
    enablePrometheusMerge: true,
    rootNamespace: e.namespace,
    trustDomain: 'cluster.local',
  };
  return merge(defaults, e.meshConfig) as JsonObject;
}

function meshConfigMap(e: Effective): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: e.revision === '' ? 'istio' : `istio-${e.revision}`, namespace: e.namespace, labels: { 'istio.io/rev': revLabel(e), release: 'istio' } },
    data: { mesh: stringify(meshConfig(e)), meshNetworks: 'networks: {}\n' },
  };
}

const fieldEnv = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } });

/** istiod's environment: fixed entries, EXTERNAL_ISTIOD from values.global, then values.pilot.env (which wins). */
export function istiodEnv(e: Effective): EnvVar[] {
  const env: EnvVar[] = [
    { name: 'REVISION', value: revLabel(e) },
    { name: 'PILOT_CERT_PROVIDER', value: 'istiod' },
    fieldEnv('POD_NAME', 'metadata.name'),
    fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
    fieldEnv('SERVICE_ACCOUNT', 'spec.serviceAccountName'),
    { name: 'KUBECONFIG', value: '/var/run/secrets/remote/config' },
    { name: 'CLUSTER_ID', value: e.clusterName },
  ];
  if (e.externalIstiod !== undefined && !e.pilotEnv.some((v) => v.name === 'EXTERNAL_ISTIOD')) env.push({ name: 'EXTERNAL_ISTIOD', value: String(e.externalIstiod) });
  const at = new Map(env.map((x, i) => [x.name, i]));
  for (const v of e.pilotEnv) {
    const i = at.get(v.name);
    if (i !== undefined) { env[i] = v; continue; }
    at.set(v.name, env.length);
    env.push(v);
  }
  return env;
}

function selector(e: Effective): Record<string, string> {
  return { app: 'istiod', 'istio.io/rev': revLabel(e) };
}

function istiodDeployment(e: Effective): Manifest {
  const name = istiodName(e);
  const labels = { ...selector(e), istio: 'pilot', release: 'istio' };
  const k = e.pilotK8s;
  const pod: JsonObject = {
    serviceAccountName: name,
    containers: [{
      name: 'discovery',
      image: e.image,
      ...(e.imagePullPolicy === undefined ? {} : { imagePullPolicy: e.imagePullPolicy }),
      args: ['discovery', '--grpcAddr=:15010', '--secureGRPCAddr=:15012', '--httpAddr=:8080', '--monitoringAddr=:15014', '--httpsAddr=:15017'],
      ports: [
        { name: 'http-debug', containerPort: 8080, protocol: 'TCP' },
        { name: 'grpc-xds', containerPort: 15010, protocol: 'TCP' },
        { name: 'tls-xds', containerPort: 15012, protocol: 'TCP' },
        { name: 'http-monitoring', containerPort: 15014, protocol: 'TCP' },
        { name: 'https-webhook', containerPort: 15017, protocol: 'TCP' },
      ],
      readinessProbe: { httpGet: { path: '/ready', port: 8080 }, initialDelaySeconds: 1, periodSeconds: 3, timeoutSeconds: 5 },
      env: istiodEnv(e) as unknown as Json,
      resources: k['resources'] ?? { requests: { cpu: '500m', memory: '2048Mi' } },
      securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, capabilities: { drop: ['ALL'] } },
      volumeMounts: [
        { name: 'istio-token', mountPath: '/var/run/secrets/tokens', readOnly: true },
        { name: 'local-certs', mountPath: '/var/run/secrets/istio-dns' },
        { name: 'cacerts', mountPath: '/etc/cacerts', readOnly: true },
        { name: 'istio-kubeconfig', mountPath: '/var/run/secrets/remote', readOnly: true },
      ],
    }],
    volumes: [
      { name: 'local-certs', emptyDir: { medium: 'Memory' } },
      { name: 'istio-token', projected: { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] } },
      { name: 'cacerts', secret: { secretName: 'cacerts', optional: true } },
      { name: 'istio-kubeconfig', secret: { secretName: 'istio-kubeconfig', optional: true } },
    ],
    ...(k['nodeSelector'] === undefined ? {} : { nodeSelector: k['nodeSelector'] }),
    ...(k['tolerations'] === undefined ? {} : { tolerations: k['tolerations'] }),
    ...(k['affinity'] === undefined ? {} : { affinity: k['affinity'] }),
    ...(k['priorityClassName'] === undefined ? {} : { priorityClassName: k['priorityClassName'] }),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: e.namespace, labels },
    spec: {
      replicas: typeof k['replicaCount'] === 'number' ? k['replicaCount'] : e.pilotReplicas,
      selector: { matchLabels: selector(e) },
      strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: '25%' } },
      template: {
        metadata: {
          labels: { ...labels, 'sidecar.istio.io/inject': 'false' },
          annotations: { 'prometheus.io/port': '15014', 'prometheus.io/scrape': 'true', 'sidecar.istio.io/inject': 'false', ...(k['podAnnotations'] as Record<string, string> | undefined) },
        },
        spec: pod,
      },
    },
  };
}

function istiodService(e: Effective): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: istiodName(e), namespace: e.namespace, labels: { ...selector(e), istio: 'pilot', release: 'istio' } },
    spec: {
      ports: [
        { name: 'grpc-xds', port: 15010, targetPort: 15010, protocol: 'TCP' },
        { name: 'https-dns', port: 15012, targetPort: 15012, protocol: 'TCP' },
        { name: 'https-webhook', port: 443, targetPort: 15017, protocol: 'TCP' },
        { name: 'http-monitoring', port: 15014, targetPort: 15014, protocol: 'TCP' },
      ],
      selector: selector(e),
    },
  };
}

const REMOTE_PORTS = [
  { name: 'tcp-istiod', port: 15012, targetPort: 15012, protocol: 'TCP' },
  { name: 'tcp-webhook', port: 443, targetPort: 15017, protocol: 'TCP' },
];

/** Remote profile: `istiod` in this cluster resolves to the control plane at remotePilotAddress. */
export function remoteIstiodService(e: Effective): Manifest[] {
  const name = istiodName(e);
  const labels = { app: 'istiod', 'istio.io/rev': revLabel(e), istio: 'pilot', release: 'istio' };
  const family = isIP(e.remotePilotAddress);
  if (family === 0) {
    return [{
      apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: e.namespace, labels },
      spec: { type: 'ExternalName', externalName: e.remotePilotAddress, ports: REMOTE_PORTS },
    }];
  }
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: e.namespace, labels }, spec: { ports: REMOTE_PORTS } },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-remote`, namespace: e.namespace, labels: { ...labels, 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'isthmus.io' } },
      addressType: family === 6 ? 'IPv6' : 'IPv4',
      endpoints: [{ addresses: [e.remotePilotAddress], conditions: { ready: true } }],
      ports: [{ name: 'tcp-istiod', port: 15012, protocol: 'TCP' }, { name: 'tcp-webhook', port: 15017, protocol: 'TCP' }],
    },
  ];
}

/** The sidecar injector webhooks; the default revision also answers un-revisioned labels. */
export function injectionWebhook(e: Effective): Manifest {
  const rev = revLabel(e);
  const clientConfig: JsonObject = e.injectionURL !== ''
    ? { url: e.injectionURL }
    : { service: { name: istiodName(e), namespace: e.namespace, path: e.injectionPath, port: 443 } };
  if (e.injectionCABundle !== '') clientConfig['caBundle'] = e.injectionCABundle;
  const common = {
    clientConfig,
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    failurePolicy: 'Fail',
    reinvocationPolicy: 'Never',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
  };
  const notDisabled = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
  const webhooks: JsonObject[] = [
    {
      name: 'rev.namespace.sidecar-injector.istio.io', ...common,
      namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [rev] }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      objectSelector: { matchExpressions: [notDisabled] },
    },
    {
      name: 'rev.object.sidecar-injector.istio.io', ...common,
      namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'DoesNotExist' }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      objectSelector: { matchExpressions: [notDisabled, { key: 'istio.io/rev', operator: 'In', values: [rev] }] },
    },
  ];
  if (e.revision === '') {
    webhooks.push(
      {
        name: 'namespace.sidecar-injector.istio.io', ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [notDisabled] },
      },
      {
        name: 'object.sidecar-injector.istio.io', ...common,
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      },
    );
  }
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: e.revision === '' ? 'istio-sidecar-injector' : `istio-sidecar-injector-${e.revision}`, labels: { app: 'sidecar-injector', 'istio.io/rev': rev, release: 'istio' } },
    webhooks,
  };
}

export function renderPilot(e: Effective): Manifest[] {
  if (!e.pilot) return [];
  const out: Manifest[] = [];
  if (!e.istiodRemote || e.configCluster) out.push(...istiodRbac(e));
  if (e.readerRBAC) out.push(...readerRbac(e));
  if (e.configMap) out.push(meshConfigMap(e));
  if (e.istiodRemote) {
    if (e.remotePilotAddress !== '') out.push(...remoteIstiodService(e));
  } else {
    out.push(istiodDeployment(e), istiodService(e));
  }
  out.push(injectionWebhook(e));
  return out;
}
