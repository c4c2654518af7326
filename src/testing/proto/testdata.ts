/**
 * Realistic messages for the codec tests, shaped like what istiod sends a sidecar for
 * `reviews.default` in cluster1. No value holds an empty list or map, so decode(encode(x)) must
 * deep-equal x.
 */
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL,
} from '../../model/type-urls.ts';
import {
  clusterCodec, httpConnectionManagerCodec, packAny, routerCodec, upstreamTlsContextCodec,
} from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { structFromJson, timestampFromDate } from '../../proto/wkt.ts';

const ADS: T.ConfigSource = { ads: {}, resourceApiVersion: 'V3' };
const SDS: T.ConfigSource = {
  apiConfigSource: {
    apiType: 'GRPC',
    transportApiVersion: 'V3',
    grpcServices: [{ envoyGrpc: { clusterName: 'sds-grpc' } }],
    setNodeOnFirstMessageOnly: true,
  },
  resourceApiVersion: 'V3',
};
const HOST = 'reviews.default.svc.cluster.local';
const CLUSTER_NAME = `outbound|9080||${HOST}`;

export const hcm: T.HttpConnectionManager = {
  statPrefix: 'outbound_0.0.0.0_9080',
  rds: { configSource: { ...ADS, initialFetchTimeout: {} }, routeConfigName: '9080' },
  httpFilters: [
    { name: 'envoy.filters.http.router', typedConfig: packAny(routerCodec, {}) },
  ],
  useRemoteAddress: { value: true },
  streamIdleTimeout: {},
  forwardClientCertDetails: 'APPEND_FORWARD',
  setCurrentClientCertDetails: { subject: { value: true }, dns: true, uri: true },
  upgradeConfigs: [{ upgradeType: 'websocket' }],
  normalizePath: { value: true },
  pathWithEscapedSlashesAction: 'KEEP_UNCHANGED',
};

export const listener: T.Listener = {
  name: '0.0.0.0_9080',
  address: { socketAddress: { address: '0.0.0.0', portValue: 9080 } },
  trafficDirection: 'OUTBOUND',
  filterChains: [{
    filterChainMatch: { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'], sourcePorts: [80, 443] },
    filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: packAny(httpConnectionManagerCodec, hcm) }],
    name: '0.0.0.0_9080',
  }],
  listenerFilters: [{ name: 'envoy.filters.listener.proxy_protocol', typedConfig: { typeUrl: 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } }],
  listenerFiltersTimeout: { seconds: '5' },
  continueOnListenerFiltersTimeout: true,
  bindToPort: { value: true },
  metadata: { filterMetadata: { istio: structFromJson({ config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' }) } },
};

export const routeConfiguration: T.RouteConfiguration = {
  name: '9080',
  validateClusters: {},
  ignorePortInHostMatching: true,
  virtualHosts: [{
    name: `${HOST}:9080`,
    domains: [HOST, 'reviews', 'reviews.default', '10.96.0.42'],
    routes: [
      {
        name: 'v2-for-jason',
        match: { prefix: '/', caseSensitive: { value: true }, headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] },
        route: {
          cluster: `outbound|9080|v2|${HOST}`,
          timeout: {},
          retryPolicy: { retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes', numRetries: { value: 2 }, hostSelectionRetryMaxAttempts: '5', retriableStatusCodes: [503] },
          maxGrpcTimeout: {},
        },
        decorator: { operation: `${HOST}:9080/*` },
      },
      {
        name: 'default',
        match: { prefix: '/' },
        route: {
          weightedClusters: { clusters: [{ name: `outbound|9080|v1|${HOST}`, weight: { value: 80 } }, { name: `outbound|9080|v3|${HOST}`, weight: { value: 20 } }] },
          hashPolicy: [{ header: { headerName: 'x-user' } }],
        },
        requestHeadersToAdd: [{ header: { key: 'x-mesh', value: 'isthmus' }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      },
    ],
    includeRequestAttemptCount: true,
  }],
};

export const upstreamTls: T.UpstreamTlsContext = {
  commonTlsContext: {
    tlsParams: { tlsMinimumProtocolVersion: 'TLSv1_2', tlsMaximumProtocolVersion: 'TLSv1_3' },
    tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: SDS }],
    combinedValidationContext: {
      defaultValidationContext: {
        matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' } }],
      },
      validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: SDS },
    },
    alpnProtocols: ['istio-peer-exchange', 'istio'],
  },
  sni: `outbound_.9080_._.${HOST}`,
};

export const cluster: T.Cluster = {
  name: CLUSTER_NAME,
  type: 'EDS',
  edsClusterConfig: { edsConfig: { ...ADS, initialFetchTimeout: {} }, serviceName: CLUSTER_NAME },
  connectTimeout: { seconds: '10' },
  lbPolicy: 'LEAST_REQUEST',
  circuitBreakers: {
    thresholds: [{ maxConnections: { value: 4294967295 }, maxPendingRequests: { value: 4294967295 }, maxRequests: { value: 4294967295 }, maxRetries: { value: 4294967295 }, trackRemaining: true }],
  },
  outlierDetection: { consecutive_5xx: { value: 5 }, interval: { seconds: '10' }, baseEjectionTime: { seconds: '30' } },
  commonLbConfig: { localityWeightedLbConfig: {} },
  transportSocketMatches: [{
    name: 'tlsMode-istio',
    match: structFromJson({ tlsMode: 'istio' }),
    transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: packAny(upstreamTlsContextCodec, upstreamTls) },
  }],
  transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: packAny(upstreamTlsContextCodec, upstreamTls) },
  metadata: {
    filterMetadata: {
      istio: structFromJson({ services: [{ host: HOST, name: 'reviews', namespace: 'default' }], default_original_port: 9080 }),
    },
  },
};

