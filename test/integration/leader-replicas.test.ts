/**
 * Issue 5's leadership "done when" with two real `isthmus discovery` replicas against two test-bed
 * clusters: one leader per cluster, hand-over after the leader dies, istio-ca-root-cert kept in every
 * namespace of the remote cluster by whoever leads.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { poller } from '../../src/testing/wait.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/isthmus.mjs', import.meta.url).pathname;
const LEASE_S = 3;
const dir = mkdtempSync(join(tmpdir(), 'isthmus-leaders-'));
let bed: Testbed;
const replicas = new Map<string, DiscoveryProcess>();

interface ClusterInfo { id: string; leading?: boolean; shouldLead?: boolean; syncStatus: string }

const until = poller({ timeoutMs: 30_000, intervalMs: 50 });

async function leaders(cluster: string): Promise<string[]> {
  const out: string[] = [];
  for (const [name, d] of replicas) {
    const cz = await d.json<ClusterInfo[]>('/debug/clusterz').catch(() => []);
    if (cz.find((c) => c.id === cluster)?.leading === true) out.push(name);
  }
  return out;
}

async function rootCert(c: TestbedCluster, ns: string): Promise<string | undefined> {
  const r = await c.request('GET', `/api/v1/namespaces/${ns}/configmaps/istio-ca-root-cert`);
  return r.status === 200 ? (JSON.parse(r.body) as { data?: Record<string, string> }).data?.['root-cert.pem'] : undefined;
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  await c1.ensureNamespace('istio-system');
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network2' }, annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' } },
  });
  for (const ns of ['sample', 'apps']) await c2.ensureNamespace(ns);
  // The remote profile renders the reader RBAC a leading control plane needs in cluster2
  // (config maps, webhook configurations); create-remote-secret prints the secret for cluster1.
  const iop = 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: remote\n  values:\n    istiodRemote:\n      injectionPath: /inject/cluster/cluster2/net/network2\n    global:\n      remotePilotAddress: 172.18.1.1\n';
  const install = run(process.execPath, [BIN, 'install', '-y', '-f', '-', '--kubeconfig', c2.kubeconfigPath]);
  install.child.stdin?.end(iop);
  await install;
  const { stdout } = await run(process.execPath, [BIN, 'create-remote-secret', '--name', 'cluster2', '--kubeconfig', c2.kubeconfigPath]);
  for (const doc of parseAllDocuments(stdout)) {
    const obj = doc.toJSON() as { kind?: string; metadata?: { name: string } } | null;
    if (obj?.kind === 'Secret' && obj.metadata) await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', obj);
  }
  for (const name of ['istiod-a', 'istiod-b']) {
    const d = await DiscoveryProcess.start({
      kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1',
      env: { POD_NAME: name, POD_NAMESPACE: 'istio-system', EXTERNAL_ISTIOD: 'true', PILOT_REMOTE_CLUSTER_TIMEOUT: '10s' },
      args: ['--leader-lease-duration', `${LEASE_S}s`],
    });
    replicas.set(name, d);
  }
  for (const d of replicas.values()) await d.ready();
});

after(async () => {
  for (const d of replicas.values()) await d.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('exactly one replica leads each cluster, and the leader keeps istio-ca-root-cert in every namespace of cluster2', async () => {
  for (const cluster of ['cluster1', 'cluster2']) {
    const l = await until(`a leader of ${cluster}`, async () => { const x = await leaders(cluster); return x.length > 0 ? x : undefined; });
    assert.equal(l.length, 1, `${cluster} is led by ${l.join(', ')}`);
  }
  const c2 = bed.cluster('cluster2');
  for (const ns of ['default', 'sample', 'apps', 'istio-system']) {
    const pem = await until(`root cert in ${ns}`, () => rootCert(c2, ns));
    assert.match(pem, /BEGIN CERTIFICATE/);
  }
  await c2.ensureNamespace('created-later');
  assert.match(await until('root cert in a new namespace', () => rootCert(c2, 'created-later'), 10_000), /BEGIN CERTIFICATE/);
  await c2.requestOk('DELETE', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
  assert.match(await until('root cert restored', () => rootCert(c2, 'sample'), 10_000), /BEGIN CERTIFICATE/);
});

test('killing cluster2\'s leader hands leadership to the other replica within two lease periods', async (t) => {
  const [leader] = await leaders('cluster2');
  assert.ok(leader);
  const other = [...replicas.keys()].find((n) => n !== leader);
  assert.ok(other);
  const proc = replicas.get(leader);
  assert.ok(proc?.pid);
  const killedAt = Date.now();
  process.kill(proc.pid, 'SIGKILL');
  replicas.delete(leader);
  await until('a new leader', async () => ((await leaders('cluster2')).includes(other) ? true : undefined), 4 * LEASE_S * 1000);
  const took = Date.now() - killedAt;
  t.diagnostic(`${other} leads cluster2 ${took} ms after ${leader} was killed (lease ${LEASE_S} s)`);
  assert.ok(took <= 2 * LEASE_S * 1000 + 1000, `hand-over took ${took} ms, more than two lease periods`);
  // The new leader keeps the config maps: none is stale or missing.
  const c2 = bed.cluster('cluster2');
  await c2.requestOk('DELETE', '/api/v1/namespaces/apps/configmaps/istio-ca-root-cert');
  const restored = await until('restored by the new leader', () => rootCert(c2, 'apps'), 10_000);
  const root = await rootCert(c2, 'default');
  assert.equal(restored, root, 'the same root everywhere');
});
