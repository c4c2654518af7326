/** Expectations written from docs/istio-compat.md §7 (endpoint network precedence) and §8 (gateway discovery). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId } from '../model/ids.ts';
import { NO_NETWORK, networkId, type MeshNetworks, type NetworkGateway } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import { serviceHostname } from '../model/ids.ts';
import {
  EMPTY_MESH_NETWORKS, compileMeshNetworks, endpointNetwork, meshNetworksGateways, mergeGateways, networkFromMeshNetworks, serviceGateways,
} from './network.ts';

const c1 = clusterId('cluster1');
const c2 = clusterId('cluster2');

const mesh: MeshNetworks = {
  networks: {
    'net-wide': { endpoints: [{ fromCidr: '10.0.0.0/8' }] },
    'net-narrow': { endpoints: [{ fromCidr: '10.20.0.0/16' }, { fromCidr: 'fd00::/8' }] },
    'net-c2': {
      endpoints: [{ fromRegistry: 'cluster2' }],
      gateways: [{ registryServiceName: 'istio-eastwestgateway.istio-system.svc.cluster.local', port: 15443 }, { address: '192.0.2.50', port: 15443 }],
    },
    'net-static': { gateways: [{ address: 'gw.example.com', port: 443 }] },
  },
};

test('endpoint network precedence: pod label > system namespace label > meshNetworks > empty (docs/istio-compat.md §7)', () => {
  const m1 = compileMeshNetworks(mesh, c1);
  const m2 = compileMeshNetworks(mesh, c2);
  const table: [what: string, address: string, podLabel: string | undefined, system: string, compiled: typeof m1, want: string][] = [
    ['pod label beats everything', '10.20.1.1', 'podnet', 'network2', m2, 'podnet'],
    ['system namespace label beats meshNetworks', '10.20.1.1', undefined, 'network2', m2, 'network2'],
    ['empty pod label falls through', '10.20.1.1', '', 'network2', m1, 'network2'],
    ['meshNetworks fromRegistry names the cluster', '10.20.1.1', undefined, '', m2, 'net-c2'],
    ['fromRegistry beats fromCidr', '172.16.0.1', undefined, '', m2, 'net-c2'],
    ['fromCidr: overlapping CIDRs resolve to the widest, as istiod', '10.20.1.1', undefined, '', m1, 'net-wide'],
    ['fromCidr: IPv6', 'fd00::5', undefined, '', m1, 'net-narrow'],
    ['nothing matches', '172.16.0.1', undefined, '', m1, ''],
    ['no meshNetworks at all', '10.20.1.1', undefined, '', EMPTY_MESH_NETWORKS, ''],
  ];
  for (const [what, address, podLabel, system, compiled, want] of table) {
    const podLabels = podLabel === undefined ? {} : { 'topology.istio.io/network': podLabel };
    assert.equal(endpointNetwork(address, { podLabels, systemNetwork: networkId(system), meshNetworks: compiled }), want, what);
  }
});

test('meshNetworks compilation reports bad CIDRs and clusters claimed twice', () => {
  const compiled = compileMeshNetworks({
    networks: {
      a: { endpoints: [{ fromRegistry: 'cluster1' }, { fromCidr: 'not-a-cidr' }, { fromCidr: '10.0.0.0/40' }] },
      b: { endpoints: [{ fromRegistry: 'cluster1' }] },
    },
  }, c1);
  assert.equal(compiled.fromRegistry, 'a', 'the first network in name order keeps the cluster');
  assert.equal(compiled.cidrs.length, 0);
  assert.equal(compiled.warnings.length, 3);
  assert.match(compiled.warnings.join('\n'), /multiple networks specify cluster1/);
  assert.equal(networkFromMeshNetworks(compiled, 'garbage'), 'a');
  assert.equal(networkFromMeshNetworks(compileMeshNetworks(mesh, c1), 'garbage'), NO_NETWORK);
});

function svc(labels: Record<string, string>, ports: number[], external: string[], cluster = c2, name = 'istio-eastwestgateway'): Service {
  return {
    hostname: serviceHostname(name, 'istio-system'),
    namespace: 'istio-system',
    name,
    ports: ports.map((port) => ({ name: `p${port}`, port, protocol: 'TLS' as const })),
    clusterVIPs: new Map([[cluster, ['10.96.0.20']]]),
    clusterExternalAddresses: external.length > 0 ? new Map([[cluster, external]]) : new Map(),
    serviceAccounts: [],
    labels,
    resolution: 'ClientSideLB',
    type: 'LoadBalancer',
    publishNotReadyAddresses: false,
  };
}

const brief = (gws: readonly NetworkGateway[]) => gws.map((g) => `${g.network}@${g.cluster ?? '-'}:${g.address}:${g.port}/${g.hbonePort}`);

test('gateways from Services (docs/istio-compat.md §8)', () => {
  const m2 = compileMeshNetworks(mesh, c2);
  const net = { 'topology.istio.io/network': 'network2' };
  const table: [what: string, s: Service, want: string[], warns: number][] = [
    ['labelled, exposes 15443, LB IP', svc(net, [15021, 15443], ['172.18.0.10']), ['network2@cluster2:172.18.0.10:15443/0'], 0],
    ['one gateway per external address (IP, host name, externalIPs)', svc(net, [15443], ['172.18.0.10', 'lb.example.com']),
      ['network2@cluster2:172.18.0.10:15443/0', 'network2@cluster2:lb.example.com:15443/0'], 0],
    ['exposes HBONE too', svc(net, [15443, 15008], ['172.18.0.10']), ['network2@cluster2:172.18.0.10:15443/15008'], 0],
    ['HBONE only', svc(net, [15008], ['172.18.0.10']), ['network2@cluster2:172.18.0.10:0/15008'], 0],
    ['gatewayPort label overrides 15443', svc({ ...net, 'networking.istio.io/gatewayPort': '16443' }, [16443], ['172.18.0.10']), ['network2@cluster2:172.18.0.10:16443/0'], 0],
    ['gatewayPort label not exposed: ignored with a warning', svc({ ...net, 'networking.istio.io/gatewayPort': '16443' }, [15443], ['172.18.0.10']), [], 1],
    ['unparsable gatewayPort: warns and defaults to 15443', svc({ ...net, 'networking.istio.io/gatewayPort': 'abc' }, [15443], ['172.18.0.10']), ['network2@cluster2:172.18.0.10:15443/0'], 1],
    ['labelled but exposes neither port: ignored with a warning', svc(net, [80], ['172.18.0.10']), [], 1],
    ['labelled without external address: nothing yet', svc(net, [15443], []), [], 0],
    ['unlabelled ordinary service', svc({}, [15443], ['172.18.0.10'], c2, 'other'), [], 0],
    ['meshNetworks registryServiceName for this cluster', svc({}, [15443], ['172.18.0.99']), ['net-c2@cluster2:172.18.0.99:15443/0'], 0],
    ['the label wins over registryServiceName', svc(net, [15443], ['172.18.0.99']), ['network2@cluster2:172.18.0.99:15443/0'], 0],
  ];
  for (const [what, s, want, warns] of table) {
    const got = serviceGateways(s, c2, m2);
    assert.deepEqual(brief(got.gateways), want, what);
    assert.equal(got.warnings.length, warns, `${what}: ${got.warnings.join('; ')}`);
  }
  // registryServiceName only counts in a cluster the network claims with fromRegistry.
  assert.deepEqual(serviceGateways(svc({}, [15443], ['172.18.0.99'], c1), c1, compileMeshNetworks(mesh, c1)).gateways, []);
  const [gw] = serviceGateways(svc(net, [15443], ['172.18.0.10']), c2, m2).gateways;
  assert.deepEqual(gw?.source, { kind: 'service', namespace: 'istio-system', name: 'istio-eastwestgateway' });
});

test('static meshNetworks gateways (address entries, no cluster) and merging', () => {
  const statics = meshNetworksGateways(mesh);
  assert.deepEqual(brief(statics), ['net-c2@-:192.0.2.50:15443/0', 'net-static@-:gw.example.com:443/0']);
  assert.deepEqual(meshNetworksGateways(undefined), []);
  const fromSvc = serviceGateways(svc({ 'topology.istio.io/network': 'net-c2' }, [15443], ['192.0.2.50']), c2, EMPTY_MESH_NETWORKS).gateways;
  const merged = mergeGateways(fromSvc, statics, fromSvc);
  assert.deepEqual(brief(merged), ['net-c2@-:192.0.2.50:15443/0', 'net-c2@cluster2:192.0.2.50:15443/0', 'net-static@-:gw.example.com:443/0']);
});
