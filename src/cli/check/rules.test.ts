import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateRootCa } from '../../pki/root.ts';
import { runRules } from './rules.ts';
import { declaredClusterId, idFromInjectionPath, secretTarget } from './topology.ts';
import type { ClusterFacts, DebugFacts, Finding, MeshFacts, RemoteSecretKeyFacts } from './types.ts';

let root = '';
let other = '';

before(async () => {
  root = (await generateRootCa()).rootCertPem;
  other = (await generateRootCa({ org: 'other.example' })).rootCertPem;
});

const NOW = 1_800_000_000;

function secret(over: Partial<RemoteSecretKeyFacts> = {}): RemoteSecretKeyFacts {
  return { secret: 'istio-remote-secret-cluster2', namespace: 'istio-system', key: 'cluster2', server: 'https://127.0.0.1:6002', tokenExp: NOW + 3600, auth: 'ok', denied: [], ...over };
}

function gw(network: string | undefined, ports: number[], addresses = ['172.18.1.1']) {
  return {
    namespace: 'istio-system', name: 'istio-eastwestgateway', type: 'LoadBalancer', addresses,
    labels: { istio: 'eastwestgateway', ...(network === undefined ? {} : { 'topology.istio.io/network': network }) },
    ports: ports.map((port) => ({ port })),
  };
}

function primary(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    context: 'cluster1', server: 'https://127.0.0.1:6001', systemNamespace: 'istio-system',
    istioSystem: { labels: { 'topology.istio.io/network': 'network1' }, annotations: {} },
    istiodEnv: [{ name: 'CLUSTER_ID', value: 'cluster1' }, { name: 'EXTERNAL_ISTIOD', value: 'true' }],
    injectorClusterName: 'cluster1',
    webhooks: [{ config: 'istio-sidecar-injector', webhook: 'namespace.sidecar-injector.istio.io', index: 0, path: '/inject', caBundle: Buffer.from(root).toString('base64') }],
    gateways: [gw('network1', [15021, 15443, 15012, 15017])],
    rootCerts: [{ namespace: 'istio-system', pem: root }, { namespace: 'sample', pem: root }],
    caRoot: { secret: 'istio-ca-secret', pem: root },
    remoteSecrets: [secret()],
    services: [{ namespace: 'sample', name: 'helloworld', endpoints: [{ address: '10.10.1.5', pod: 'sample/hw-v1-0' }] }],
    pods: [{ namespace: 'sample', name: 'hw-v1-0', labels: { app: 'helloworld', 'security.istio.io/tlsMode': 'istio' }, ip: '10.10.1.5' }],
    ...over,
  };
}

function remote(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    context: 'cluster2', server: 'https://127.0.0.1:6002', systemNamespace: 'istio-system',
    istioSystem: { labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
    webhooks: [{ config: 'istio-sidecar-injector', webhook: 'namespace.sidecar-injector.istio.io', index: 0, path: '/inject/cluster/cluster2/net/network2', caBundle: Buffer.from(root).toString('base64') }],
    gateways: [gw('network2', [15021, 15443, 15012, 15017], ['172.18.2.1'])],
    rootCerts: [{ namespace: 'istio-system', pem: root }, { namespace: 'sample', pem: root }],
    remoteSecrets: [],
    services: [{ namespace: 'sample', name: 'helloworld', endpoints: [{ address: '10.20.1.5', pod: 'sample/hw-v2-0' }] }],
    pods: [{ namespace: 'sample', name: 'hw-v2-0', labels: { app: 'helloworld', 'security.istio.io/tlsMode': 'istio' }, ip: '10.20.1.5' }],
    ...over,
  };
}

function debug(over: Partial<DebugFacts> = {}): DebugFacts {
  return {
    address: '127.0.0.1:8080',
    clusters: [{ id: 'cluster1', syncStatus: 'synced' }, { id: 'cluster2', secretName: 'istio-system/istio-remote-secret-cluster2', syncStatus: 'synced' }],
    proxies: [{ proxy: 'hw-v2-0.sample', clusterId: 'cluster2', types: { CDS: { status: 'SYNCED' }, LDS: { status: 'SYNCED' } } }],
    ...over,
  };
}

