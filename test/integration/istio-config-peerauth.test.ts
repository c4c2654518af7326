/**
 * The Istio config watcher against a real API server (test bed, no nodes): PeerAuthentications are
 * picked up once their CRD (as the install renders it) appears, in v1 and v1beta1, a bad one is
 * skipped with a warning naming the object and field, and changes reach onChange (a full push).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { IstioConfigWatcher } from '../../src/config/istio-config.ts';
import { ISTIO_CRDS, crd } from '../../src/operator/render/base.ts';
import { poller } from '../../src/testing/wait.ts';
import { CaptureLogger } from '../../src/testing/capture-logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-peerauth-'));
let bed: Testbed;
let watcher: IstioConfigWatcher | undefined;

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
});

after(async () => {
  await watcher?.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

const until = poller({ timeoutMs: 60_000, intervalMs: 50 });

async function createPa(c: TestbedCluster, version: string, ns: string, name: string, spec: unknown): Promise<void> {
  await c.ensureNamespace(ns);
  await c.requestOk('POST', `/apis/security.istio.io/${version}/namespaces/${ns}/peerauthentications`, {
    apiVersion: `security.istio.io/${version}`, kind: 'PeerAuthentication', metadata: { name, namespace: ns }, spec,
  });
}

test('PeerAuthentications: absent CRD tolerated, then v1 and v1beta1 objects watched, a bad one named and skipped', async () => {
  const c = bed.cluster('cluster1');
  const log = new CaptureLogger();
  const warnings = log.warnings;
  let changes = 0;
  watcher = new IstioConfigWatcher(KubeClient.load({ kubeconfig: c.kubeconfigPath }), {
    domainSuffix: 'cluster.local', rootNamespace: 'istio-system',
    onChange: () => { changes++; }, log,
  });
  watcher.start();
  const w = watcher;
  const missing = await until('the watch reports the missing CRD', () => { const s = w.status().peerauthentications; return s.lastError !== undefined ? s : undefined; });
  console.log(`without the CRD: healthy=${String(missing.healthy)} lastError=${missing.lastError ?? ''}`);
  assert.deepEqual(w.snapshot().peerAuthentications, []);

  const def = ISTIO_CRDS.find((d) => d.kind === 'PeerAuthentication');
  assert.ok(def, 'the install renders the PeerAuthentication CRD');
  await c.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(def));
  await until('the CRD is served', async () => {
    try { await c.requestOk('GET', '/apis/security.istio.io/v1beta1/peerauthentications'); return true; } catch { return undefined; }
  });
  await createPa(c, 'v1beta1', 'istio-system', 'default', { mtls: { mode: 'STRICT' } });
  await createPa(c, 'v1', 'shop', 'web', { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { 8080: { mode: 'DISABLE' } } });
  await createPa(c, 'v1', 'shop', 'bad', { mtls: { mode: 'SOMETIMES' } });
  const t0 = Date.now();
  const pas = await until('both valid policies in the snapshot and the bad one warned about', () => {
    const s = w.snapshot().peerAuthentications;
    return s.length === 2 && warnings.some((m) => m.includes('PeerAuthentication shop/bad')) ? s : undefined;
  });
  console.log(`policies seen ${Date.now() - t0} ms after creation; onChange calls: ${changes}`);
  assert.deepEqual(pas.map((p) => [p.namespace, p.name, p.inRootNamespace, p.mode, p.selector, p.portLevelMtls]), [
    ['istio-system', 'default', true, 'STRICT', {}, []],
    ['shop', 'web', false, 'UNSET', { app: 'web' }, [{ port: 8080, mode: 'DISABLE' }]],
  ]);
  assert.ok(pas.every((p) => /^\d{4}-\d\d-\d\dT/.test(p.creationTimestamp)), 'creation times kept (the oldest policy wins)');
  assert.ok(changes >= 3, `onChange per object (${changes})`);
  const warning = warnings.find((m) => m.includes('PeerAuthentication shop/bad'));
  console.log(`warning: ${warning ?? '(none)'}`);
  assert.match(warning ?? '', /ISTHMUS_ISTIO_CONFIG_INVALID.*PeerAuthentication shop\/bad ignored: spec\.mtls\.mode: want one of/);
  assert.equal(w.status().peerauthentications.healthy, true);

  await c.requestOk('DELETE', '/apis/security.istio.io/v1/namespaces/istio-system/peerauthentications/default');
  await until('the deleted policy leaves the snapshot', () => (w.snapshot().peerAuthentications.length === 1 ? true : undefined));
});
