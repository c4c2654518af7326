/**
 * The part of IstioOperator (`install.istio.io/v1alpha1`) that Isthmus understands. Anything else
 * is an error naming its path, so a typo never silently installs something other than intended.
 * Field names follow Istio's IstioOperator API and the istiod / gateway chart values.
 */
import { isIP } from 'node:net';
import { any, arr, bool, int, intOrString, map, obj, scalar, str, unsupported, type Check, type Schema } from './schema.ts';

export const PROFILES = ['default', 'remote', 'minimal', 'empty'] as const;
export type ProfileName = (typeof PROFILES)[number];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export const dnsLabel: Check = (v) => (DNS_LABEL.test(v) ? undefined : `must be a DNS-1123 label (lower-case letters, digits and '-', at most 63), got ${JSON.stringify(v)}`);
export const labelValue: Check = (v) => (LABEL_VALUE.test(v) && v.length <= 63 ? undefined : `must be a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric), got ${JSON.stringify(v)}`);
const nonEmpty: Check = (v) => (v.trim() === '' ? 'must not be empty' : undefined);
const envName: Check = (v) => (ENV_NAME.test(v) ? undefined : `is not a valid environment variable name: ${JSON.stringify(v)}`);

const labelKey: Check = (k) => {
  const slash = k.lastIndexOf('/');
  const name = slash < 0 ? k : k.slice(slash + 1);
  const prefix = slash < 0 ? '' : k.slice(0, slash);
  if (!/^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$/.test(name) || (slash >= 0 && !DNS_SUBDOMAIN.test(prefix))) return `is not a valid label key: ${JSON.stringify(k)}`;
  return undefined;
};

const hostOrIp: Check = (v) => {
  if (isIP(v) !== 0) return undefined;
  return DNS_SUBDOMAIN.test(v) && v.length <= 253 ? undefined : `must be an IP address or a DNS name, got ${JSON.stringify(v)}`;
};

const injectionPath: Check = (v) => {
  if (!v.startsWith('/inject')) return `must start with /inject, got ${JSON.stringify(v)}`;
  if (v.includes(':')) return `must not use the deprecated ":ENV:" form (the API server rejects it in service.path); use /inject/cluster/<c>/net/<n>, got ${JSON.stringify(v)}`;
  if (/\s/.test(v)) return 'must not contain white space';
  return undefined;
};

const httpsUrl: Check = (v) => {
  let u: URL;
  try { u = new URL(v); } catch { return `must be an https:// URL, got ${JSON.stringify(v)}`; }
  return u.protocol === 'https:' ? undefined : `must be an https:// URL (the API server calls webhooks over TLS), got ${JSON.stringify(v)}`;
};

const labels = map(str({ check: labelValue }), labelKey);
const port = int(1, 65535);

const servicePort = obj({
  name: str({ check: nonEmpty }),
  port,
  targetPort: intOrString,
  protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }),
  nodePort: int(30000, 32767),
  appProtocol: str(),
});

const envVar = obj({ name: str({ check: envName }), value: scalar, valueFrom: any });

const k8s = obj({
  env: arr(envVar),
  replicaCount: int(0),
  resources: any,
  nodeSelector: map(str()),
  affinity: any,
  tolerations: arr(any),
  podAnnotations: map(str()),
  serviceAnnotations: map(str()),
  imagePullPolicy: str({ enum: ['Always', 'IfNotPresent', 'Never'] }),
  priorityClassName: str(),
  securityContext: any,
  service: obj({
    type: str({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }),
    ports: arr(servicePort),
    loadBalancerIP: str({ check: hostOrIp }),
    externalTrafficPolicy: str({ enum: ['Cluster', 'Local'] }),
    loadBalancerSourceRanges: arr(str()),
  }),
  overlays: unsupported('k8s overlays (JSON-path patches of rendered objects)'),
  hpaSpec: unsupported('autoscaling is not rendered'),
  podDisruptionBudget: unsupported('pod disruption budgets are not rendered'),
});

const component = obj({ enabled: bool, namespace: str({ check: dnsLabel }), hub: str({ check: nonEmpty }), tag: scalar, label: labels, k8s });

const gateway = obj({
  name: str({ check: dnsLabel }),
  namespace: str({ check: dnsLabel }),
  enabled: bool,
  label: labels,
  hub: str({ check: nonEmpty }),
  tag: scalar,
  k8s,
});

const proxyConfig = obj({
  discoveryAddress: str({ check: nonEmpty }),
  proxyMetadata: map(str()),
  meshId: str(),
  holdApplicationUntilProxyStarts: bool,
  concurrency: int(0),
  tracing: any,
  terminationDrainDuration: str(),
  proxyStatsMatcher: any,
  image: any,
  drainDuration: str(),
  statusPort: port,
});