function noSystemNs(c: ClusterFacts): ClusterFacts {
  const { istioSystem: _drop, ...rest } = c;
  return rest;
}

const mesh = (c1 = primary(), c2 = remote(), d: DebugFacts | null = debug()): MeshFacts => ({ clusters: [c1, c2], now: NOW, ...(d === null ? {} : { debug: d }) });

function only(findings: readonly Finding[], rule: string): Finding {
  assert.deepEqual(findings.map((f) => f.rule), [rule], JSON.stringify(findings, null, 2));
  return findings[0] as Finding;
}

test('a healthy primary-remote mesh has no findings', () => {
  assert.deepEqual(runRules(mesh()), []);
});

test('declared cluster ids: istiod env, injector values, webhook path', () => {
  assert.equal(declaredClusterId(primary())?.id, 'cluster1');
  assert.equal(declaredClusterId(primary({ istiodEnv: [] }))?.field, 'data.values: global.multiCluster.clusterName');
  assert.deepEqual(declaredClusterId(remote()), { id: 'cluster2', object: 'MutatingWebhookConfiguration/istio-sidecar-injector', field: 'webhooks[0].clientConfig.service.path' });
  assert.equal(idFromInjectionPath('https://cp:15017/inject/cluster/c9/net/n9'), 'c9');
  assert.equal(idFromInjectionPath('/inject'), undefined);
  assert.equal(secretTarget(secret({ server: 'https://127.0.0.1:6002/' }), [primary(), remote()])?.context, 'cluster2');
  assert.equal(secretTarget(secret({ server: 'https://elsewhere' }), [primary(), remote()])?.context, 'cluster2', 'falls back to the id');
});

test('remote secret key differing from the remote\'s declared id', () => {
  const f = only(runRules(mesh(primary({ remoteSecrets: [secret({ key: 'cluster-2', secret: 'istio-remote-secret-cluster-2' })] }), remote(), null)), 'cluster-id-mismatch');
  assert.equal(f.severity, 'error');
  assert.deepEqual(f.where, { cluster: 'cluster1', namespace: 'istio-system', object: 'Secret/istio-remote-secret-cluster-2', field: 'data["cluster-2"]' });
  assert.equal(f.fix, 'kubectl --context cluster1 -n istio-system delete secret istio-remote-secret-cluster-2 && isthmus create-remote-secret --context cluster2 --name cluster2 | kubectl --context cluster1 apply -f -');
});

test('a cluster whose install declares two different ids', () => {
  const f = only(runRules(mesh(primary({ injectorClusterName: 'cluster-one' }), remote(), null)), 'cluster-id-inconsistent');
  assert.deepEqual(f.where, { cluster: 'cluster1', namespace: 'istio-system', object: 'ConfigMap/istio-sidecar-injector', field: 'data.values: global.multiCluster.clusterName' });
  assert.match(f.message, /"cluster-one" here but "cluster1" in Deployment\/istiod/);
});

test('remote secret key equal to the control plane\'s own id', () => {
  const f = only(runRules(mesh(primary({ remoteSecrets: [secret({ key: 'cluster1' })] }), remote(), null)), 'remote-secret-local-id');
  assert.equal(f.where.field, 'data["cluster1"]');
});

test('proxy cluster ids: mismatching its pod\'s cluster, or unknown', () => {
  const wrong = only(runRules(mesh(primary(), remote(), debug({ proxies: [{ proxy: 'hw-v2-0.sample', clusterId: 'cluster1', types: {} }] }))), 'proxy-cluster-id-mismatch');
  assert.deepEqual(wrong.where, { cluster: 'cluster2', namespace: 'sample', object: 'Pod/hw-v2-0', field: 'spec.containers[istio-proxy].env[ISTIO_META_CLUSTER_ID]' });
  const unknown = only(runRules(mesh(primary(), remote(), debug({ proxies: [{ proxy: 'elsewhere.ns', clusterId: 'cluster9', types: {} }] }))), 'proxy-cluster-id-unknown');
  assert.equal(unknown.where.cluster, 'control-plane');
  assert.match(unknown.message, /known: cluster1, cluster2/);
  const noSecret = runRules(mesh(primary({ remoteSecrets: [] }), remote(), debug({ clusters: [] })));
  const f = noSecret.find((x) => x.rule === 'proxy-cluster-id-unknown');
  assert.equal(f?.fix, 'isthmus create-remote-secret --context cluster2 --name cluster2 | kubectl --context cluster1 apply -f -', 'the pod\'s own cluster says this id: the secret is missing');
});

