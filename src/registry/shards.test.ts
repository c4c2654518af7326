/** Aggregation per docs/istio-compat.md §7: merge by hostname, first cluster provides defaults, shards per cluster. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../model/endpoint.ts';
import { clusterId, serviceHostname, type ClusterId, type Hostname } from '../model/ids.ts';
import { networkId, type NetworkGateway } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import { ShardStore, type XdsUpdater } from './shards.ts';

const c1 = clusterId('cluster1');
const c2 = clusterId('cluster2');
const host = serviceHostname('hello', 'sample');

function svc(cluster: ClusterId, vip: string, extra: Partial<Service> = {}): Service {
  return {
    hostname: host, namespace: 'sample', name: 'hello',
    ports: [{ name: 'http', port: 5000, protocol: 'HTTP' }],
    clusterVIPs: new Map([[cluster, [vip]]]), clusterExternalAddresses: new Map(),
    serviceAccounts: [], labels: {}, resolution: 'ClientSideLB', type: 'ClusterIP', publishNotReadyAddresses: false,
    ...extra,
  };
}

function ep(cluster: ClusterId, address: string): Endpoint {
  return {
    address, ports: { http: 5000 }, cluster, network: networkId(''), locality: { region: '', zone: '', subzone: '' },
    serviceAccount: 'default', tlsMode: 'istio', healthy: true, labels: {},
  };
}

function recorder(): XdsUpdater & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    serviceChanged: (h: Hostname, ns: string) => { events.push(`svc ${h} ${ns}`); },
    endpointsChanged: (h: Hostname, ns: string) => { events.push(`eds ${h} ${ns}`); },
    networksChanged: () => { events.push('networks'); },
  };
}

test('services merge by hostname: first registered cluster provides defaults, VIPs per cluster, accounts unioned', () => {
  const store = new ShardStore();
  store.addCluster(c1);
  store.upsertService(c2, svc(c2, '10.2.0.1', { ports: [{ name: 'http', port: 9999, protocol: 'TCP' }], serviceAccounts: ['spiffe://td2/ns/sample/sa/b'] }));
  store.upsertService(c1, svc(c1, '10.1.0.1', { serviceAccounts: ['spiffe://td1/ns/sample/sa/a', 'spiffe://td2/ns/sample/sa/b'] }));
  const merged = store.service(host);
  assert.ok(merged);
  assert.deepEqual(merged.ports, [{ name: 'http', port: 5000, protocol: 'HTTP' }], 'ports of the first cluster; the mismatch is tolerated');
  assert.deepEqual([...merged.clusterVIPs], [[c1, ['10.1.0.1']], [c2, ['10.2.0.1']]]);
  assert.deepEqual(merged.serviceAccounts, ['spiffe://td1/ns/sample/sa/a', 'spiffe://td2/ns/sample/sa/b']);
  assert.equal(store.services().length, 1);

  // Deleting it in cluster1 leaves cluster2's view, with cluster2's ports.
  store.deleteService(c1, host);
  assert.deepEqual(store.service(host)?.ports.map((p) => p.port), [9999]);
  assert.deepEqual([...(store.service(host)?.clusterVIPs.keys() ?? [])], [c2]);
  store.deleteService(c2, host);
  assert.equal(store.service(host), undefined);
  assert.deepEqual(store.services(), []);
});

test('endpoint shards are per cluster: a cluster change or removal touches only its own shard', () => {
  const rec = recorder();
  const store = new ShardStore(rec);
  store.upsertService(c1, svc(c1, '10.1.0.1'));
  store.upsertService(c2, svc(c2, '10.2.0.1'));
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.1')]);
  store.setEndpoints(c2, host, 'sample', [ep(c2, '10.20.0.1'), ep(c2, '10.20.0.2')]);
  const before = store.shardsFor(host);
  assert.deepEqual(before.map((s) => [s.cluster, s.endpoints.length]), [[c1, 1], [c2, 2]]);
  assert.deepEqual(store.endpoints(host).map((e) => e.address), ['10.10.0.1', '10.20.0.1', '10.20.0.2']);

  rec.events.length = 0;
  store.setEndpoints(c2, host, 'sample', [ep(c2, '10.20.0.3')]);
  const after = store.shardsFor(host);
  assert.equal(after[0]?.endpoints, before[0]?.endpoints, "cluster1's shard array is the same object");
  assert.deepEqual(rec.events, [`eds ${host} sample`]);

  rec.events.length = 0;
  store.setEndpoints(c2, host, 'sample', [ep(c2, '10.20.0.3')]);
  assert.deepEqual(rec.events, [], 'an identical write is not a change');

  store.removeCluster(c2);
  assert.deepEqual(store.shardsFor(host).map((s) => s.cluster), [c1]);
  assert.equal(store.shardsFor(host)[0]?.endpoints, before[0]?.endpoints);
  assert.deepEqual([...(store.service(host)?.clusterVIPs.keys() ?? [])], [c1]);
  assert.deepEqual(rec.events, [`svc ${host} sample`, `eds ${host} sample`]);
  assert.deepEqual(store.clusters(), [c1]);

  store.setEndpoints(c1, host, 'sample', []);
  assert.deepEqual(store.shardsFor(host), []);
  assert.deepEqual(store.snapshot().endpointHostnames(), []);
});

test('an endpoint change that changes the service accounts serving a host is a full push, other endpoint changes are not', () => {
  const rec = recorder();
  const store = new ShardStore(rec);
  store.upsertService(c1, svc(c1, '10.1.0.1'));
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.1')]);
  store.setEndpoints(c2, host, 'sample', [ep(c2, '10.20.0.1')]);
  rec.events.length = 0;
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.2'), ep(c1, '10.10.0.3')]);
  store.setEndpoints(c2, host, 'sample', []);
  assert.deepEqual(rec.events, [`eds ${host} sample`, `eds ${host} sample`], 'same accounts (sample/default): endpoint pushes');
  rec.events.length = 0;
  // Clusters name the accounts allowed to serve the host (the SANs a sidecar checks): they change.
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.2'), { ...ep(c1, '10.10.0.4'), serviceAccount: 'reviews' }]);
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.2')]);
  console.log(`announced: ${JSON.stringify(rec.events)}`);
  assert.deepEqual(rec.events, [`svc ${host} sample`, `svc ${host} sample`], 'an account added, then removed: full pushes');
  rec.events.length = 0;
  store.setEndpoints(c2, host, 'sample', [{ ...ep(c2, '10.20.0.9'), serviceAccount: 'other' }]);
  store.removeCluster(c2);
  assert.deepEqual(rec.events, [`svc ${host} sample`, `svc ${host} sample`], "a cluster's removal that takes an account away too");
});

test('snapshots are cached until a change and never see later writes', () => {
  const store = new ShardStore();
  store.upsertService(c1, svc(c1, '10.1.0.1'));
  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.1')]);
  const s1 = store.snapshot();
  assert.equal(store.snapshot(), s1, 'no change, same snapshot');
  store.upsertService(c1, svc(c1, '10.1.0.1'));
  assert.equal(store.snapshot(), s1, 'an identical service write is not a change');

  store.setEndpoints(c1, host, 'sample', [ep(c1, '10.10.0.2')]);
  store.upsertService(c2, svc(c2, '10.2.0.1'));
  const s2 = store.snapshot();
  assert.notEqual(s2, s1);
  assert.ok(s2.version > s1.version);
  assert.deepEqual(s1.endpoints(host).map((e) => e.address), ['10.10.0.1']);
  assert.deepEqual([...(s1.service(host)?.clusterVIPs.keys() ?? [])], [c1]);
  assert.deepEqual(s2.endpoints(host).map((e) => e.address), ['10.10.0.2']);
  assert.deepEqual([...(s2.service(host)?.clusterVIPs.keys() ?? [])], [c1, c2]);
  assert.ok(Object.isFrozen(s2.shardsFor(host)[0]?.endpoints), 'shard arrays are frozen');
});

test('gateways: per cluster plus static, merged and de-duplicated; changes reported as networks', () => {
  const rec = recorder();
  const store = new ShardStore(rec);
  const gw = (address: string, cluster?: ClusterId): NetworkGateway => ({
    network: networkId('network2'), address, port: 15443, hbonePort: 0,
    source: cluster ? { kind: 'service', namespace: 'istio-system', name: 'eastwest' } : { kind: 'meshNetworks' },
    ...(cluster ? { cluster } : {}),
  });
  store.setGateways(c2, [gw('172.18.0.10', c2)]);
  store.setStaticGateways([gw('192.0.2.1')]);
  store.setGateways(c2, [gw('172.18.0.10', c2)]);
  assert.deepEqual(store.gateways().map((g) => `${g.cluster ?? '-'}:${g.address}`), ['-:192.0.2.1', 'cluster2:172.18.0.10']);
  assert.deepEqual(rec.events, ['networks', 'networks'], 'the identical re-write is silent');
  store.removeCluster(c2);
  assert.deepEqual(store.gateways().map((g) => g.address), ['192.0.2.1']);
  assert.deepEqual(rec.events, ['networks', 'networks', 'networks']);
});

test("a host's endpoints are the same array in every snapshot until that host's shards change", () => {
  const s = new ShardStore();
  const other = serviceHostname('other', 'sample');
  s.addCluster(c1);
  s.addCluster(c2);
  s.setEndpoints(c2, host, 'sample', [ep(c2, '10.2.0.1')]);
  s.setEndpoints(c1, host, 'sample', [ep(c1, '10.1.0.1')]);
  s.setEndpoints(c1, other, 'sample', [ep(c1, '10.1.0.9')]);
  const first = s.snapshot();
  const eps = first.endpoints(host);
  assert.deepEqual(eps.map((e) => e.address), ['10.1.0.1', '10.2.0.1'], 'cluster registration order');
  assert.ok(Object.isFrozen(eps), 'shared, so frozen');
  // Another host changes: a new snapshot, the same array for this host.
  s.setEndpoints(c1, other, 'sample', [ep(c1, '10.1.0.10')]);
  const second = s.snapshot();
  assert.notEqual(second, first);
  assert.equal(second.endpoints(host), eps);
  assert.deepEqual(second.endpoints(other).map((e) => e.address), ['10.1.0.10']);
  // This host changes: a new array, and the old snapshot still answers what it held.
  s.setEndpoints(c2, host, 'sample', [ep(c2, '10.2.0.2')]);
  const third = s.snapshot();
  assert.notEqual(third.endpoints(host), eps);
  assert.deepEqual(third.endpoints(host).map((e) => e.address), ['10.1.0.1', '10.2.0.2']);
  assert.deepEqual(first.endpoints(host).map((e) => e.address), ['10.1.0.1', '10.2.0.1']);
  // One namespace only: the shards of that namespace.
  assert.deepEqual(third.endpoints(host, 'elsewhere'), []);
  assert.deepEqual(third.endpoints(host, 'sample').map((e) => e.address), ['10.1.0.1', '10.2.0.2']);
});

test('an endpoint change shares the sorted services with the snapshot before; a service change does not', () => {
  const s = new ShardStore();
  const other = serviceHostname('aardvark', 'sample');
  s.upsertService(c1, svc(c1, '10.96.0.1'));
  s.upsertService(c1, { ...svc(c1, '10.96.0.2'), hostname: other });
  const first = s.snapshot();
  assert.deepEqual(first.services().map((x) => x.hostname), [other, host], 'sorted by hostname');
  s.setEndpoints(c1, host, 'sample', [ep(c1, '10.1.0.1')]);
  const second = s.snapshot();
  assert.notEqual(second, first);
  assert.equal(second.services(), first.services());
  s.deleteService(c1, other);
  const third = s.snapshot();
  assert.deepEqual(third.services().map((x) => x.hostname), [host]);
  assert.equal(third.service(other), undefined);
  assert.deepEqual(first.services().map((x) => x.hostname), [other, host], 'an old snapshot keeps what it held');
  assert.equal(first.service(other)?.hostname, other);
});
