/**
 * The multicluster secret controller against real API servers: cluster1 holds the remote secrets,
 * cluster2 is reached through the kubeconfig inside them, with a real service-account token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { SecretController, type ClusterComponent, type RemoteClusterStatus } from '../../src/kube/multicluster/secretcontroller.ts';
import { clusterId, type ClusterId } from '../../src/model/ids.ts';
import { poller } from '../../src/testing/wait.ts';
import { CaptureLogger } from '../../src/testing/capture-logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-secrets-'));
let bed: Testbed;

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  const c2 = bed.cluster('cluster2');
  await c2.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader-view');
  await bed.cluster('cluster1').ensureNamespace('istio-system');
});

after(async () => {
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

const until = poller({ timeoutMs: 15_000, intervalMs: 25 });

async function applySecret(name: string, data: Record<string, string>): Promise<void> {
  const c1 = bed.cluster('cluster1');
  const body = {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': Object.keys(data)[0] ?? '' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  const res = await c1.request('PUT', `/api/v1/namespaces/istio-system/secrets/${name}`, body);
  if (res.status === 404) await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', body);
  else assert.ok(res.status < 300, res.body);
}

/** A real per-cluster component: an informer on the remote cluster's Services. */
class ServiceWatcher implements ClusterComponent {
  readonly informer: Informer<KubeObject>;
  readonly synced: Promise<void>;
  active = false;
  stopped: boolean | undefined;
  readonly id: ClusterId;

  constructor(id: ClusterId, client: KubeClient) {
    this.id = id;
    this.informer = new Informer<KubeObject>(client, { path: '/api/v1/services' });
    this.informer.start();
    this.synced = this.informer.synced;
  }
  activate(): void { this.active = true; }
  async stop(removeState: boolean): Promise<void> {
    this.stopped = removeState;
    await this.informer.stop();
  }
}

test('remote secrets add, rotate, reject and remove clusters', async () => {
  const c2 = bed.cluster('cluster2');
  const made: ServiceWatcher[] = [];
  const log = new CaptureLogger();
  const ctl = new SecretController({
    client: KubeClient.fromFile(bed.cluster('cluster1').kubeconfigPath),
    namespace: 'istio-system',
    localClusterId: clusterId('cluster1'),
    factory: (id, client) => { const w = new ServiceWatcher(id, client); made.push(w); return w; },
    syncTimeoutMs: 3000,
    log,
  });
  const status = (id: string): RemoteClusterStatus | undefined => ctl.statuses().find((s) => s.id === id);
  try {
    const token1 = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
    await applySecret('istio-remote-secret-cluster2', { cluster2: c2.tokenKubeconfig(token1, 'cluster2') });
    ctl.start();
    await ctl.ready();
    assert.equal(status('cluster2')?.syncStatus, 'synced');
    assert.equal(status('cluster2')?.secret, 'istio-system/istio-remote-secret-cluster2');
    const first = made[0];
    assert.ok(first?.active, 'a new cluster publishes at once');
    assert.ok(first.informer.get('default/kubernetes'), 'the component reads cluster2 through the secret\'s token');

    // Rotation: a new token builds a replacement; the old one keeps serving until it has synced.
    const token2 = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
    await applySecret('istio-remote-secret-cluster2', { cluster2: c2.tokenKubeconfig(token2, 'cluster2') });
    const second = await until('replacement', () => made[1]);
    await until('swap', () => (first.stopped === false ? true : undefined));
    assert.equal(second.active, true);
    assert.equal(first.stopped, false, 'the old component hands over without removing state');
    assert.equal(status('cluster2')?.syncStatus, 'synced');

    // Bad entries are reported, name the secret and key, and leave cluster2 alone.
    await applySecret('bad-secrets', {
      cluster1: c2.tokenKubeconfig(token2, 'cluster1'),
      cluster3: 'this: is: not: yaml: [',
      cluster4: c2.tokenKubeconfig(token2, 'cluster4').replace(/certificate-authority-data: .*/, 'certificate-authority: /etc/passwd'),
    });
    const bad = await until('rejections', () => {
      const s = ctl.statuses().filter((x) => x.secret === 'istio-system/bad-secrets');
      return s.length === 3 ? s : undefined;
    });
    assert.match(bad.find((s) => s.id === 'cluster1')?.lastError ?? '', /secret istio-system\/bad-secrets key "cluster1": names the local cluster/);
    assert.match(bad.find((s) => s.id === 'cluster3')?.lastError ?? '', /key "cluster3": not valid YAML/);
    assert.match(bad.find((s) => s.id === 'cluster4')?.lastError ?? '', /clusters\[0\]\.cluster\.certificate-authority is not allowed/);
    assert.equal(made.length, 2, 'no component was built for a rejected key');
    assert.equal(status('cluster2')?.syncStatus, 'synced');

    // A reachable server that refuses the token: the cluster is known but never syncs, and says so.
    await applySecret('istio-remote-secret-cluster5', { cluster5: c2.tokenKubeconfig('not-a-token', 'cluster5') });
    await until('cluster5 timeout', () => (status('cluster5')?.syncStatus === 'timeout' ? true : undefined), 10_000);

    // Deleting the secret removes the cluster and stops its component with its state.
    await bed.cluster('cluster1').requestOk('DELETE', '/api/v1/namespaces/istio-system/secrets/istio-remote-secret-cluster2');
    await until('removal', () => (status('cluster2') === undefined ? true : undefined));
    await until('second stopped', () => (second.stopped === true ? true : undefined));
  } finally {
    await ctl.stop();
  }
});
