/**
 * Interop with the real istioctl (built from the istio.io/istio Go module by
 * scripts/istio-build.sh, cached per machine): `istioctl x proxy-status` with
 * ISTIOCTL_XDS_ADDRESS pointed at `isthmus xds-proxy` in front of two real `isthmus discovery`
 * replicas must print the same proxies as our CLI, each once, ISTIOD `<external>`; pointed at one
 * replica's TLS port it lists that replica's proxies under the replica's name.
 *
 * Real parts only: a real kube-apiserver (istioctl mints its token there: TokenRequest for SA
 * `default` in ISTIOCTL_ISTIONAMESPACE, audience istio-ca), replicas on 127.0.0.2 / 127.0.0.3 at the
 * same secure port, simulated sidecars (real ADS streams with real tokens) and a real
 * @grpc/grpc-js-xds app. Run with `npm run test:interop` (first run builds istioctl: minutes).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { runCli, XdsProxyProcess } from '../../src/testing/aggregator/processes.ts';
import { GRPC_APP, REPLICA_IPS as IPS, ReplicaMesh, type ReplicaName } from '../../src/testing/aggregator/replicas.ts';
import { ensureIstioctl, runIstioctl } from '../../src/testing/interop/istioctl.ts';
import { commandTable, tableRecords } from '../../src/testing/interop/table.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-interop-'));
/** Proxy name -> replica holding it. */
const HOLDERS: Record<string, ReplicaName> = {
  'a-0.sample': 'istiod-a', 'a-stale.sample': 'istiod-a', [GRPC_APP]: 'istiod-a', 'b-0.other': 'istiod-b', 'b-nack.sample': 'istiod-b',
};
const PROXIES = Object.keys(HOLDERS).sort();

let istioctl = '';
const mesh = new ReplicaMesh();
const { replicas, clients } = mesh;
let c1: TestbedCluster;
let securePort = 0;
let proxy: XdsProxyProcess | undefined;

const env = (address: string) => ({ ISTIOCTL_XDS_ADDRESS: address, ISTIOCTL_ISTIONAMESPACE: 'istio-system', KUBECONFIG: c1.kubeconfigPath, HOME: dir });

before(async () => {
  const t0 = Date.now();
  istioctl = await ensureIstioctl();
  process.stderr.write(`interop: istioctl ready after ${Math.round((Date.now() - t0) / 1000)} s: ${istioctl}\n`);
  // istioctl mints its token for SA default in istio-system
  await mesh.up({ bedDir: join(dir, 'bed'), appDir: dir, prepare: (c) => c.ensureServiceAccount('istio-system', 'default') });
  ({ c1, securePort } = mesh);
  proxy = await XdsProxyProcess.start(['--kubeconfig', c1.kubeconfigPath, '--istio-namespace', 'istio-system', '--xds-port', String(securePort), '--replica-timeout', '2s']);
});

