/**
 * Sidecar injection end to end: a real kube-apiserver (test bed) calls the injection webhook of a
 * real `isthmus discovery` process. The install's rendered MutatingWebhookConfiguration and
 * `istio-sidecar-injector` ConfigMap are applied, the webhook pointed at the process by URL
 * (`/inject/cluster/cluster1/net/network1`); the control plane, leading its cluster, patches the
 * caBundle. Pods are created through the API server (no kubelet: admission runs all the same) and
 * read back as the API server stored them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { planInstall } from '../../src/operator/manifest.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-inject-'));
let bed: Testbed | undefined;
let c1: TestbedCluster;
let k1: KubeClient;
let disc: DiscoveryProcess | undefined;
let caPem = '';
const until = poller({ timeoutMs: 30_000, intervalMs: 100, context: () => disc?.logs().split('\n').slice(-30).join('\n') ?? '' });

const IOP = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: minimal
  meshConfig:
    defaultConfig:
      proxyMetadata:
        ISTIO_DELTA_XDS: "false"
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: cluster1
      network: network1
`;
const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector';
const CM_PATH = '/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector';

interface Container { name: string; image: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]; securityContext?: { runAsUser?: number; capabilities?: { add?: string[] } } }
interface Pod {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { initContainers?: Container[]; containers: Container[]; volumes?: { name: string; configMap?: { name: string }; emptyDir?: { medium?: string }; projected?: { sources: { serviceAccountToken?: { audience?: string; expirationSeconds?: number } }[] } }[] };
}
const envOf = (c: Container | undefined) => Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath ?? ''}`]));

async function createPod(ns: string, name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; containers?: unknown[] } = {}): Promise<{ status: number; pod?: Pod; body: string }> {
  const t0 = Date.now();
  const res = await c1.request('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: name, ...extra.labels }, annotations: extra.annotations ?? {} },
    spec: { serviceAccountName: 'workload', containers: extra.containers ?? [{ name: 'app', image: 'example.invalid/app:1', ports: [{ name: 'http', containerPort: 5000 }] }] },
  });
  console.log(`create pod ${ns}/${name}: HTTP ${res.status} in ${Date.now() - t0} ms`);
  return { status: res.status, body: res.body, ...(res.status === 201 ? { pod: JSON.parse(res.body) as Pod } : {}) };
}

async function namespace(name: string, labels: Record<string, string>): Promise<void> {
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  await c1.ensureServiceAccount(name, 'workload');
}

function post(path: string, body: string | Buffer, method = 'POST'): Promise<{ status: number; body: string }> {
  const [host, port] = (disc?.httpsAddr ?? '').split(':');
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port: Number(port), path, method, ca: caPem, servername: 'istiod.istio-system.svc', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');
  k1 = KubeClient.fromFile(c1.kubeconfigPath);
  await namespace('istio-system', { 'topology.istio.io/network': 'network1' });
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  const rendered = planInstall([{ text: IOP, source: 'test' }]).rendered.map((r) => r.object);
  const cm = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'istio-sidecar-injector');
  const mwc = rendered.find((o) => o.kind === 'MutatingWebhookConfiguration');
  assert.ok(cm && mwc, 'the install renders the injector ConfigMap and webhook');
  const url = `https://${disc.httpsAddr}/inject/cluster/cluster1/net/network1`;
  const hooks = (mwc['webhooks'] as { clientConfig: unknown }[]).map((h) => ({ ...h, clientConfig: { url } }));
  await k1.apply(CM_PATH, cm, { fieldManager: 'isthmus', force: true });
  await k1.apply(MWC_PATH, { ...mwc, webhooks: hooks }, { fieldManager: 'isthmus', force: true });
  // The control plane leads its own cluster and patches the caBundle of its revision's webhooks.
  const t0 = Date.now();
  const bundle: string = await until('caBundle patched by the leader', async () => {
    const w = await k1.request<{ webhooks: { clientConfig: { caBundle?: string } }[] }>('GET', MWC_PATH);
    return w.webhooks.every((h) => h.clientConfig.caBundle) ? w.webhooks[0]?.clientConfig.caBundle : undefined;
  });
  console.log(`caBundle patched ${Date.now() - t0} ms after the webhook was applied`);
  caPem = Buffer.from(bundle, 'base64').toString();
  await namespace('sample', { 'istio-injection': 'enabled' });
  await namespace('plain', {});
});

after(async () => {
  await disc?.stop();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

test('a pod in an istio-injection=enabled namespace is stored with istio-init and istio-proxy', async () => {
  const r = await createPod('sample', 'helloworld');
  assert.equal(r.status, 201, r.body);
  const pod = r.pod;
  assert.ok(pod);
  const init = pod.spec.initContainers?.find((c) => c.name === 'istio-init');
  assert.ok(init, 'istio-init');
  assert.equal(init.image, 'docker.io/istio/proxyv2:1.28.0');
  assert.equal(init.args?.[0], 'istio-iptables');
  assert.deepEqual(init.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
  const proxy = pod.spec.containers.find((c) => c.name === 'istio-proxy');
  assert.ok(proxy, 'istio-proxy');
  assert.deepEqual(proxy.args?.slice(0, 2), ['proxy', 'sidecar']);
  assert.equal(proxy.securityContext?.runAsUser, 1337);
  const env = envOf(proxy);
  assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster1');
  assert.equal(env['ISTIO_META_NETWORK'], 'network1');
  assert.equal(env['ISTIO_META_MESH_ID'], 'mesh1');
  assert.equal(env['CA_ADDR'], 'istiod.istio-system.svc:15012');
  assert.equal(env['POD_NAME'], 'fieldRef:metadata.name');
  assert.equal(env['ISTIO_META_APP_CONTAINERS'], 'app');
  assert.equal(env['ISTIO_DELTA_XDS'], 'false');
  assert.equal((JSON.parse(env['PROXY_CONFIG'] ?? '{}') as { discoveryAddress?: string }).discoveryAddress, 'istiod.istio-system.svc:15012');
  const token = pod.spec.volumes?.find((v) => v.name === 'istio-token')?.projected?.sources[0]?.serviceAccountToken;
  assert.equal(token?.audience, 'istio-ca');
  assert.equal(token.expirationSeconds, 43200);
  assert.equal(pod.spec.volumes?.find((v) => v.name === 'istiod-ca-cert')?.configMap?.name, 'istio-ca-root-cert');
  assert.equal(pod.spec.volumes.find((v) => v.name === 'istio-envoy')?.emptyDir?.medium, 'Memory');
  assert.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], 'istio');
  assert.equal(pod.metadata.labels['topology.istio.io/network'], 'network1');
  assert.ok(pod.metadata.annotations?.['sidecar.istio.io/status']);
});

test('pods in an unlabelled namespace, and pods that opt out, are stored untouched', async () => {
  for (const [ns, name, ann] of [['plain', 'untouched', {}], ['sample', 'opted-out', { 'sidecar.istio.io/inject': 'false' }]] as const) {
    const r = await createPod(ns, name, { annotations: ann });
    assert.equal(r.status, 201, r.body);
    assert.deepEqual(r.pod?.spec.containers.map((c) => c.name), ['app'], `${ns}/${name}`);
    assert.equal(r.pod.spec.initContainers, undefined);
    assert.equal(r.pod.metadata.annotations?.['sidecar.istio.io/status'], undefined);
  }
});

test('gateway template: a pod labelled for injection with istio-proxy image auto gets the proxy image and `proxy router`', async () => {
  const r = await createPod('plain', 'eastwest', {
    labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'inject.istio.io/templates': 'gateway' },
    containers: [{ name: 'istio-proxy', image: 'auto', env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: 'network1' }] }],
  });
  assert.equal(r.status, 201, r.body);
  const c = r.pod?.spec.containers;
  assert.deepEqual(c?.map((x) => x.name), ['istio-proxy']);
  const proxy = c[0];
  assert.ok(proxy);
  assert.equal(proxy.image, 'docker.io/istio/proxyv2:1.28.0');
  assert.deepEqual(proxy.args?.slice(0, 2), ['proxy', 'router']);
  assert.equal(envOf(proxy)['ISTIO_META_REQUESTED_NETWORK_VIEW'], 'network1');
  assert.equal(r.pod?.spec.initContainers, undefined);
});

test('bad requests get a 4xx naming the problem, and the webhook keeps serving', async () => {
  const rows: [string, string | Buffer, string, number, RegExp][] = [
    ['/inject', '{not json', 'POST', 400, /not JSON/],
    ['/inject', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }), 'POST', 400, /apiVersion must be admission.k8s.io\/v1/],
    ['/inject', Buffer.alloc(3 * 1024 * 1024, 0x20), 'POST', 413, /larger than/],
    ['/inject', '', 'GET', 405, /POST an AdmissionReview/],
    ['/validate', '{}', 'POST', 404, /serves \/inject/],
  ];
  for (const [path, body, method, status, re] of rows) {
    const r = await post(path, body, method);
    console.log(`${method} ${path} (${body.length} bytes): HTTP ${r.status}`);
    assert.equal(r.status, status, r.body);
    assert.match(r.body, re);
    assert.match(r.body, /ISTHMUS_INJECT_BAD_REQUEST/);
  }
  const svc = await post('/inject', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'svc-1', kind: { group: '', version: 'v1', kind: 'Service' }, operation: 'CREATE', namespace: 'sample', object: { metadata: { name: 's' } } } }));
  assert.equal(svc.status, 200);
  assert.deepEqual((JSON.parse(svc.body) as { response: { uid: string; allowed: boolean } }).response.allowed, true);
  const r = await createPod('sample', 'after-bad-requests');
  assert.equal(r.status, 201, r.body);
  assert.ok(r.pod?.spec.containers.some((c) => c.name === 'istio-proxy'), 'still injecting');
});

test('the webhook path names the cluster and network written into the proxy (a remote\'s injectionPath)', async () => {
  const mwc = await k1.request<{ webhooks: { clientConfig: { url: string } }[] }>('GET', MWC_PATH);
  const url = `https://${disc?.httpsAddr ?? ''}/inject/cluster/cluster2/net/network2`;
  await k1.request('PATCH', MWC_PATH, mwc.webhooks.map((_h, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/url`, value: url })), 'application/json-patch+json');
  try {
    const r = await createPod('sample', 'via-remote-path');
    assert.equal(r.status, 201, r.body);
    const env = envOf(r.pod?.spec.containers.find((c) => c.name === 'istio-proxy'));
    assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster2');
    assert.equal(env['ISTIO_META_NETWORK'], 'network2');
    assert.equal(r.pod?.metadata.labels?.['topology.istio.io/network'], 'network2');
  } finally {
    const back = mwc.webhooks.map((h, i) => ({ op: 'replace', path: `/webhooks/${i}/clientConfig/url`, value: h.clientConfig.url }));
    await k1.request('PATCH', MWC_PATH, back, 'application/json-patch+json');
  }
});

test('a change to the istio-sidecar-injector ConfigMap reaches new pods', async () => {
  const cm = await k1.request<{ data: { values: string } }>('GET', CM_PATH);
  const values = JSON.parse(cm.data.values) as { global: Record<string, unknown> };
  values.global['tag'] = '1.28.9-test';
  await k1.request('PATCH', CM_PATH, { data: { values: JSON.stringify(values) } }, 'application/merge-patch+json');
  let n = 0;
  const image = await until('new pods use the changed tag', async () => {
    const r = await createPod('sample', `tag-${n++}`);
    const img = r.pod?.spec.containers.find((c) => c.name === 'istio-proxy')?.image;
    return img?.endsWith(':1.28.9-test') === true ? img : undefined;
  });
  assert.equal(image, 'docker.io/istio/proxyv2:1.28.9-test');
});

test('with the webhook down, pods in unselected namespaces are still admitted; selected ones are refused (failurePolicy Fail)', async () => {
  await disc?.stop();
  const plain = await createPod('plain', 'while-down');
  assert.equal(plain.status, 201, plain.body);
  const sample = await createPod('sample', 'while-down');
  assert.notEqual(sample.status, 201);
  assert.match(sample.body, /sidecar-injector\.istio\.io/);
});
