/**
 * Issue 15 item 6: a hostile remote API server (an HTTPS server on loopback, the attacker) serves
 * an EndpointSlice of 1,000,000 endpoints (~190 MB of JSON), once in a list and once as a watch
 * event. A real discovery process must keep its memory bounded, report the overflow (log,
 * /debug/clusterz, istiod_remote_cluster_sync_status) and keep serving the local cluster and the
 * hostile cluster's honest objects. Figures: peak RSS, bytes the attacker managed to send.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { HostileApiServer } from '../../src/testing/hostile-apiserver.ts';
import { hostsIn, putRemoteSecret, rssBytes, seedServices, shardsOf, type ClusterzEntry, type RegistryzEntry, type Shardz } from '../../src/testing/remote-clusters.ts';
import { generateClusterCerts } from '../../src/testing/testbed/certs.ts';
import { tokenKubeconfig } from '../../src/testing/testbed/kubeconfig.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-hostile-'));
const MiB = 1024 * 1024;
/** The stated bound on discovery's resident memory while both hostile clusters attack. */
const RSS_BOUND = 512 * MiB;
let bed: Testbed;
let disc: DiscoveryProcess | undefined;
const servers: HostileApiServer[] = [];
let peak = 0;
let sampling = true;
let sampler: Promise<void> | undefined;
let rssBefore = 0;

const until = poller({ timeoutMs: 60_000, intervalMs: 100, context: () => disc?.logs().split('\n').slice(-20).join('\n') ?? '' });
const d = () => { assert.ok(disc); return disc; };

before(async () => {
  const certs = await generateClusterCerts('hostile');
  for (const mode of ['list', 'watch'] as const) {
    servers.push(await HostileApiServer.start({ mode, certPem: certs.serverCertPem, keyPem: certs.serverKeyPem, hugeEndpoints: 1_000_000, moderateEndpoints: 2000 }));
  }
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  const c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system', PILOT_REMOTE_CLUSTER_TIMEOUT: '5s' } });
  await d().ready(60_000);
  const pid = d().pid;
  assert.ok(pid);
  sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, rssBytes(pid) ?? 0);
      await sleep(20);
    }
  })();
  const [list, watch] = servers;
  assert.ok(list && watch);
  await sleep(500);
  rssBefore = rssBytes(pid) ?? 0;
  await putRemoteSecret(c1, 'hostile', {
    'hostile-list': tokenKubeconfig({ name: 'hostile-list', server: list.url, caCertPem: certs.caCertPem, token: 'anything' }),
    'hostile-watch': tokenKubeconfig({ name: 'hostile-watch', server: watch.url, caCertPem: certs.caCertPem, token: 'anything' }),
  });
});

after(async () => {
  sampling = false;
  await sampler;
  console.log(`discovery peak RSS over the whole test: ${(peak / MiB).toFixed(0)} MiB (baseline ${(rssBefore / MiB).toFixed(0)} MiB)`);
  await disc?.stop();
  await bed.down();
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a remote serving a 1,000,000-endpoint slice costs bounded memory, is reported, and the rest keeps working', async () => {
  const [list, watch] = servers;
  assert.ok(list && watch);
  // Both attacks must have been tried, repeatedly.
  await until('the attacker served the huge slice at least 3 times on each server', () => (list.hugeResponses >= 3 && watch.hugeResponses >= 3 ? true : undefined));
  const clusters = await until('both hostile clusters reported', async () => {
    const all = await d().json<ClusterzEntry[]>('/debug/clusterz');
    const l = all.find((c) => c.id === 'hostile-list');
    const w = all.find((c) => c.id === 'hostile-watch');
    return l?.reason === 'ISTHMUS_KUBE_RESPONSE_TOO_LARGE' && w?.reason === 'ISTHMUS_KUBE_RESPONSE_TOO_LARGE' ? { l, w } : undefined;
  });
  assert.match(clusters.l.lastError ?? '', /secret istio-system\/hostile key "hostile-list".*larger than/);
  assert.match(clusters.w.lastError ?? '', /secret istio-system\/hostile key "hostile-watch".*(larger than|at most 1000)/);
  assert.equal(clusters.w.syncStatus, 'synced', 'the watch-mode cluster synced its honest objects');

  // The hostile cluster's honest slice is served; the oversized ones are not.
  const shardz = await d().json<Shardz>('/debug/endpointShardz');
  assert.equal(shardz['normal.hostile.svc.cluster.local']?.['hostile']?.Shards['hostile-watch']?.length, 1);
  assert.equal(shardsOf(shardz, 'hostile-watch', 'hostile'), 1, 'only the honest slice has endpoints');

  // The local cluster keeps working while the attack goes on.
  const c1 = bed.cluster('cluster1');
  const t0 = Date.now();
  await seedServices(c1, 'local-check', 1, '10.10.9');
  await until('local service seen', async () => (hostsIn(await d().json<RegistryzEntry[]>('/debug/registryz'), 'local-check').length === 1 ? true : undefined));
  const localMs = Date.now() - t0;
  assert.equal((await d().get('/ready')).status, 200);

  const logs = d().logs();
  assert.match(logs, /hostile-list.*larger than the \d+-byte limit/);
  assert.match(logs, /hostile-watch.*(Kubernetes allows at most 1000|larger than)/);
  const metrics = await (await fetch(`http://${d().monitoringAddr}/metrics`)).text();
  assert.match(metrics, /istiod_remote_cluster_sync_status\{cluster_id="hostile-list",[^}]*reason="ISTHMUS_KUBE_RESPONSE_TOO_LARGE"\} 0/);
  assert.match(metrics, /istiod_remote_cluster_sync_status\{cluster_id="hostile-watch",[^}]*reason="ISTHMUS_KUBE_RESPONSE_TOO_LARGE"\} 1/);

  console.log(`discovery RSS: ${(rssBefore / MiB).toFixed(0)} MiB before the attack, peak ${(peak / MiB).toFixed(0)} MiB during it (bound ${RSS_BOUND / MiB} MiB); `
    + `the attacker served the 1,000,000-endpoint slice ${list.hugeResponses} times as a list and ${watch.hugeResponses} times as a watch event, `
    + `and got ${((list.hugeBytesSent + watch.hugeBytesSent) / MiB).toFixed(0)} MiB accepted in all; a local service appeared in ${localMs} ms`);
  assert.ok(peak > 0);
  assert.ok(peak < RSS_BOUND, `peak RSS ${(peak / MiB).toFixed(0)} MiB`);
});
