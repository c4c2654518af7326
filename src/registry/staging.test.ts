import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../model/endpoint.ts';
import { clusterId, serviceHostname, type ClusterId, type Hostname } from '../model/ids.ts';
import { networkId } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import { ShardStore } from './shards.ts';
import { StagingSink } from './staging.ts';

const c2 = clusterId('cluster2');
const a = serviceHostname('a', 'sample');
const b = serviceHostname('b', 'sample');
const c = serviceHostname('c', 'sample');

function svc(h: Hostname, name: string): Service {
  return {
    hostname: h, namespace: 'sample', name, ports: [{ name: 'http', port: 80, protocol: 'HTTP' }],
    clusterVIPs: new Map(), clusterExternalAddresses: new Map(), serviceAccounts: [], labels: {},
    resolution: 'ClientSideLB', type: 'ClusterIP', publishNotReadyAddresses: false,
  };
}

function ep(cluster: ClusterId, address: string): Endpoint {
  return { address, ports: { http: 80 }, cluster, network: networkId(''), locality: { region: '', zone: '', subzone: '' }, serviceAccount: 'default', tlsMode: 'istio', healthy: true, labels: {} };
}

test('a staged replacement becomes the cluster\'s whole state on activation, and nothing before', () => {
  const store = new ShardStore();
  store.upsertService(c2, svc(a, 'a'));
  store.upsertService(c2, svc(b, 'b'));
  store.setEndpoints(c2, a, 'sample', [ep(c2, '10.2.0.1')]);
  store.setEndpoints(c2, b, 'sample', [ep(c2, '10.2.0.2')]);

  const staging = new StagingSink(store, c2);
  staging.upsertService(c2, svc(a, 'a'));
  staging.upsertService(c2, svc(c, 'c'));
  staging.setEndpoints(c2, a, 'sample', [ep(c2, '10.2.0.9')]);
  staging.setEndpoints(c2, c, 'sample', [ep(c2, '10.2.0.3')]);
  // Before activation the store still serves the old state untouched.
  assert.deepEqual(store.endpoints(a).map((e) => e.address), ['10.2.0.1']);
  assert.deepEqual(store.endpoints(b).map((e) => e.address), ['10.2.0.2']);
  assert.equal(store.service(c), undefined);

  staging.activate();
  assert.deepEqual(store.services().map((s) => s.name), ['a', 'c']);
  assert.deepEqual(store.endpoints(a).map((e) => e.address), ['10.2.0.9']);
  assert.deepEqual(store.endpoints(b), []);
  assert.deepEqual(store.endpoints(c).map((e) => e.address), ['10.2.0.3']);

  // Afterwards writes go straight through.
  staging.setEndpoints(c2, c, 'sample', [ep(c2, '10.2.0.4')]);
  assert.deepEqual(store.endpoints(c).map((e) => e.address), ['10.2.0.4']);
});

test('a staging sink refuses writes for another cluster', () => {
  const staging = new StagingSink(new ShardStore(), c2);
  assert.throws(() => { staging.upsertService(clusterId('cluster1'), svc(a, 'a')); }, /got a write for cluster1/);
});

test('a closed sink drops every later write, so a removed cluster cannot come back from a late event', () => {
  const store = new ShardStore();
  const staging = new StagingSink(store, c2);
  staging.activate();
  staging.upsertService(c2, svc(a, 'a'));
  staging.setEndpoints(c2, a, 'sample', [ep(c2, '10.2.0.1')]);
  staging.close();
  store.removeCluster(c2);
  staging.upsertService(c2, svc(b, 'b'));
  staging.setEndpoints(c2, a, 'sample', [ep(c2, '10.2.0.2')]);
  staging.setGateways(c2, []);
  assert.deepEqual(store.services(), []);
  assert.deepEqual(store.endpoints(a), []);
  assert.equal(store.clusters().includes(c2), false);

  const unused = new StagingSink(store, c2);
  unused.upsertService(c2, svc(c, 'c'));
  unused.close();
  unused.activate();
  assert.deepEqual(store.services(), [], 'a closed replacement never publishes');
});
