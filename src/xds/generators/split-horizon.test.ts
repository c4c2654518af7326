/**
 * Split-horizon EDS, table-driven. Expectations are computed by hand from docs/istio-compat.md §9.2/docs/istio-compat.md §9.3,
 * not copied from output.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Locality } from '../../model/endpoint.ts';
import { networkId, type NetworkGateway } from '../../model/network.ts';
import type * as T from '../../proto/types.ts';
import { buildLocalityEndpoints, gatewayWeightScale, type ClusterEndpoint, type SplitHorizonProxy } from './split-horizon.ts';
import { ep, gw, svc } from '../../testing/mesh/builders.ts';

const S = svc({ name: 'helloworld', namespace: 'sample', ports: [[5000, 'HTTP']] });

function cep(address: string, network: string, cluster: string, extra: { tlsMode?: 'istio' | 'disabled'; healthy?: boolean; locality?: Locality } = {}): ClusterEndpoint {
  return { endpoint: ep({ service: S, address, network, cluster, ...extra }), port: 5000, workload: `w;sample;helloworld;latest;${cluster}` };
}

function sidecar(network: string, view = ''): SplitHorizonProxy {
  return { network: networkId(network), requestedNetworkView: view === '' ? [] : view.split(',').map(networkId), ipFamily: 4 };
}

/** `address:port=weight` per endpoint, per locality group; and the locality weights. */
function summary(groups: readonly T.LocalityLbEndpoints[]): { endpoints: string[][]; localityWeights: number[] } {
  return {
    endpoints: groups.map((g) => (g.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address}:${e.endpoint?.address?.socketAddress?.portValue}=${e.loadBalancingWeight?.value}`)),
    localityWeights: groups.map((g) => g.loadBalancingWeight?.value ?? 0),
  };
}

const gwB = gw('network2', '198.51.100.2', 'cluster2');
const gwC1 = gw('network3', '203.0.113.31', 'cluster3');
const gwC2 = gw('network3', '203.0.113.32', 'cluster3');

interface Case {
  name: string;
  proxy: SplitHorizonProxy;
  endpoints: ClusterEndpoint[];
  gateways: NetworkGateway[];
  mtlsOnly?: boolean;
  want: { endpoints: string[][]; localityWeights: number[] };
}

const cases: Case[] = [
  {
    // docs/istio-compat.md §9.3: groups {1 (network2), 2 (network3)} -> lcm 2; locals 1x2; network2: 3 x 2 / 1 gateway = 6;
    // network3: 1 x 2 / 2 gateways = 1 each; locality weight 2+2+6+1+1 = 12.
    name: 'worked example docs/istio-compat.md §9.3',
    proxy: sidecar('network1'),
    endpoints: [
      cep('10.1.0.1', 'network1', 'cluster1'), cep('10.1.0.2', 'network1', 'cluster1'),
      cep('10.2.0.1', 'network2', 'cluster2'), cep('10.2.0.2', 'network2', 'cluster2'), cep('10.2.0.3', 'network2', 'cluster2'),
      cep('10.3.0.1', 'network3', 'cluster3'),
    ],
    gateways: [gwB, gwC1, gwC2],
    want: {
      endpoints: [['10.1.0.1:5000=2', '10.1.0.2:5000=2', '198.51.100.2:15443=6', '203.0.113.31:15443=1', '203.0.113.32:15443=1']],
      localityWeights: [12],
    },
  },
  {
    name: 'no gateways anywhere: every endpoint raw, weight 1',
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1'), cep('10.2.0.1', 'network2', 'cluster2')],
    gateways: [],
    want: { endpoints: [['10.1.0.1:5000=1', '10.2.0.1:5000=1']], localityWeights: [2] },
  },
  {
    name: 'non-mTLS endpoint on another network is dropped, local plaintext kept',
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1', { tlsMode: 'disabled' }), cep('10.2.0.1', 'network2', 'cluster2', { tlsMode: 'disabled' })],
    gateways: [gwB],
    want: { endpoints: [['10.1.0.1:5000=1']], localityWeights: [1] },
  },
  {
    name: 'network without gateway: endpoint kept raw',
    proxy: sidecar('network1'),
    endpoints: [cep('10.4.0.1', 'network4', 'cluster4')],
    gateways: [gwB],
    want: { endpoints: [['10.4.0.1:5000=1']], localityWeights: [1] },
  },
  {
    // e/w gateway of network2 (REQUESTED_NETWORK_VIEW=network2): only network2 pods, never other gateways.
    name: 'network view = own network: remote networks invisible',
    proxy: sidecar('network2', 'network2'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1'), cep('10.2.0.1', 'network2', 'cluster2')],
    gateways: [gwB, gw('network1', '192.0.2.1', 'cluster1')],
    want: { endpoints: [['10.2.0.1:5000=1']], localityWeights: [1] },
  },
  {
    name: 'gateways of the endpoint cluster are preferred over the rest of the network',
    proxy: sidecar('network1'),
    endpoints: [cep('10.3.0.1', 'network3', 'cluster3b')],
    gateways: [gwC1, gwC2, gw('network3', '203.0.113.40', 'cluster3b')],
    // groups: network3 = 3, (network3, cluster3) = 2, (network3, cluster3b) = 1 -> lcm 6; all 6 to the one gateway.
    want: { endpoints: [['203.0.113.40:15443=6']], localityWeights: [6] },
  },
  {
    name: 'proxy without a network: remote endpoint still goes through its gateway',
    proxy: sidecar(''),
    endpoints: [cep('10.2.0.1', 'network2', 'cluster2'), cep('10.9.0.1', '', 'cluster9')],
    gateways: [gwB],
    want: { endpoints: [['10.9.0.1:5000=1', '198.51.100.2:15443=1']], localityWeights: [2] },
  },
  {
    name: 'gateway without mTLS port or of the other IP family is not used (endpoint dropped)',
    proxy: sidecar('network1'),
    endpoints: [cep('10.2.0.1', 'network2', 'cluster2'), cep('10.3.0.1', 'network3', 'cluster3')],
    gateways: [gw('network2', '198.51.100.2', 'cluster2', 0), gw('network3', '2001:db8::1', 'cluster3')],
    // network2 has no mTLS gateway -> kept raw; network3's only gateway is IPv6 -> dropped.
    want: { endpoints: [['10.2.0.1:5000=1']], localityWeights: [1] },
  },
  {
    name: 'SNI-DNAT cluster drops plaintext endpoints even locally',
    proxy: sidecar('network1', 'network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1'), cep('10.1.0.2', 'network1', 'cluster1', { tlsMode: 'disabled' })],
    gateways: [gwB],
    mtlsOnly: true,
    want: { endpoints: [['10.1.0.1:5000=1']], localityWeights: [1] },
  },
  {
    name: 'grouped by locality, sorted; each group weighs its own endpoints',
    proxy: sidecar('network1'),
    endpoints: [
      cep('10.2.0.1', 'network2', 'cluster2', { locality: { region: 'us-east', zone: 'b', subzone: '' } }),
      cep('10.1.0.1', 'network1', 'cluster1', { locality: { region: 'us-east', zone: 'a', subzone: '' } }),
    ],
    gateways: [gwB],
    want: { endpoints: [['10.1.0.1:5000=1'], ['198.51.100.2:15443=1']], localityWeights: [1, 1] },
  },
];

for (const c of cases) {
  test(`split horizon: ${c.name}`, () => {
    const got = buildLocalityEndpoints({ proxy: c.proxy, endpoints: c.endpoints, gateways: c.gateways, mtlsOnly: c.mtlsOnly ?? false });
    assert.deepEqual(summary(got), c.want);
  });
}

test('split horizon: gateway endpoints carry tlsMode istio metadata and the gateway cluster', () => {
  const [group] = buildLocalityEndpoints({ proxy: sidecar('network1'), endpoints: [cep('10.2.0.1', 'network2', 'cluster2')], gateways: [gwB], mtlsOnly: false });
  const lb = group?.lbEndpoints?.[0];
  assert.deepEqual(lb?.metadata?.filterMetadata?.['envoy.transport_socket_match'], { fields: { tlsMode: { stringValue: 'istio' } } });
  assert.deepEqual(lb.metadata.filterMetadata['istio'], { fields: { workload: { stringValue: ';;;;cluster2' } } });
  assert.equal(lb.healthStatus, 'HEALTHY');
});

test('split horizon: unhealthy local endpoints are sent as UNHEALTHY; plaintext ones lack tlsMode', () => {
  const [group] = buildLocalityEndpoints({
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1', { healthy: false, tlsMode: 'disabled' })],
    gateways: [],
    mtlsOnly: false,
  });
  const lb = group?.lbEndpoints?.[0];
  assert.equal(lb?.healthStatus, 'UNHEALTHY');
  assert.equal(lb.metadata?.filterMetadata?.['envoy.transport_socket_match'], undefined);
  assert.deepEqual(group?.locality, { region: '', zone: '', subZone: '' });
});

test('split horizon: a locality emptied by the filters stays as a group without weight or endpoints, as istiod', () => {
  const east: Locality = { region: 'r1', zone: 'a', subzone: '' };
  const west: Locality = { region: 'r2', zone: 'b', subzone: '' };
  // Plaintext on another network cannot cross the gateway; plaintext on an SNI-DNAT cluster is dropped.
  const crossNetwork = buildLocalityEndpoints({
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1', { locality: east }), cep('10.2.0.1', 'network2', 'cluster2', { tlsMode: 'disabled', locality: west })],
    gateways: [gwB],
    mtlsOnly: false,
  });
  assert.deepEqual(crossNetwork.map((g) => [g.locality, g.lbEndpoints?.length ?? 0, g.loadBalancingWeight?.value]), [
    [{ region: 'r1', zone: 'a', subZone: '' }, 1, 1],
    [{ region: 'r2', zone: 'b', subZone: '' }, 0, undefined],
  ]);
  const sni = buildLocalityEndpoints({ proxy: sidecar('network1', 'network1'), endpoints: [cep('10.1.0.2', 'network1', 'cluster1', { tlsMode: 'disabled', locality: east })], gateways: [gwB], mtlsOnly: true });
  assert.deepEqual(sni, [{ locality: { region: 'r1', zone: 'a', subZone: '' } }]);
  // A network view that hides the endpoint leaves no group at all (istiod filters those before grouping).
  const hidden = buildLocalityEndpoints({ proxy: sidecar('network1', 'network1'), endpoints: [cep('10.2.0.1', 'network2', 'cluster2', { locality: west })], gateways: [gwB], mtlsOnly: false });
  assert.deepEqual(hidden, []);
});

test('split horizon: unready endpoints on another network add no gateway weight; all unready, no gateway endpoint (differs from istiod on purpose)', () => {
  const some = buildLocalityEndpoints({
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1'), cep('10.2.0.1', 'network2', 'cluster2'), cep('10.2.0.2', 'network2', 'cluster2', { healthy: false })],
    gateways: [gwB],
    mtlsOnly: false,
  });
  // istiod would weigh the gateway 2 (ready + unready), sending 2/3 of the traffic to network2's one ready pod.
  assert.deepEqual(summary(some), { endpoints: [['10.1.0.1:5000=1', '198.51.100.2:15443=1']], localityWeights: [2] });
  const none = buildLocalityEndpoints({
    proxy: sidecar('network1'),
    endpoints: [cep('10.1.0.1', 'network1', 'cluster1'), cep('10.2.0.1', 'network2', 'cluster2', { healthy: false })],
    gateways: [gwB],
    mtlsOnly: false,
  });
  // istiod would keep a healthy gateway endpoint of weight 1, whose gateway has no healthy host to forward to.
  assert.deepEqual(summary(none), { endpoints: [['10.1.0.1:5000=1']], localityWeights: [1] });
});

test('gatewayWeightScale: lcm over network and (network, cluster) group sizes', () => {
  assert.equal(gatewayWeightScale([]), 1);
  assert.equal(gatewayWeightScale([gwB, gwC1, gwC2]), 2);
  assert.equal(gatewayWeightScale([gwB, gwC1, gwC2, gw('network4', '192.0.2.4', 'a'), gw('network4', '192.0.2.5', 'b'), gw('network4', '192.0.2.6', 'b')]), 6);
});