after(async () => {
  for (const c of clients) c.close();
  await mesh.grpcApp?.stop();
  await proxy?.stop();
  for (const d of Object.values(replicas)) await d.stop();
  await mesh.bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

test('istioctl x proxy-status through isthmus xds-proxy: the same proxies as our CLI, each once, ISTIOD <external>', async (t) => {
  const address = `127.0.0.1:${proxy?.port ?? 0}`;
  const t0 = Date.now();
  const real = await runIstioctl(istioctl, ['x', 'proxy-status', '--kubeconfig', c1.kubeconfigPath], env(address));
  t.diagnostic(`istioctl x proxy-status (${Date.now() - t0} ms):`);
  for (const line of real.stdout.trimEnd().split('\n')) t.diagnostic(line);
  if (real.stderr !== '') t.diagnostic(`stderr: ${real.stderr.trimEnd()}`);
  const theirs = commandTable(real, 'istioctl');
  assert.deepEqual(theirs.header, ['NAME', 'CLUSTER', 'ISTIOD', 'VERSION', 'SUBSCRIBED TYPES']);
  assert.deepEqual(theirs.rows.map((r) => r[0]), PROXIES, 'every proxy exactly once');
  for (const r of tableRecords(theirs)) {
    assert.equal(r['ISTIOD'], '<external>', real.stdout);
    assert.equal(r['CLUSTER'], 'cluster1', real.stdout);
    assert.equal(r['VERSION'], '1.28.0', real.stdout);
  }

  const ours = commandTable(await runCli(['x', 'proxy-status'], env(address)), 'isthmus');
  assert.deepEqual(tableRecords(ours), tableRecords(theirs), 'isthmus x proxy-status prints the same table');

  // Per-type statuses (-v 1): istioctl reads SYNCED / STALE / ERROR from our ClientConfig encoding.
  const v1 = await runIstioctl(istioctl, ['proxy-status', '-v', '1', '--kubeconfig', c1.kubeconfigPath], env(address));
  for (const line of v1.stdout.trimEnd().split('\n')) t.diagnostic(line);
  const perType = tableRecords(commandTable(v1, 'istioctl -v 1'));
  const status = (name: string, type: string) => perType.find((r) => r['NAME'] === name)?.[type];
  assert.equal(status('a-0.sample', 'CDS'), 'SYNCED');
  assert.equal(status('a-stale.sample', 'CDS'), 'STALE');
  assert.equal(status('b-nack.sample', 'CDS'), 'ERROR');
  assert.equal(status('a-0.sample', 'LDS'), 'IGNORED');
  const oursV1 = tableRecords(commandTable(await runCli(['proxy-status', '-v', '1'], env(address)), 'isthmus -v 1'));
  assert.deepEqual(oursV1, perType, 'isthmus proxy-status -v 1 prints the same table');
});

test('istioctl x proxy-status against one replica\'s TLS port: that replica\'s proxies under its name', async (t) => {
  const real = await runIstioctl(istioctl, ['x', 'proxy-status', '--kubeconfig', c1.kubeconfigPath], env(`${IPS['istiod-a']}:${securePort}`));
  for (const line of real.stdout.trimEnd().split('\n')) t.diagnostic(line);
  const rows = tableRecords(commandTable(real, 'istioctl direct'));
  assert.deepEqual(rows.map((r) => r['NAME']), PROXIES.filter((p) => HOLDERS[p] === 'istiod-a'));
  assert.ok(rows.every((r) => r['ISTIOD'] === 'istiod-a'), real.stdout);
  const ours = tableRecords(commandTable(await runCli(['x', 'proxy-status'], env(`${IPS['istiod-a']}:${securePort}`)), 'isthmus direct'));
  assert.deepEqual(ours, rows);
});

test('istioctl with a token of another namespace sees only that namespace\'s proxies', async () => {
  // ISTIOCTL_ISTIONAMESPACE=sample: istioctl mints a token for sample/default and says NAMESPACE=sample.
  await c1.ensureServiceAccount('sample', 'default');
  const real = await runIstioctl(istioctl, ['x', 'proxy-status', '--kubeconfig', c1.kubeconfigPath], { ...env(`127.0.0.1:${proxy?.port ?? 0}`), ISTIOCTL_ISTIONAMESPACE: 'sample' });
  const rows = tableRecords(commandTable(real, 'istioctl as sample'));
  assert.deepEqual(rows.map((r) => r['NAME']), PROXIES.filter((p) => p.endsWith('.sample')));
});

test('istioctl x version through the xds-proxy: control plane and data plane versions from syncz', async (t) => {
  const r = await runIstioctl(istioctl, ['x', 'version', '--kubeconfig', c1.kubeconfigPath], env(`127.0.0.1:${proxy?.port ?? 0}`));
  for (const line of r.stdout.trimEnd().split('\n')) t.diagnostic(line);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^control plane version: \S+$/m);
  assert.doesNotMatch(r.stdout, /MISSING CP ID/);
  assert.match(r.stdout, /^data plane version: 1\.28\.0 \(5 proxies\)$/m);
});