const meshConfig = obj({
  defaultConfig: proxyConfig,
  trustDomain: str({ check: nonEmpty }),
  trustDomainAliases: arr(str()),
  rootNamespace: str({ check: dnsLabel }),
  accessLogFile: str(),
  accessLogEncoding: str({ enum: ['TEXT', 'JSON'] }),
  accessLogFormat: str(),
  enableTracing: bool,
  enableAutoMtls: bool,
  enablePrometheusMerge: bool,
  outboundTrafficPolicy: obj({ mode: str({ enum: ['ALLOW_ANY', 'REGISTRY_ONLY'] }) }),
  localityLbSetting: any,
  extensionProviders: arr(any),
  defaultProviders: any,
  connectTimeout: str(),
  protocolDetectionTimeout: str(),
  ingressClass: str(),
  ingressService: str(),
  ingressControllerMode: str({ enum: ['UNSPECIFIED', 'OFF', 'DEFAULT', 'STRICT'] }),
  defaultServiceExportTo: arr(str()),
  defaultVirtualServiceExportTo: arr(str()),
  defaultDestinationRuleExportTo: arr(str()),
  serviceSettings: arr(any),
  discoverySelectors: arr(any),
  meshMTLS: any,
  tlsDefaults: any,
});

const values = obj({
  profile: str({ enum: PROFILES }),
  revision: str(),
  global: obj({
    hub: str({ check: nonEmpty }),
    tag: scalar,
    imagePullPolicy: str({ enum: ['Always', 'IfNotPresent', 'Never'] }),
    meshID: str({ check: labelValue }),
    network: str({ check: labelValue }),
    multiCluster: obj({ clusterName: str({ check: labelValue }), enabled: bool }),
    remotePilotAddress: str({ check: hostOrIp }),
    istioNamespace: str({ check: dnsLabel }),
    externalIstiod: bool,
    configCluster: bool,
    caAddress: str({ check: nonEmpty }),
    pilotCertProvider: str({ enum: ['istiod'] }),
    meshNetworks: any,
    logging: obj({ level: str() }),
    proxy: any,
    omitSidecarInjectorConfigMap: bool,
    operatorManageWebhooks: bool,
    enableReaderRBAC: bool,
    readerServiceAccount: str({ check: dnsLabel }),
    jwtPolicy: str({ enum: ['third-party-jwt'] }),
    trustBundleName: str({ check: dnsLabel }),
  }),
  pilot: obj({
    enabled: bool,
    env: map(scalar, envName),
    replicaCount: int(0),
    resources: any,
    image: str({ check: nonEmpty }),
    configMap: bool,
    nodeSelector: map(str()),
    podAnnotations: map(str()),
    tolerations: arr(any),
    autoscaleEnabled: bool,
    traceSampling: any,
  }),
  istiodRemote: obj({
    enabled: bool,
    injectionPath: str({ check: injectionPath }),
    injectionURL: str({ check: httpsUrl }),
    injectionCABundle: str(),
    enabledLocalInjectorIstiod: unsupported('the hybrid local-injector mode (istiod-remote Service) is not rendered'),
  }),
  gateways: map(any),
  base: obj({ validationURL: str({ check: httpsUrl }), enableIstioConfigCRDs: bool }),
  sidecarInjectorWebhook: any,
  telemetry: obj({ enabled: bool }),
  meshConfig: unsupported('set spec.meshConfig instead of spec.values.meshConfig'),
});

export const iopSpecSchema: Schema = obj({
  profile: str({ enum: PROFILES }),
  revision: str({ check: (v) => (v === '' ? undefined : dnsLabel(v)) }),
  namespace: str({ check: dnsLabel }),
  hub: str({ check: nonEmpty }),
  tag: scalar,
  meshConfig,
  values,
  components: obj({
    base: component,
    pilot: component,
    ingressGateways: arr(gateway),
    egressGateways: unsupported('egress gateways are not rendered'),
    cni: unsupported('the CNI node agent is not rendered'),
    ztunnel: unsupported('ambient mode is not rendered'),
    istiodRemote: component,
  }),
  installPackagePath: unsupported('charts are built in'),
});

export const iopSchema: Schema = obj({
  apiVersion: str({ enum: ['install.istio.io/v1alpha1'] }),
  kind: str({ enum: ['IstioOperator'] }),
  metadata: obj({ name: str({ check: dnsLabel }), namespace: str({ check: dnsLabel }), labels, annotations: map(str()), creationTimestamp: any }),
  spec: iopSpecSchema,
  status: any,
});
