/**
 * "Already holds" case of issue 15: remote-secret churn. cluster2's remote secret is rotated many
 * times (a fresh token each time, some rotations faster than a replacement can sync) while the
 * test polls /debug/registryz and /debug/endpointShardz and holds an EDS subscription open for one
 * of cluster2's services. A gap is any observation in which cluster2's services or endpoints are
 * missing; the count must be 0. Figures: rotations, observations, gaps.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { hostsIn, putRemoteSecret, readerKubeconfig, seedServices, shardsOf, type ClusterzEntry, type RegistryzEntry, type Shardz } from '../../src/testing/remote-clusters.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../src/proto/codec.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL } from '../../src/model/type-urls.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-churn-'));
const N = 5;
const NS = 'churn';
const ROTATIONS = 30;
const EDS_NAME = `outbound|8080||svc-0.${NS}.svc.cluster.local`;
let bed: Testbed;
let c2: TestbedCluster;
let disc: DiscoveryProcess | undefined;
let ads: AdsTestClient | undefined;

const until = poller({ timeoutMs: 60_000, intervalMs: 50, context: () => disc?.logs().split('\n').slice(-20).join('\n') ?? '' });
const d = () => { assert.ok(disc); return disc; };

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  const c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  await c1.ensureNamespace('istio-system');
  await seedServices(c2, NS, N, '10.20.5');
  await putRemoteSecret(c1, 'istio-remote-secret-cluster2', { cluster2: await readerKubeconfig(c2) });
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await d().ready(90_000);
  await until(`${N} shards of cluster2`, async () => (shardsOf(await d().json<Shardz>('/debug/endpointShardz'), 'cluster2', NS) === N ? true : undefined));
});

after(async () => {
  ads?.close();
  await disc?.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test(`rotating cluster2's secret ${ROTATIONS} times leaves no gap in registryz, endpointShardz or EDS`, async () => {
  const c1 = bed.cluster('cluster1');
  const client = new AdsTestClient({ address: d().grpcAddr, nodeId: `sidecar~10.10.5.1~client-0.${NS}~${NS}.svc.cluster.local`, metadata: { NAMESPACE: NS, CLUSTER_ID: 'cluster1' } });
  ads = client;
  const edsCount = (r: Awaited<ReturnType<AdsTestClient['next']>>) => (r.resources ?? [])
    .map((a) => unpackAny(clusterLoadAssignmentCodec, a))
    .filter((c) => c.clusterName === EDS_NAME)
    .reduce((n, c) => n + (c.endpoints ?? []).reduce((m, l) => m + (l.lbEndpoints ?? []).length, 0), 0);
  const first = await client.request(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, [EDS_NAME]);
  assert.equal(edsCount(first), 1, 'EDS has cluster2\'s endpoint before the churn');
  client.ack(first, [EDS_NAME]);

  const state = { observing: true };
  let observations = 0;
  let gaps = 0;
  const gapSamples: string[] = [];
  const observer = (async () => {
    while (state.observing) {
      const [reg, shardz] = await Promise.all([d().json<RegistryzEntry[]>('/debug/registryz'), d().json<Shardz>('/debug/endpointShardz')]);
      const hosts = hostsIn(reg, NS).length;
      const shards = shardsOf(shardz, 'cluster2', NS);
      observations++;
      if (hosts !== N || shards !== N) {
        gaps++;
        if (gapSamples.length < 5) gapSamples.push(`services ${hosts}/${N}, shards ${shards}/${N}`);
      }
      await sleep(10);
    }
  })();
  let edsPushes = 0;
  let edsGaps = 0;
  const edsWatcher = (async () => {
    while (state.observing) {
      let r;
      try {
        r = await client.next(500);
      } catch {
        continue;
      }
      edsPushes++;
      if (edsCount(r) !== 1) edsGaps++;
      client.ack(r, [EDS_NAME]);
    }
  })();

  const t0 = Date.now();
  for (let i = 0; i < ROTATIONS; i++) {
    const token = await c2.mintToken('istio-system', 'istio-reader-service-account');
    await putRemoteSecret(c1, 'istio-remote-secret-cluster2', { cluster2: c2.tokenKubeconfig(token) });
    // Every third rotation comes before the previous replacement can have synced.
    await sleep(i % 3 === 0 ? 20 : 300);
  }
  const churnMs = Date.now() - t0;
  await until('cluster2 synced on the last kubeconfig', async () => {
    const c = (await d().json<ClusterzEntry[]>('/debug/clusterz')).find((x) => x.id === 'cluster2');
    return c?.syncStatus === 'synced' && d().logs().split('\n').slice(-40).some((l) => l.includes('cluster cluster2 switched to the new kubeconfig')) ? true : undefined;
  });
  await sleep(1000);
  state.observing = false;
  await observer;
  await edsWatcher;
  console.log(`${ROTATIONS} rotations in ${churnMs} ms: ${observations} registryz/endpointShardz observations, ${gaps} gaps; ${edsPushes} EDS pushes during the churn, ${edsGaps} without cluster2's endpoint`);
  assert.ok(observations > 50, `only ${observations} observations`);
  assert.equal(gaps, 0, `gaps: ${gapSamples.join('; ')}`);
  assert.equal(edsGaps, 0);
  assert.equal(client.error, undefined);
});
