/**
 * Leader election, the namespace controller and the webhook patcher on the real test bed. Two
 * "replicas" (two sets of ClusterLeadership objects in this process, identities istiod-a / istiod-b)
 * run against cluster1 (their own cluster) and cluster2 (remote, EXTERNAL_ISTIOD, annotated
 * controlPlaneClusters=cluster1). Leases are 3 s instead of istiod's 30 s so hand-overs fit in a test;
 * renew deadline and retry period keep istiod's ratios (lease/2, lease/4).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { CaStore, SELF_SIGNED_CA_SECRET } from '../../src/ca/store.ts';
import { generateRootCa } from '../../src/pki/root.ts';
import { ClusterLeadership } from '../../src/controllers/cluster-leadership.ts';
import { LEADER_ANNOTATION, NAMESPACE_CONTROLLER_ELECTION, parseRecord } from '../../src/controllers/leaderelection.ts';
import { CA_ROOT_CONFIGMAP, SKIPPED_NAMESPACES } from '../../src/controllers/namespacecontroller.ts';
import { poller } from '../../src/testing/wait.ts';

const LEASE_MS = 3000;
const dir = mkdtempSync(join(tmpdir(), 'isthmus-leader-'));
let bed: Testbed;
let c1: TestbedCluster;
let c2: TestbedCluster;
let store: CaStore;
const replicas = new Map<string, { cluster1: ClusterLeadership; cluster2: ClusterLeadership }>();

const until = poller({ timeoutMs: 15_000, intervalMs: 50 });

function replica(identity: string, k1: KubeClient, k2: KubeClient): { cluster1: ClusterLeadership; cluster2: ClusterLeadership } {
  const common = {
    systemNamespace: 'istio-system', localClusterId: 'cluster1', externalIstiod: true, identity, leaseDurationMs: LEASE_MS,
    rootCertPem: () => store.rootCertPem(), onRootChange: (f: () => void) => store.onRootChange(f),
  };
  const r = {
    cluster1: new ClusterLeadership({ ...common, clusterId: 'cluster1', client: k1 }),
    cluster2: new ClusterLeadership({ ...common, clusterId: 'cluster2', client: k2 }),
  };
  r.cluster1.activate();
  r.cluster2.activate();
  return r;
}

function leadersOf(cluster: 'cluster1' | 'cluster2'): string[] {
  return [...replicas].filter(([, r]) => r[cluster].isLeader()).map(([id]) => id);
}

async function lockRecord(c: TestbedCluster) {
  const cm = await c.requestOk('GET', `/api/v1/namespaces/istio-system/configmaps/${NAMESPACE_CONTROLLER_ELECTION}`) as { metadata: { annotations?: Record<string, string> } };
  return parseRecord(cm.metadata.annotations?.[LEADER_ANNOTATION]);
}

async function rootIn(c: TestbedCluster, ns: string): Promise<string | undefined> {
  const res = await c.request('GET', `/api/v1/namespaces/${ns}/configmaps/${CA_ROOT_CONFIGMAP}`);
  if (res.status !== 200) return undefined;
  return (JSON.parse(res.body) as { data?: Record<string, string> }).data?.['root-cert.pem'];
}

async function namespaces(c: TestbedCluster): Promise<string[]> {
  const list = await c.requestOk('GET', '/api/v1/namespaces') as { items: { metadata: { name: string } }[] };
  return list.items.map((n) => n.metadata.name);
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  await c1.ensureNamespace('istio-system');
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
  });
  await c2.ensureNamespace('sample');
  const k1 = KubeClient.fromFile(c1.kubeconfigPath);
  const k2 = KubeClient.fromFile(c2.kubeconfigPath);
  store = new CaStore({ client: k1, namespace: 'istio-system' });
  await store.start();
  replicas.set('istiod-a', replica('istiod-a', k1, k2));
  replicas.set('istiod-b', replica('istiod-b', k1, k2));
});

after(async () => {
  for (const r of replicas.values()) await Promise.all([r.cluster1.stop(), r.cluster2.stop()]);
  await store.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('exactly one replica leads each cluster, with istiod\'s lock record (remote key prefixed ^)', async () => {
  for (const cluster of ['cluster1', 'cluster2'] as const) {
    await until(`a leader of ${cluster}`, () => Promise.resolve(leadersOf(cluster).length === 1 ? true : undefined));
  }
  // Stable over more than a lease period: never two leaders.
  for (let i = 0; i < 20; i++) {
    assert.equal(leadersOf('cluster1').length, 1);
    assert.equal(leadersOf('cluster2').length, 1);
    await sleep(LEASE_MS / 10);
  }
  const r1 = await lockRecord(c1);
  const r2 = await lockRecord(c2);
  assert.equal(r1?.holderIdentity, leadersOf('cluster1')[0]);
  assert.equal(r1?.holderKey, 'default', 'a replica leading its own cluster uses the bare revision');
  assert.equal(r2?.holderIdentity, leadersOf('cluster2')[0], 'the identity is the pod name, never prefixed');
  assert.equal(r2?.holderKey, '^default', 'a replica leading a remote cluster prefixes its key with ^');
  assert.equal(r2.leaseDurationSeconds, LEASE_MS / 1000);
});

test('istio-ca-root-cert is in every namespace of cluster2, in new namespaces, and comes back after delete or edit', async () => {
  const root = store.rootCertPem();
  for (const ns of await namespaces(c2)) {
    if (SKIPPED_NAMESPACES.includes(ns)) {
      assert.equal(await rootIn(c2, ns), undefined, `${ns} is skipped as istiod skips it`);
      continue;
    }
    await until(`root ConfigMap in ${ns}`, async () => ((await rootIn(c2, ns)) === root ? true : undefined));
  }
  await c2.ensureNamespace('late');
  await until('root ConfigMap in a namespace created afterwards', async () => ((await rootIn(c2, 'late')) === root ? true : undefined));

  await c2.requestOk('DELETE', `/api/v1/namespaces/sample/configmaps/${CA_ROOT_CONFIGMAP}`);
  const t0 = Date.now();
  await until('root ConfigMap back after delete', async () => ((await rootIn(c2, 'sample')) === root ? true : undefined), 5000);
  assert.ok(Date.now() - t0 < 5000);

  const cm = await c2.requestOk('GET', `/api/v1/namespaces/sample/configmaps/${CA_ROOT_CONFIGMAP}`) as Record<string, unknown>;
  await c2.requestOk('PUT', `/api/v1/namespaces/sample/configmaps/${CA_ROOT_CONFIGMAP}`, { ...cm, data: { 'root-cert.pem': 'tampered' } });
  await until('root ConfigMap restored after edit', async () => ((await rootIn(c2, 'sample')) === root ? true : undefined), 5000);
});

test('the leader sets caBundle on the injector and validation webhooks of its revision', async () => {
  const hook = (name: string) => ({
    name, admissionReviewVersions: ['v1'], sideEffects: 'None',
    clientConfig: { url: 'https://istiod.example:15017/inject/cluster/cluster2/net/network2' },
  });
  await c2.requestOk('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'istio-sidecar-injector', labels: { 'istio.io/rev': 'default' } },
    webhooks: [hook('rev.namespace.sidecar-injector.istio.io'), hook('other.example.com')],
  });
  await c2.requestOk('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration',
    metadata: { name: 'istio-validator-istio-system', labels: { 'istio.io/rev': 'default' } },
    webhooks: [hook('rev.validation.istio.io')],
  });
  const want = Buffer.from(store.rootCertPem()).toString('base64');
  type Hooks = { webhooks: { name: string; clientConfig: { caBundle?: string } }[] };
  const m = await until('mutating caBundle', async () => {
    const o = await c2.requestOk('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector') as Hooks;
    return o.webhooks[0]?.clientConfig.caBundle === want ? o : undefined;
  });
  assert.equal(m.webhooks[1]?.clientConfig.caBundle, undefined, 'webhooks not named *sidecar-injector.istio.io are left alone');
  await until('validating caBundle', async () => {
    const o = await c2.requestOk('GET', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/istio-validator-istio-system') as Hooks;
    return o.webhooks[0]?.clientConfig.caBundle === want ? true : undefined;
  });
});

test('a crashed leader of cluster2 is replaced within two lease periods and the successor keeps the ConfigMaps', async () => {
  const [old] = leadersOf('cluster2');
  assert.ok(old);
  const t0 = Date.now();
  await replicas.get(old)?.cluster2.stop(true, false); // no release: the lock must expire
  const successor = await until('a new leader of cluster2', () => Promise.resolve(leadersOf('cluster2').find((id) => id !== old)), 4 * LEASE_MS);
  const took = Date.now() - t0;
  assert.ok(took < 2 * LEASE_MS, `hand-over took ${took} ms (lease ${LEASE_MS} ms)`);
  assert.equal((await lockRecord(c2))?.holderIdentity, successor);
  assert.ok(((await lockRecord(c2))?.leaderTransitions ?? 0) >= 1);

  await c2.requestOk('DELETE', `/api/v1/namespaces/sample/configmaps/${CA_ROOT_CONFIGMAP}`);
  await until('the successor restores the ConfigMap', async () => ((await rootIn(c2, 'sample')) === store.rootCertPem() ? true : undefined), 5000);
});

test('a leader that stops gracefully releases the lock and the other takes over at once', async () => {
  const [old] = leadersOf('cluster1');
  assert.ok(old);
  const t0 = Date.now();
  await replicas.get(old)?.cluster1.stop();
  assert.equal((await lockRecord(c1))?.holderIdentity, '', 'released');
  await until('a new leader of cluster1', () => Promise.resolve(leadersOf('cluster1').find((id) => id !== old)), 4 * LEASE_MS);
  assert.ok(Date.now() - t0 < LEASE_MS + 500, `released hand-over took ${Date.now() - t0} ms`);
});

test('a rotated root reaches every ConfigMap of the led cluster', async () => {
  const next = await generateRootCa();
  const secret = await c1.requestOk('GET', `/api/v1/namespaces/istio-system/secrets/${SELF_SIGNED_CA_SECRET}`) as Record<string, unknown>;
  await c1.requestOk('PUT', `/api/v1/namespaces/istio-system/secrets/${SELF_SIGNED_CA_SECRET}`, {
    ...secret,
    data: { 'ca-cert.pem': Buffer.from(next.certPem).toString('base64'), 'ca-key.pem': Buffer.from(next.keyPem).toString('base64') },
  });
  await until('the store reloads the new root', () => Promise.resolve(store.rootCertPem() === next.rootCertPem ? true : undefined));
  for (const ns of ['sample', 'late', 'default', 'kube-system']) {
    await until(`new root in ${ns}`, async () => ((await rootIn(c2, ns)) === next.rootCertPem ? true : undefined), 5000);
  }
});