test('remote secret credentials: expired, refused, invalid, unreachable, missing permissions', () => {
  const run = (s: Partial<RemoteSecretKeyFacts>) => runRules(mesh(primary({ remoteSecrets: [secret(s)] }), remote(), null));
  assert.equal(only(run({ tokenExp: NOW - 1, auth: 'unauthorized' }), 'remote-secret-token-expired').where.field, 'data["cluster2"]: users[0].user.token');
  assert.equal(only(run({ auth: 'unauthorized' }), 'remote-secret-unauthorized').severity, 'error');
  assert.equal(only(run({ invalid: 'exec plugins are not allowed', auth: 'skipped' }), 'remote-secret-invalid').severity, 'error');
  assert.equal(only(run({ auth: 'unreachable', authError: 'ECONNREFUSED' }), 'remote-secret-unreachable').severity, 'warning');
  const rbac = only(run({ denied: ['list pods', 'watch pods'] }), 'remote-secret-rbac');
  assert.match(rbac.message, /may not list pods, watch pods in cluster2/);
  assert.match(rbac.fix, /isthmus install -y --context cluster2/);
});

test('clusterz: a cluster the control plane cannot sync, unless a secret finding explains it', () => {
  const d = debug({ clusters: [{ id: 'cluster2', secretName: 'istio-system/istio-remote-secret-cluster2', syncStatus: 'timeout', lastError: 'forbidden' }] });
  const f = only(runRules(mesh(primary(), remote(), d)), 'remote-cluster-not-synced');
  assert.deepEqual(f.where, { cluster: 'cluster1', namespace: 'istio-system', object: 'Secret/istio-remote-secret-cluster2', field: 'data["cluster2"]' });
  const explained = runRules(mesh(primary({ remoteSecrets: [secret({ auth: 'unauthorized' })] }), remote(), d));
  assert.deepEqual(explained.map((x) => x.rule), ['remote-secret-unauthorized']);
});