function endpoint(ip: string, health: T.HealthStatus, workload: string, weight: number): T.LbEndpoint {
  return {
    endpoint: { address: { socketAddress: { address: ip, portValue: 9080 } } },
    healthStatus: health,
    metadata: {
      filterMetadata: {
        'envoy.transport_socket_match': structFromJson({ tlsMode: 'istio' }),
        istio: structFromJson({ workload }),
      },
    },
    loadBalancingWeight: { value: weight },
  };
}

export const clusterLoadAssignment: T.ClusterLoadAssignment = {
  clusterName: CLUSTER_NAME,
  endpoints: [
    {
      locality: { region: 'us-east1', zone: 'us-east1-b', subZone: 'rack1' },
      lbEndpoints: [endpoint('10.0.0.5', 'HEALTHY', 'reviews-v1;default;reviews;v1;cluster1', 1)],
      loadBalancingWeight: { value: 1 },
    },
    {
      locality: { region: 'us-west1', zone: 'us-west1-a' },
      lbEndpoints: [
        endpoint('192.168.7.9', 'HEALTHY', 'reviews-v2;default;reviews;v2;cluster2', 3),
        endpoint('192.168.7.10', 'DRAINING', 'reviews-v3;default;reviews;v3;cluster2', 1),
      ],
      loadBalancingWeight: { value: 4 },
      priority: 1,
    },
  ],
  policy: { overprovisioningFactor: { value: 140 } },
};

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIQ\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n';

export const secret: T.Secret = {
  name: 'default',
  tlsCertificate: {
    certificateChain: { inlineBytes: new TextEncoder().encode(CERT) },
    privateKey: { inlineBytes: new TextEncoder().encode(KEY) },
  },
};

export const rootSecret: T.Secret = {
  name: 'ROOTCA',
  validationContext: { trustedCa: { inlineBytes: new TextEncoder().encode(CERT) } },
};

export const node: T.Node = {
  id: 'sidecar~10.0.0.5~reviews-v1-6c7b9d5f4-abcde.default~default.svc.cluster.local',
  cluster: 'reviews.default',
  metadata: structFromJson({
    CLUSTER_ID: 'cluster1',
    NETWORK: 'network1',
    NAMESPACE: 'default',
    ISTIO_VERSION: '1.24.2',
    INTERCEPTION_MODE: 'REDIRECT',
    LABELS: { app: 'reviews', version: 'v1' },
    PROXY_CONFIG: { discoveryAddress: 'istiod.istio-system.svc:15012', concurrency: 2, holdApplicationUntilProxyStarts: false },
    APP_CONTAINERS: ['reviews'],
    NOTHING: null,
    ZERO: 0,
    EMPTY: '',
  }),
  locality: { region: 'us-east1', zone: 'us-east1-b' },
  userAgentName: 'envoy',
  userAgentBuildVersion: { version: { majorNumber: 1, minorNumber: 32, patch: 3 }, metadata: structFromJson({ 'build.type': 'RELEASE', 'ssl.version': 'BoringSSL' }) },
  extensions: [{ name: 'envoy.filters.http.router', category: 'envoy.filters.http', typeUrls: ['envoy.extensions.filters.http.router.v3.Router'] }],
  clientFeatures: ['envoy.lb.does_not_support_overprovisioning', 'envoy.lrs.supports_send_all_clusters'],
};

