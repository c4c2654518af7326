/**
 * The in-process harness's own contract: objects of a kind the control plane does not read are
 * refused by name (a test cannot believe it configured something the product ignores), and what a
 * real informer would leave out is left out and reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceHostname } from '../model/ids.ts';
import { FakeDiscovery } from './fake-discovery.ts';
import { endpointSlice, service } from './kube-objects.ts';

test('a kind nothing watches is an error naming it; the harness shuts down cleanly', async () => {
  const entry = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'ext', namespace: 'default' }, spec: { hosts: ['example.com'] } };
  await assert.rejects(FakeDiscovery.start({ clusters: [{ id: 'cluster1', objects: [entry] }] }), /cluster1: nothing in the control plane watches ServiceEntry/);
  const sidecarCr = { apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'istio-system' }, spec: {} };
  const d = await FakeDiscovery.start({ clusters: [{ id: 'cluster1' }, { id: 'cluster2' }] });
  try {
    assert.throws(() => { d.apply('cluster2', sidecarCr); }, /cluster2: nothing in the control plane watches Sidecar/, 'Sidecars are read from the config cluster only');
    const dr = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'x', namespace: 'default' }, spec: { host: 'x' } };
    assert.throws(() => { d.apply('cluster2', dr); }, /cluster2: nothing in the control plane watches DestinationRule/, 'Istio config is read from the config cluster only');
  } finally {
    await d.close();
  }
});

test('a slice above 1,000 endpoints is left out and reported, as the real informer does', async () => {
  const big = endpointSlice('a', 'default', Array.from({ length: 1001 }, (_, i) => ({ ip: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}` })), [[80, 'http']]);
  const d = await FakeDiscovery.start({ clusters: [{ id: 'cluster1', objects: [service('a', 'default', '10.96.0.1', [[80, 'http']]), big] }] });
  try {
    const refused = d.cluster('cluster1').refused;
    console.log(`refused: ${JSON.stringify(refused)}`);
    assert.equal(refused.length, 1);
    assert.match(refused[0] ?? '', /default\/a-abcde: has 1001 endpoints/);
    assert.deepEqual(d.store.endpoints(serviceHostname('a', 'default')), []);
  } finally {
    await d.close();
  }
});
