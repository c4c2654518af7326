/**
 * Who may read the control plane's debug HTTP endpoints from another host: a caller in a network
 * namespace reaches discovery's debug address over a veth. /ready is public; debug data needs a
 * token of a service account in the system namespace (verified by TokenReview).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { NetnsLab, ROOT, netnsSupported, type Netns } from '../../src/testing/netns.ts';
import { freePort } from '../../src/testing/testbed/procs.ts';

const unsupported = netnsSupported();
const dir = mkdtempSync(join(tmpdir(), 'isthmus-dbgauth-'));
let bed: Testbed;
let disc: DiscoveryProcess;
let lab: NetnsLab;
let client: Netns;
let debugAddr = '';

/** GET from inside the client namespace; resolves `<status> <body>`. */
async function remoteGet(path: string, token?: string): Promise<{ status: number; body: string }> {
  const script = `fetch(${JSON.stringify(`http://${debugAddr}${path}`)}, { headers: ${JSON.stringify(token ? { authorization: `Bearer ${token}` } : {})} })` +
    '.then(async (r) => { process.stdout.write(r.status + " " + await r.text()); }, (e) => { process.stdout.write("0 " + e.message); });';
  const child = lab.spawn(client, process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString('utf8'); });
  await new Promise((r) => child.once('exit', r));
  const sp = out.indexOf(' ');
  return { status: Number(out.slice(0, sp)), body: out.slice(sp + 1) };
}

before(async () => {
  if (unsupported !== undefined) throw new Error(`cannot run the debug-auth test: ${unsupported}`);
  lab = await NetnsLab.create('isthmus-dbgauth');
  client = lab.namespace('client');
  lab.link({ a: ROOT, b: client, aAddr: '10.98.7.1/24', bAddr: '10.98.7.2/24' });
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  await bed.cluster('cluster1').ensureNamespace('istio-system');
  debugAddr = `10.98.7.1:${await freePort()}`;
  disc = await DiscoveryProcess.start({ kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1', httpAddr: debugAddr, env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
});

after(async () => {
  await disc.stop();
  await bed.down();
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('a remote caller: /ready is public, debug data needs a system-namespace token', async () => {
  const c1 = bed.cluster('cluster1');
  const ready = await remoteGet('/ready');
  assert.equal(ready.status, 200, ready.body);

  const anon = await remoteGet('/debug/clusterz');
  assert.equal(anon.status, 401);
  assert.match(anon.body, /bearer token of a service account in the system namespace/);

  const workload = await remoteGet('/debug/clusterz', await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' }));
  assert.equal(workload.status, 401);
  assert.match(workload.body, /service account sample\/sleep may not read debug endpoints/);

  const forged = await remoteGet('/debug/clusterz', 'not-a-token');
  assert.equal(forged.status, 401);
  assert.match(forged.body, /authentication failure/);

  const system = await remoteGet('/debug/clusterz', await c1.mintToken('istio-system', 'istiod', { audience: 'istio-ca' }));
  assert.equal(system.status, 200, system.body);
  assert.equal((JSON.parse(system.body) as { id: string }[])[0]?.id, 'cluster1');
});