test('network labels and controlPlaneClusters annotations', () => {
  const noLabel = only(runRules(mesh(primary(), remote({ istioSystem: { labels: {}, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } } }))), 'network-label-missing');
  assert.equal(noLabel.fix, 'kubectl --context cluster2 label namespace istio-system topology.istio.io/network=network2 --overwrite', 'suggests the gateway\'s network');
  const noAnn = only(runRules(mesh(primary(), remote({ istioSystem: { labels: { 'topology.istio.io/network': 'network2' }, annotations: {} } }))), 'control-plane-clusters-missing');
  assert.equal(noAnn.where.field, 'metadata.annotations["topology.istio.io/controlPlaneClusters"]');
  const otherCp = only(runRules(mesh(primary(), remote({ istioSystem: { labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'clusterX' } } }))), 'control-plane-clusters-missing');
  assert.match(otherCp.fix, /controlPlaneClusters=clusterX,cluster1 --overwrite$/);
  assert.deepEqual(runRules(mesh(primary(), remote({ istioSystem: { labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': '*' } } }))), []);
  const off = only(runRules(mesh(primary({ istiodEnv: [{ name: 'CLUSTER_ID', value: 'cluster1' }] }), remote())), 'external-istiod-off');
  assert.equal(off.where.object, 'Deployment/istiod');
  const noNs = only(runRules(mesh(primary(), noSystemNs(remote()))), 'system-namespace-missing');
  assert.equal(noNs.where.cluster, 'cluster2');
});

test('east-west gateways: address, network label, 15443, and 15012/15017 on the primary with remotes', () => {
  const noAddr = only(runRules(mesh(primary({ gateways: [gw('network1', [15443, 15012, 15017], [])] }))), 'gateway-no-address');
  assert.equal(noAddr.where.field, 'status.loadBalancer.ingress');
  const noLabel = only(runRules(mesh(primary(), remote({ gateways: [gw(undefined, [15443], ['172.18.2.1'])] }))), 'gateway-network-label-missing');
  assert.match(noLabel.fix, /label service istio-eastwestgateway topology\.istio\.io\/network=network2/);
  assert.equal(only(runRules(mesh(primary(), remote({ gateways: [gw('network9', [15443], ['172.18.2.1'])] }))), 'gateway-network-label-mismatch').severity, 'warning');
  const no15443 = only(runRules(mesh(primary(), remote({ gateways: [gw('network2', [15012], ['172.18.2.1'])] }))), 'gateway-port-missing');
  assert.equal(no15443.where.field, 'spec.ports[port=15443]');
  const cp = runRules(mesh(primary({ gateways: [gw('network1', [15443])] })));
  assert.deepEqual(cp.map((f) => f.where.field), ['spec.ports[port=15012]', 'spec.ports[port=15017]']);
  const portLabel = { ...gw('network2', [16443], ['172.18.2.1']), labels: { 'topology.istio.io/network': 'network2', 'networking.istio.io/gatewayPort': '16443' } };
  assert.deepEqual(runRules(mesh(primary(), remote({ gateways: [portLabel] }))), [], 'the gatewayPort label replaces 15443');
  const none = only(runRules(mesh(primary({ gateways: [] }))), 'gateway-missing');
  assert.equal(none.severity, 'error', 'the primary exposes the control plane to remotes through it');
  assert.equal(only(runRules(mesh(primary(), remote({ gateways: [] }))), 'gateway-missing').severity, 'warning');
});

test('webhook caBundle missing or from another root', () => {
  const hook = remote().webhooks[0];
  assert.ok(hook);
  const missing = only(runRules(mesh(primary(), remote({ webhooks: [{ ...hook, caBundle: '' }] }))), 'webhook-ca-bundle-missing');
  assert.equal(missing.where.field, 'webhooks[0].clientConfig.caBundle');
  assert.match(missing.fix, /patch mutatingwebhookconfiguration istio-sidecar-injector .*\/webhooks\/0\/clientConfig\/caBundle.*kubectl --context cluster1 -n istio-system get configmap istio-ca-root-cert/);
  const foreign = only(runRules(mesh(primary(), remote({ webhooks: [{ ...hook, caBundle: Buffer.from(other).toString('base64') }] }))), 'webhook-ca-bundle-foreign');
  assert.match(foreign.message, /cluster1 istio-system\/Secret\/istio-ca-secret/);
  const both = Buffer.from(other + root).toString('base64');
  assert.deepEqual(runRules(mesh(primary(), remote({ webhooks: [{ ...hook, caBundle: both }] }))), [], 'a bundle that includes the root is fine');
});

test('istio-ca-root-cert from another root, or missing', () => {
  const f = only(runRules(mesh(primary(), remote({ rootCerts: [{ namespace: 'istio-system', pem: root }, { namespace: 'sample', pem: other }, { namespace: 'a', pem: other }] }))), 'root-cert-mismatch');
  assert.deepEqual(f.where, { cluster: 'cluster2', namespace: 'a', object: 'ConfigMap/istio-ca-root-cert', field: 'data["root-cert.pem"]' });
  assert.match(f.fix, /^for ns in a sample; do/);
  assert.equal(only(runRules(mesh(primary(), remote({ rootCerts: [] }))), 'root-cert-missing').severity, 'warning');
  const plugged = primary({ caRoot: { secret: 'cacerts', pem: other } });
  assert.ok(runRules(mesh(plugged, remote())).some((x) => x.rule === 'root-cert-mismatch' && x.message.includes('Secret/cacerts')));
});

test('endpoints of a multi-network service without tlsMode istio', () => {
  const plain = remote({ pods: [{ namespace: 'sample', name: 'hw-v2-0', labels: { app: 'helloworld' } }] });
  const f = only(runRules(mesh(primary(), plain)), 'endpoint-not-mtls');
  assert.equal(f.severity, 'error', 'every endpoint of the cluster is dropped');
  assert.deepEqual(f.where, { cluster: 'cluster2', namespace: 'sample', object: 'Pod/hw-v2-0', field: 'metadata.labels["security.istio.io/tlsMode"]' });
  const half = remote({
    services: [{ namespace: 'sample', name: 'helloworld', endpoints: [{ address: '10.20.1.5', pod: 'sample/hw-v2-0' }, { address: '10.20.1.6', pod: 'sample/hw-v2-1' }] }],
    pods: [{ namespace: 'sample', name: 'hw-v2-0', labels: {} }, { namespace: 'sample', name: 'hw-v2-1', labels: { 'security.istio.io/tlsMode': 'istio' } }],
  });
  assert.equal(only(runRules(mesh(primary(), half)), 'endpoint-not-mtls').severity, 'warning');
  const sameNet = remote({ istioSystem: { labels: { 'topology.istio.io/network': 'network1' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } }, pods: plain.pods, gateways: [gw('network1', [15443], ['172.18.2.1'])] });
  assert.deepEqual(runRules(mesh(primary(), sameNet)), [], 'one network: no gateway in the path, nothing dropped');
  const localOnly = remote({ services: [{ namespace: 'sample', name: 'other', endpoints: [{ address: '10.20.1.5', pod: 'sample/hw-v2-0' }] }], pods: plain.pods });
  assert.deepEqual(runRules(mesh(primary(), localOnly)), [], 'a service only in one cluster is not balanced across networks');
});

test('proxies in ERROR, STALE or NOT SENT', () => {
  const d = debug({ proxies: [{ proxy: 'hw-v2-0.sample', clusterId: 'cluster2', types: { CDS: { status: 'ERROR', error: 'bad cluster' }, LDS: { status: 'STALE' }, EDS: { status: 'NOT_SENT' }, RDS: { status: 'SYNCED' } } }] });
  const fs = runRules(mesh(primary(), remote(), d));
  assert.deepEqual(fs.map((f) => [f.severity, f.rule, f.where.field]), [
    ['error', 'proxy-sync-error', 'sync status CDS'],
    ['warning', 'proxy-sync-not-sent', 'sync status EDS'],
    ['warning', 'proxy-sync-stale', 'sync status LDS'],
  ]);
  assert.match(fs[0]?.message ?? '', /ERROR for CDS: CDS: bad cluster/);
});

test('unreachable cluster and debug endpoint are reported, not crashed on', () => {
  const down = { ...noSystemNs(remote()), unreachable: 'connect ECONNREFUSED', webhooks: [], gateways: [], rootCerts: [], services: [], pods: [] };
  const fs = runRules(mesh(primary(), down, debug({ unreachable: 'ECONNREFUSED', clusters: [], proxies: [] })));
  assert.deepEqual(fs.map((f) => f.rule), ['cluster-unreachable', 'debug-unreachable']);
});

test('reads a context may not do are reported, not mistaken for absent objects', () => {
  const f = only(runRules(mesh(primary(), remote({ forbidden: ['list pods', 'list secrets in istio-system'] }))), 'cluster-partly-readable');
  assert.match(f.message, /may not list pods, list secrets in istio-system/);
});

test('findings are sorted: errors first, then by cluster, namespace, object, field', () => {
  const fs = runRules(mesh(primary({ gateways: [gw('network1', [15443])] }), remote({ istioSystem: { labels: {}, annotations: {} }, rootCerts: [] })));
  assert.deepEqual(fs.map((f) => `${f.severity} ${f.where.cluster} ${f.rule}`), [
    'error cluster1 gateway-port-missing',
    'error cluster1 gateway-port-missing',
    'error cluster2 control-plane-clusters-missing',
    'error cluster2 network-label-missing',
    'warning cluster2 root-cert-missing',
  ]);
});
