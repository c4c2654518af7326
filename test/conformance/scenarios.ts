/**
 * The conformance scenarios, as data. They run in order against the same two clusters and are
 * cumulative: each applies its objects on top of what the earlier ones left, then every simulated
 * proxy connects afresh to istiod and to Isthmus and their answers are compared.
 *
 * Topology (the multi-network guide's): cluster1 on network1 runs both control planes (cluster2 joins
 * through a remote secret); each cluster has `istio-system` labelled with its network, an
 * `istio-eastwestgateway` LoadBalancer Service labelled with the network, Nodes with region/zone
 * labels, `sample/helloworld` (v1 x2 in cluster1, v2 in cluster2) and `sample/sleep`. Addresses are
 * data only: nothing dials them.
 */
import { istio, namespace, node, pod, service, serviceAccount, slice, type KubeObject, type PodSpec, type PortSpec } from './lib/objects.ts';

export type ClusterName = 'cluster1' | 'cluster2';
export type Role = 'sidecar-c1' | 'sidecar-c2' | 'gateway-c1' | 'gateway-c2' | 'grpc-c1' | 'grpc-c2' | 'grpc-server-c1';

export interface ProxySpec {
  readonly role: Role;
  readonly id: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Proxyless gRPC: the listener names it asks for (else: wildcard CDS and LDS, like Envoy). */
  readonly grpcListeners?: readonly string[];
}

export interface Scenario {
  readonly name: string;
  readonly objects: Readonly<Partial<Record<ClusterName, readonly KubeObject[]>>>;
  /** Resource keys (`TYPE/name`) that must be present in both answers on a node before comparing. */
  readonly expect?: Readonly<Partial<Record<Role, readonly string[]>>>;
}

const HW = 'helloworld.sample.svc.cluster.local';
const ISTIO_VERSION = '1.31.0';
const zoneOf = (n: string): string => (n.endsWith('-a') ? 'zone1' : 'zone2');
const region = (c: ClusterName) => (c === 'cluster1' ? 'region1' : 'region2');

const sidecarMeta = (c: ClusterName, net: string, labels: Record<string, string>, ip: string): Record<string, unknown> => ({
  ISTIO_VERSION, CLUSTER_ID: c, NETWORK: net, NAMESPACE: 'sample', LABELS: labels, INTERCEPTION_MODE: 'REDIRECT',
  SERVICE_ACCOUNT: 'sleep', WORKLOAD_NAME: 'sleep', INSTANCE_IPS: ip, PROXY_CONFIG: { discoveryAddress: 'istiod.istio-system.svc:15012' },
});

const routerMeta = (c: ClusterName, net: string, ip: string): Record<string, unknown> => ({
  ISTIO_VERSION, CLUSTER_ID: c, NETWORK: net, NAMESPACE: 'istio-system', ROUTER_MODE: 'sni-dnat', REQUESTED_NETWORK_VIEW: net,
  LABELS: { app: 'istio-eastwestgateway', istio: 'eastwestgateway', 'topology.istio.io/network': net },
  SERVICE_ACCOUNT: 'istio-eastwestgateway', WORKLOAD_NAME: 'istio-eastwestgateway', INSTANCE_IPS: ip, PROXY_CONFIG: {},
});

