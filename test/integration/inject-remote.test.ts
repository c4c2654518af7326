/**
 * Injection in a remote cluster (primary-remote, docs/istio-compat.md §2.3): cluster2 is installed with `isthmus install`
 * and the `remote` profile, its webhook URL naming the control plane that runs for cluster1
 * (`istiodRemote.injectionURL=https://<discovery>/inject/cluster/cluster2`). The control plane reads
 * cluster2 through a remote secret, leads it (EXTERNAL_ISTIOD, controlPlaneClusters=cluster1) and so
 * patches the caBundle there; cluster2's API server then calls the webhook. The path names the
 * cluster; the network is not in the path, so it must come from cluster2's own `istio-system` label
 * (network2), read through cluster2's credentials, not from the primary's values (network1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { poller } from '../../src/testing/wait.ts';

const BIN = fileURLToPath(new URL('../../bin/isthmus.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'isthmus-inject-remote-'));
let bed: Testbed | undefined;
let c1: TestbedCluster;
let c2: TestbedCluster;
let disc: DiscoveryProcess | undefined;
const until = poller({ timeoutMs: 30_000, intervalMs: 100, context: () => disc?.logs().split('\n').slice(-30).join('\n') ?? '' });
const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector';

function isthmus(args: readonly string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(input);
  });
}

interface Container { name: string; env?: { name: string; value?: string }[] }
interface Pod { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: { initContainers?: Container[]; containers: Container[] } }

async function createPod(ns: string, name: string): Promise<{ status: number; body: string; pod?: Pod }> {
  const t0 = Date.now();
  const res = await c2.request('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } },
    spec: { serviceAccountName: 'workload', containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });
  console.log(`cluster2: create pod ${ns}/${name}: HTTP ${res.status} in ${Date.now() - t0} ms`);
  return { status: res.status, body: res.body, ...(res.status === 201 ? { pod: JSON.parse(res.body) as Pod } : {}) };
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
  });
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system', EXTERNAL_ISTIOD: 'true' } });
  await disc.ready();
  // The primary's install (for the injector ConfigMap: cluster1, network1).
  const primary = await isthmus(['install', '-y', '--kubeconfig', c1.kubeconfigPath, '-f', '-', '--set', 'profile=minimal',
    '--set', 'values.global.multiCluster.clusterName=cluster1', '--set', 'values.global.network=network1'], 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\n');
  assert.equal(primary.code, 0, primary.stderr);
  const remote = await isthmus(['install', '-y', '--kubeconfig', c2.kubeconfigPath, '-f', '-',
    '--set', `values.istiodRemote.injectionURL=https://${disc.httpsAddr}/inject/cluster/cluster2`, '--set', 'values.global.remotePilotAddress=10.10.0.1'],
  'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: remote\n');
  assert.equal(remote.code, 0, remote.stderr);
  console.log(remote.stdout.split('\n').filter((l) => /Webhook|sidecar/.test(l)).join('\n'));
  const token = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
  const kubeconfig = c2.tokenKubeconfig(token, 'cluster2');
  await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 'istio-remote-secret-cluster2', namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } },
    data: { cluster2: Buffer.from(kubeconfig).toString('base64') },
  });
  const t0 = Date.now();
  await until('caBundle in cluster2 patched by the control plane leading it', async () => {
    const w = JSON.parse((await c2.request('GET', MWC_PATH)).body) as { webhooks: { clientConfig: { caBundle?: string } }[] };
    return w.webhooks.every((h) => h.clientConfig.caBundle) ? true : undefined;
  });
  console.log(`cluster2 webhook caBundle patched ${Date.now() - t0} ms after the remote secret was written`);
  for (const [ns, labels] of [['sample', { 'istio-injection': 'enabled' }], ['plain', {}]] as const) {
    await c2.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } });
    await c2.ensureServiceAccount(ns, 'workload');
  }
});

after(async () => {
  await disc?.stop();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

test('a pod in cluster2 gets a proxy for cluster2 and network2 (network from cluster2\'s istio-system label)', async () => {
  const r = await createPod('sample', 'helloworld');
  assert.equal(r.status, 201, r.body);
  const proxy = r.pod?.spec.containers.find((c) => c.name === 'istio-proxy');
  assert.ok(proxy, 'istio-proxy injected');
  const env = Object.fromEntries((proxy.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster2');
  assert.equal(env['ISTIO_META_NETWORK'], 'network2');
  assert.equal(env['CA_ADDR'], 'istiod.istio-system.svc:15012');
  assert.equal(r.pod?.metadata.labels?.['topology.istio.io/network'], 'network2');
  assert.ok(r.pod.spec.initContainers?.some((c) => c.name === 'istio-init'));
});

test('a pod in an unlabelled cluster2 namespace is untouched', async () => {
  const r = await createPod('plain', 'other');
  assert.equal(r.status, 201, r.body);
  assert.deepEqual(r.pod?.spec.containers.map((c) => c.name), ['app']);
});