export const discoveryRequest: T.DiscoveryRequest = {
  versionInfo: '2025-11-24T12:00:00Z/7',
  node,
  resourceNames: [CLUSTER_NAME],
  typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  responseNonce: 'b3f1c2a4-8e6d-4f7a-9c0b-1d2e3f4a5b6c',
  errorDetail: {
    code: 13,
    message: 'Proto constraint validation failed (ClusterLoadAssignmentValidationError.Endpoints[0])',
    details: [{ typeUrl: 'type.googleapis.com/google.rpc.DebugInfo', value: new Uint8Array([0x12, 0x03, 0x61, 0x62, 0x63]) }],
  },
};

export const discoveryResponse: T.DiscoveryResponse = {
  versionInfo: '2025-11-24T12:00:00Z/8',
  resources: [packAny(clusterCodec, cluster)],
  canary: true,
  typeUrl: CLUSTER_TYPE_URL,
  nonce: 'c9d8e7f6',
  controlPlane: { identifier: '{"Component":"istiod","ID":"isthmus-0","Info":{"version":"0.1.0"}}' },
};

export const deltaDiscoveryRequest: T.DeltaDiscoveryRequest = {
  node: { id: node.id ?? '', cluster: 'reviews.default' },
  typeUrl: CLUSTER_TYPE_URL,
  resourceNamesSubscribe: ['*', CLUSTER_NAME],
  resourceNamesUnsubscribe: [`outbound|9080|v9|${HOST}`],
  resourceLocatorsSubscribe: [{ name: 'xdstp://example/x', dynamicParameters: { shard: '3' } }],
  initialResourceVersions: { [CLUSTER_NAME]: 'v7', 'BlackHoleCluster': 'v1' },
  responseNonce: '17',
  errorDetail: { code: 3, message: 'bad cluster' },
};

export const deltaDiscoveryResponse: T.DeltaDiscoveryResponse = {
  systemVersionInfo: '2025-11-24T12:00:00Z/8',
  resources: [{
    name: CLUSTER_NAME,
    version: 'v8',
    aliases: ['reviews'],
    resource: packAny(clusterCodec, cluster),
    ttl: { seconds: '30', nanos: 500000000 },
    cacheControl: { doNotCache: true },
  }],
  typeUrl: CLUSTER_TYPE_URL,
  removedResources: [`outbound|9080|v9|${HOST}`],
  removedResourceNames: [{ name: `outbound|9080|v8|${HOST}` }],
  nonce: '18',
  controlPlane: { identifier: 'isthmus-0' },
};

const when = timestampFromDate(new Date('2025-11-24T12:00:00.123Z'));

export const clientConfig: T.ClientConfig = {
  node: { id: 'reviews-v1-6c7b9d5f4-abcde.default', metadata: structFromJson({ CLUSTER_ID: 'cluster1', NAMESPACE: 'default', ISTIO_VERSION: '1.24.2' }) },
  genericXdsConfigs: [
    { typeUrl: CLUSTER_TYPE_URL, name: CLUSTER_NAME, versionInfo: 'v8', xdsConfig: packAny(clusterCodec, cluster), lastUpdated: when, configStatus: 'SYNCED', clientStatus: 'ACKED' },
    {
      typeUrl: LISTENER_TYPE_URL,
      name: '0.0.0.0_9080',
      versionInfo: 'v7',
      lastUpdated: when,
      configStatus: 'ERROR',
      clientStatus: 'NACKED',
      errorState: { lastUpdateAttempt: when, details: 'duplicate listener 0.0.0.0_9080', versionInfo: 'v8' },
    },
    { typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, name: CLUSTER_NAME, configStatus: 'NOT_SENT', clientStatus: 'REQUESTED' },
    { typeUrl: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret', name: 'default', configStatus: 'STALE', isStaticResource: true },
  ],
  clientScope: 'xds',
};

export const certificateRequest: T.IstioCertificateRequest = {
  csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIHUMHwCAQAwGjEYMBYGA1UEChMP\n-----END CERTIFICATE REQUEST-----\n',
  validityDuration: '86400',
  metadata: structFromJson({ CertSigner: 'istio-system/signer', ImpersonatedIdentity: 'spiffe://cluster.local/ns/default/sa/reviews' }),
};

export const certificateResponse: T.IstioCertificateResponse = {
  certChain: [CERT, CERT.replace('IQ', 'IR'), CERT.replace('IQ', 'IS')],
};