export const PROXIES: readonly ProxySpec[] = [
  { role: 'sidecar-c1', id: 'sidecar~10.10.1.9~sleep-c1.sample~sample.svc.cluster.local', metadata: sidecarMeta('cluster1', 'network1', { app: 'sleep', 'security.istio.io/tlsMode': 'istio' }, '10.10.1.9') },
  { role: 'sidecar-c2', id: 'sidecar~10.20.1.9~sleep-c2.sample~sample.svc.cluster.local', metadata: sidecarMeta('cluster2', 'network2', { app: 'sleep', 'security.istio.io/tlsMode': 'istio' }, '10.20.1.9') },
  { role: 'gateway-c1', id: 'router~10.10.1.100~istio-eastwestgateway-c1.istio-system~istio-system.svc.cluster.local', metadata: routerMeta('cluster1', 'network1', '10.10.1.100') },
  { role: 'gateway-c2', id: 'router~10.20.1.100~istio-eastwestgateway-c2.istio-system~istio-system.svc.cluster.local', metadata: routerMeta('cluster2', 'network2', '10.20.1.100') },
  {
    role: 'grpc-c1', id: 'sidecar~10.10.1.10~grpc-client.sample~sample.svc.cluster.local',
    metadata: { ISTIO_VERSION, CLUSTER_ID: 'cluster1', NETWORK: 'network1', NAMESPACE: 'sample', GENERATOR: 'grpc', LABELS: { app: 'grpc-client' }, INSTANCE_IPS: '10.10.1.10', PROXY_CONFIG: {} },
    grpcListeners: [`${HW}:5000`],
  },
  {
    role: 'grpc-c2', id: 'sidecar~10.20.1.10~grpc-client.sample~sample.svc.cluster.local',
    metadata: { ISTIO_VERSION, CLUSTER_ID: 'cluster2', NETWORK: 'network2', NAMESPACE: 'sample', GENERATOR: 'grpc', LABELS: { app: 'grpc-client' }, INSTANCE_IPS: '10.20.1.10', PROXY_CONFIG: {} },
    grpcListeners: [`${HW}:5000`],
  },
  {
    // A proxyless gRPC server: helloworld-v1-0's own inbound listener (its mTLS follows PeerAuthentication).
    role: 'grpc-server-c1', id: 'sidecar~10.10.1.5~helloworld-v1-0.sample~sample.svc.cluster.local',
    metadata: {
      ISTIO_VERSION, CLUSTER_ID: 'cluster1', NETWORK: 'network1', NAMESPACE: 'sample', GENERATOR: 'grpc', INSTANCE_IPS: '10.10.1.5', PROXY_CONFIG: {},
      LABELS: { app: 'helloworld', version: 'v1', 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/network': 'network1' },
    },
    grpcListeners: ['xds.istio.io/grpc/lds/inbound/10.10.1.5:5000'],
  },
];

const HW_PORTS: PortSpec[] = [{ name: 'http', port: 5000 }];
const hw = (c: ClusterName, name: string, ip: string, version: string, nodeName: string, ready = true): PodSpec =>
  ({ ns: 'sample', name, ip, node: nodeName, sa: 'helloworld', ready, labels: { app: 'helloworld', version, 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/network': c === 'cluster1' ? 'network1' : 'network2' } });

const C1_HW = [hw('cluster1', 'helloworld-v1-0', '10.10.1.5', 'v1', 'node1-a'), hw('cluster1', 'helloworld-v1-1', '10.10.1.6', 'v1', 'node1-a')];
const C2_HW = [hw('cluster2', 'helloworld-v2-0', '10.20.1.5', 'v2', 'node2-a')];

function base(c: ClusterName): KubeObject[] {
  const net = c === 'cluster1' ? 'network1' : 'network2';
  const p = c === 'cluster1' ? '10.10' : '10.20';
  const lb = c === 'cluster1' ? '198.18.101.1' : '198.18.102.1';
  const sleep: PodSpec = { ns: 'sample', name: `sleep-${c === 'cluster1' ? 'c1' : 'c2'}`, ip: `${p}.1.9`, node: `node${c.slice(-1)}-a`, sa: 'sleep', labels: { app: 'sleep', 'security.istio.io/tlsMode': 'istio' } };
  const gwPod: PodSpec = { ns: 'istio-system', name: `istio-eastwestgateway-${c === 'cluster1' ? 'c1' : 'c2'}`, ip: `${p}.1.100`, node: `node${c.slice(-1)}-b`, sa: 'istio-eastwestgateway', labels: { app: 'istio-eastwestgateway', istio: 'eastwestgateway', 'topology.istio.io/network': net } };
  const gwPorts: PortSpec[] = [{ name: 'status-port', port: 15021 }, { name: 'tls', port: 15443 }];
  const hwPods = c === 'cluster1' ? C1_HW : C2_HW;
  return [
    namespace('istio-system', { 'topology.istio.io/network': net }),
    namespace('sample'),
    node(`node${c.slice(-1)}-a`, region(c), 'zone1'), node(`node${c.slice(-1)}-b`, region(c), 'zone2'),
    serviceAccount('sample', 'helloworld'), serviceAccount('sample', 'sleep'), serviceAccount('istio-system', 'istio-eastwestgateway'),
    service('sample', 'helloworld', HW_PORTS),
    service('sample', 'sleep', [{ name: 'http', port: 80 }]),
    service('istio-system', 'istio-eastwestgateway', gwPorts, { selector: { istio: 'eastwestgateway' }, labels: { istio: 'eastwestgateway', 'topology.istio.io/network': net }, lbIp: lb }),
    ...hwPods.map(pod), pod(sleep), pod(gwPod),
    slice('helloworld', `helloworld-${c}`, hwPods, HW_PORTS, zoneOf),
    slice('sleep', `sleep-${c}`, [sleep], [{ name: 'http', port: 80 }], zoneOf),
    slice('istio-eastwestgateway', `istio-eastwestgateway-${c}`, [gwPod], gwPorts, zoneOf),
  ];
}

const crossNetworkGateway = istio('Gateway', 'istio-system', 'cross-network-gateway', {
  selector: { istio: 'eastwestgateway' },
  servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }],
});

const onlyRemotePod: PodSpec = { ns: 'sample', name: 'remote-only-0', ip: '10.20.1.7', node: 'node2-a', sa: 'default', labels: { app: 'remote-only', 'security.istio.io/tlsMode': 'istio' } };
const tcpPod: PodSpec = { ns: 'sample', name: 'tcp-echo-0', ip: '10.10.1.11', node: 'node1-b', sa: 'default', labels: { app: 'tcp-echo', 'security.istio.io/tlsMode': 'istio' } };
const hlPod: PodSpec = { ns: 'sample', name: 'hl-0', ip: '10.10.1.12', node: 'node1-a', sa: 'default', labels: { app: 'hl', 'security.istio.io/tlsMode': 'istio' } };
const privatePod: PodSpec = { ns: 'other', name: 'private-0', ip: '10.10.1.13', node: 'node1-a', sa: 'default', labels: { app: 'private', 'security.istio.io/tlsMode': 'istio' } };

const ECHO = 'echo.sample.svc.cluster.local';
const ECHO_PORTS: PortSpec[] = [{ name: 'http', port: 8090 }];
const echoPod = (name: string, ip: string, nodeName: string): PodSpec => ({ ns: 'sample', name, ip, node: nodeName, sa: 'default', labels: { app: 'echo', 'security.istio.io/tlsMode': 'istio' } });
const C1_ECHO = [echoPod('echo-a', '10.10.1.20', 'node1-a'), echoPod('echo-b', '10.10.1.21', 'node1-b')];
const C2_ECHO = [echoPod('echo-c', '10.20.1.20', 'node2-a'), echoPod('echo-d', '10.20.1.21', 'node2-c')];
const echoZone = (n: string): string => (n === 'node2-c' ? 'zone1' : zoneOf(n));
const OUTLIERS = { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s' };
const LOCALITY_RULES = [
  // Failover region1 -> region3 (before region2); a subset ranks endpoints by network, region and zone.
  istio('DestinationRule', 'sample', 'echo', {
    host: ECHO,
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, outlierDetection: OUTLIERS, loadBalancer: { simple: 'ROUND_ROBIN', localityLbSetting: { enabled: true, failover: [{ from: 'region1', to: 'region3' }] } } },
    subsets: [{
      name: 'all', labels: { app: 'echo' },
      trafficPolicy: { loadBalancer: { localityLbSetting: { failoverPriority: ['topology.istio.io/network', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone'] } } },
    }],
  }),
  // Proxies in region1 send 80% to region1 and 20% to region2 (no outlier detection needed).
  istio('DestinationRule', 'sample', 'sleep', {
    host: 'sleep.sample.svc.cluster.local',
    trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' }, loadBalancer: { localityLbSetting: { distribute: [{ from: 'region1/*', to: { 'region1/*': 80, 'region2/*': 20 } }] } } },
  }),
];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'two-network topology',
    objects: { cluster1: [...base('cluster1'), crossNetworkGateway], cluster2: base('cluster2') },
    expect: { 'sidecar-c1': [`CDS/outbound|5000||${HW}`], 'gateway-c2': [`CDS/outbound_.5000_._.${HW}`] },
  },
  {
    name: 'DestinationRule subsets',
    objects: { cluster1: [istio('DestinationRule', 'sample', 'helloworld', { host: HW, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] })] },
    expect: { 'sidecar-c1': [`CDS/outbound|5000|v2|${HW}`], 'gateway-c1': [`CDS/outbound_.5000_.v1_.${HW}`] },
  },
  {
    name: 'not-ready endpoint',
    objects: { cluster1: [pod({ ...C1_HW[1] as PodSpec, ready: false }), slice('helloworld', 'helloworld-cluster1', [C1_HW[0] as PodSpec, { ...C1_HW[1] as PodSpec, ready: false }], HW_PORTS, zoneOf)] },
  },
  {
    name: 'service only in the remote cluster',
    objects: { cluster2: [service('sample', 'remote-only', [{ name: 'http', port: 8080 }]), pod(onlyRemotePod), slice('remote-only', 'remote-only-0', [onlyRemotePod], [{ name: 'http', port: 8080 }], zoneOf)] },
    expect: { 'sidecar-c1': ['CDS/outbound|8080||remote-only.sample.svc.cluster.local'] },
  },
  {
    name: 'unprefixed TCP port',
    objects: { cluster1: [service('sample', 'tcp-echo', [{ name: 'web', port: 9001 }]), pod(tcpPod), slice('tcp-echo', 'tcp-echo-0', [tcpPod], [{ name: 'web', port: 9001 }], zoneOf)] },
    expect: { 'sidecar-c1': ['CDS/outbound|9001||tcp-echo.sample.svc.cluster.local'] },
  },
  {
    name: 'headless service',
    objects: { cluster1: [service('sample', 'hl', [{ name: 'http', port: 8081 }], { headless: true }), pod(hlPod), slice('hl', 'hl-0', [hlPod], [{ name: 'http', port: 8081 }], zoneOf)] },
    expect: { 'sidecar-c1': ['CDS/outbound|8081||hl.sample.svc.cluster.local'] },
  },
  {
    name: 'exportTo namespace-private service',
    objects: {
      cluster1: [namespace('other'), service('other', 'private', [{ name: 'http', port: 8000 }], { annotations: { 'networking.istio.io/exportTo': '.' } }), pod(privatePod), slice('private', 'private-0', [privatePod], [{ name: 'http', port: 8000 }], zoneOf)],
    },
  },
  {
    name: 'VirtualService split with retries',
    objects: {
      cluster1: [istio('VirtualService', 'sample', 'helloworld', {
        hosts: [HW],
        http: [{ route: [{ destination: { host: HW, subset: 'v1' }, weight: 80 }, { destination: { host: HW, subset: 'v2' }, weight: 20 }], retries: { attempts: 3, perTryTimeout: '2s' }, timeout: '5s' }],
      })],
    },
  },
  {
    name: 'mesh-wide STRICT mTLS',
    objects: { cluster1: [istio('PeerAuthentication', 'istio-system', 'default', { mtls: { mode: 'STRICT' } })] },
  },
  {
    name: 'Sidecar egress scope',
    objects: { cluster1: [istio('Sidecar', 'sample', 'default', { egress: [{ hosts: ['./*', 'istio-system/*'] }] })] },
  },
  {
    name: 'DestinationRule traffic policy',
    objects: {
      cluster1: [istio('DestinationRule', 'sample', 'helloworld', {
        host: HW,
        trafficPolicy: {
          loadBalancer: { simple: 'ROUND_ROBIN' },
          connectionPool: { tcp: { maxConnections: 100, connectTimeout: '3s' }, http: { http1MaxPendingRequests: 10, http2MaxRequests: 200, maxRetries: 4, idleTimeout: '30s', maxRequestsPerConnection: 5 } },
          outlierDetection: { consecutive5xxErrors: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
          tls: { mode: 'ISTIO_MUTUAL' },
          portLevelSettings: [{ port: { number: 5000 }, loadBalancer: { simple: 'LEAST_REQUEST' }, connectionPool: { tcp: { maxConnections: 50 } }, tls: { mode: 'ISTIO_MUTUAL' } }],
        },
        subsets: [
          { name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' }, outlierDetection: { consecutiveGatewayErrors: 3, minHealthPercent: 20 } } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      })],
    },
  },
  {
    // sleep declares port 80 only: 9090 and 9091 reach it through the passthrough chains.
    name: 'workload STRICT, port-level mTLS on undeclared ports',
    objects: {
      cluster1: [istio('PeerAuthentication', 'sample', 'sleep', {
        selector: { matchLabels: { app: 'sleep' } }, mtls: { mode: 'STRICT' },
        portLevelMtls: { 9090: { mode: 'PERMISSIVE' }, 9091: { mode: 'DISABLE' }, 80: { mode: 'PERMISSIVE' } },
      })],
    },
  },
  {
    // DISABLE also turns off istiod's outbound mTLS to the namespace (a known gap, see accepted-differences.ts).
    name: 'namespace DISABLE mTLS',
    objects: { cluster1: [istio('PeerAuthentication', 'sample', 'default', { mtls: { mode: 'DISABLE' } })] },
  },
  {
    // A Node's topology labels change: Isthmus moves the endpoints of its pods at once, istiod only at
    // their service's next endpoint change (accepted, scenario-scoped).
    name: 'Node relabelled to another region and zone',
    objects: { cluster1: [node('node1-a', 'region3', 'zone3')] },
  },
  {
    // Locality load balancing. node1-a goes back to region1/zone1 (where istiod still has its pods'
    // endpoints), so the proxies are in four places: sleep-c1 region1/zone1, gateway-c1 region1/zone2,
    // sleep-c2 region2/zone1, gateway-c2 region2/zone2. echo runs in four localities across both
    // networks (region3 through a new node in cluster2). `sample` DISABLEs mTLS (an earlier scenario):
    // the rules say ISTIO_MUTUAL so the remote network's endpoints stay reachable through the gateways.
    name: 'DestinationRule locality failover, failoverPriority and distribute',
    objects: {
      cluster1: [node('node1-a', 'region1', 'zone1'), service('sample', 'echo', ECHO_PORTS), ...C1_ECHO.map(pod), slice('echo', 'echo-cluster1', C1_ECHO, ECHO_PORTS, echoZone), ...LOCALITY_RULES],
      cluster2: [node('node2-c', 'region3', 'zone1'), service('sample', 'echo', ECHO_PORTS), ...C2_ECHO.map(pod), slice('echo', 'echo-cluster2', C2_ECHO, ECHO_PORTS, echoZone)],
    },
    expect: { 'sidecar-c1': [`CDS/outbound|8090|all|${ECHO}`, `EDS/outbound|8090||${ECHO}`], 'sidecar-c2': [`CDS/outbound|8090|all|${ECHO}`], 'gateway-c1': [`CDS/outbound_.8090_._.${ECHO}`] },
  },
];
