/**
 * "Already holds" case of issue 15: `kill -9` of a discovery process serving a remote cluster, and
 * a restart. The new process must come back ready with cluster2 synced and its endpoints, and
 * serve the same root CA: the root in istio-ca-secret is unchanged and the new process's serving
 * certificate on the TLS port chains to the root the old one used. Figure: time from restart to
 * ready and to cluster2's endpoints.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { putRemoteSecret, readerKubeconfig, seedServices, shardsOf, type ClusterzEntry, type Shardz } from '../../src/testing/remote-clusters.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-restart-'));
const N = 5;
const NS = 'restart';
let bed: Testbed;
const procs: DiscoveryProcess[] = [];

const until = poller({ timeoutMs: 60_000, intervalMs: 50, context: () => procs.at(-1)?.logs().split('\n').slice(-20).join('\n') ?? '' });

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  const c1 = bed.cluster('cluster1');
  const c2 = bed.cluster('cluster2');
  await c1.ensureNamespace('istio-system');
  await seedServices(c2, NS, N, '10.20.6');
  await putRemoteSecret(c1, 'istio-remote-secret-cluster2', { cluster2: await readerKubeconfig(c2) });
});

after(async () => {
  for (const p of procs) await p.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<DiscoveryProcess> {
  const p = await DiscoveryProcess.start({ kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  procs.push(p);
  return p;
}

async function rootInSecret(): Promise<string> {
  const s = await bed.cluster('cluster1').requestOk('GET', '/api/v1/namespaces/istio-system/secrets/istio-ca-secret') as { data: Record<string, string> };
  return Buffer.from(s.data['ca-cert.pem'] ?? '', 'base64').toString('utf8');
}

/** Whether the serving certificate on `addr` verifies against `rootPem` (chain only; names are not checked). */
async function servingChainsTo(addr: string, rootPem: string): Promise<{ authorized: boolean; issuer: string }> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ca: rootPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined, rejectUnauthorized: false }, () => {
      const issuer = s.getPeerCertificate().issuer.O ?? '';
      resolve({ authorized: s.authorized, issuer: String(issuer) });
      s.end();
    });
    s.once('error', reject);
  });
}

async function clusterReady(p: DiscoveryProcess): Promise<void> {
  await until('cluster2 synced with its endpoints', async () => {
    const c = (await p.json<ClusterzEntry[]>('/debug/clusterz')).find((x) => x.id === 'cluster2');
    return c?.syncStatus === 'synced' && shardsOf(await p.json<Shardz>('/debug/endpointShardz'), 'cluster2', NS) === N ? true : undefined;
  });
}

test('kill -9 and restart: ready again, cluster2 synced, same root CA', async () => {
  const first = await start();
  await first.ready(90_000);
  await clusterReady(first);
  const root = await rootInSecret();
  assert.match(root, /BEGIN CERTIFICATE/);
  const before = await servingChainsTo(first.secureGrpcAddr, root);
  assert.equal(before.authorized, true, 'the first process serves a certificate from the stored root');

  const pid = first.pid;
  assert.ok(pid);
  process.kill(pid, 'SIGKILL');
  await until('the first process is gone', async () => {
    try { await first.get('/ready'); return undefined; } catch { return true; }
  });

  const t0 = Date.now();
  const second = await start();
  await second.ready(90_000);
  const readyMs = Date.now() - t0;
  await clusterReady(second);
  const endpointsMs = Date.now() - t0;
  const rootAfter = await rootInSecret();
  const after = await servingChainsTo(second.secureGrpcAddr, root);
  console.log(`after kill -9: the new discovery was ready in ${readyMs} ms and had cluster2's ${N} endpoint shards in ${endpointsMs} ms; root CA unchanged: ${rootAfter === root}; serving certificate verifies against the old root: ${after.authorized}`);
  assert.equal(rootAfter, root, 'the root CA in istio-ca-secret was replaced');
  assert.equal(new X509Certificate(rootAfter).fingerprint256, new X509Certificate(root).fingerprint256);
  assert.equal(after.authorized, true, 'the restarted process does not serve from the same root');
});
