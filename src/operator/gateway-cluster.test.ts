import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterFromInjector, namesCluster } from './gateway-cluster.ts';
import { eastWestGateway } from './eastwest.ts';
import { loadIstioOperator, type Json } from './iop.ts';
import { stringify } from 'yaml';

const names = { configMap: 'istio-system/istio-sidecar-injector', webhook: 'istio-sidecar-injector' };
const cm = (values: unknown) => ({ data: { values: typeof values === 'string' ? values : JSON.stringify(values) } });
const hook = (clientConfig: Json) => ({ webhooks: [{ name: 'rev.namespace.sidecar-injector.istio.io', clientConfig }] });

test('gen-eastwest-gateway\'s IstioOperator names no cluster; a --set does', () => {
  const text = stringify(eastWestGateway({ network: 'network1' }));
  assert.equal(namesCluster(loadIstioOperator([{ text, source: 't' }]).spec), false);
  assert.equal(namesCluster(loadIstioOperator([{ text, source: 't' }], ['values.global.multiCluster.clusterName=cluster1']).spec), true);
});

test('the cluster comes from the injector values (primary), else the remote webhook path, as injection would give it', () => {
  assert.deepEqual(clusterFromInjector(cm({ global: { multiCluster: { clusterName: 'cluster1' } } }), undefined, names),
    { clusterName: 'cluster1', from: 'ConfigMap istio-system/istio-sidecar-injector' });
  assert.deepEqual(clusterFromInjector(undefined, hook({ service: { name: 'istiod', namespace: 'istio-system', path: '/inject/cluster/cluster2/net/network2' } }), names),
    { clusterName: 'cluster2', from: 'MutatingWebhookConfiguration istio-sidecar-injector' });
  assert.deepEqual(clusterFromInjector(undefined, hook({ url: 'https://198.18.1.1:15017/inject/cluster/cluster3/net/network3' }), names)?.clusterName, 'cluster3');
});

test('nothing usable: no objects, Istio\'s default name, bad JSON, plain /inject, a name that is not an id', () => {
  assert.equal(clusterFromInjector(undefined, undefined, names), undefined);
  assert.equal(clusterFromInjector(cm({ global: { multiCluster: { clusterName: 'Kubernetes' } } }), hook({ service: { path: '/inject' } }), names), undefined);
  assert.equal(clusterFromInjector(cm('{not json'), undefined, names), undefined);
  assert.equal(clusterFromInjector(cm({ global: { multiCluster: { clusterName: 'a,b=c' } } }), undefined, names), undefined);
  assert.equal(clusterFromInjector(undefined, hook({ service: { path: '/inject/cluster/%2e%2e,x/net/n' } }), names), undefined);
});
