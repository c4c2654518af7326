import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from './errors.ts';
import { clusterId } from './ids.ts';
import { NO_NETWORK, compareGateways, gatewayKey, networkId, tryNetworkId, type NetworkGateway } from './network.ts';
import { localityString, parseLocality } from './endpoint.ts';

test('network ids are label values; empty means no network', () => {
  assert.equal(networkId('network2'), 'network2');
  assert.equal(networkId(''), NO_NETWORK);
  for (const bad of ['-a', 'a b', 'x'.repeat(64), 'a/b']) {
    assert.throws(() => networkId(bad), (e: unknown) => isIsthmusError(e, ErrorCodes.InvalidId));
    assert.equal(tryNetworkId(bad), undefined);
  }
  assert.equal(tryNetworkId(undefined), undefined);
});

test('gateways order by network, cluster, address, port; the key ignores the source', () => {
  const gw = (network: string, address: string, port = 15443, cluster?: string): NetworkGateway => ({
    network: networkId(network), address, port, hbonePort: 0, source: { kind: 'meshNetworks' },
    ...(cluster ? { cluster: clusterId(cluster) } : {}),
  });
  const list = [gw('n2', '10.0.0.2'), gw('n1', '10.0.0.9', 15443, 'c1'), gw('n1', '10.0.0.9'), gw('n2', '10.0.0.1', 16000), gw('n2', '10.0.0.1')];
  assert.deepEqual(list.sort(compareGateways).map((g) => `${g.network}/${g.cluster ?? ''}/${g.address}:${g.port}`),
    ['n1//10.0.0.9:15443', 'n1/c1/10.0.0.9:15443', 'n2//10.0.0.1:15443', 'n2//10.0.0.1:16000', 'n2//10.0.0.2:15443']);
  assert.equal(gatewayKey(gw('n1', 'a')), gatewayKey({ ...gw('n1', 'a'), source: { kind: 'service', namespace: 'x', name: 'y' } }));
});

test('locality strings drop empty trailing parts and parse back', () => {
  const table: [string, { region: string; zone: string; subzone: string }][] = [
    ['', { region: '', zone: '', subzone: '' }],
    ['r1', { region: 'r1', zone: '', subzone: '' }],
    ['r1/z1', { region: 'r1', zone: 'z1', subzone: '' }],
    ['r1/z1/s1', { region: 'r1', zone: 'z1', subzone: 's1' }],
    ['/z1', { region: '', zone: 'z1', subzone: '' }],
  ];
  for (const [s, l] of table) {
    assert.equal(localityString(l), s);
    assert.deepEqual(parseLocality(s), l);
  }
});
