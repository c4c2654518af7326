/**
 * The test harness's `DiscoveryProcess.start` against the port race CI once lost: a port picked free
 * is taken by another process before the child binds it. Ports are taken for real (a listening
 * socket on the port the picker hands out); the discovery processes are real, against a real
 * API server.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { freePort } from '../../src/testing/testbed/procs.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-dpports-'));
let bed: Testbed | undefined;
const started: DiscoveryProcess[] = [];
let squatter: Server | undefined;
let taken = 0;

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  await bed.cluster('cluster1').ensureNamespace('istio-system');
  // Another process's socket, listening on the port the picker will hand out.
  squatter = createServer();
  await new Promise<void>((resolve, reject) => {
    squatter?.once('error', reject);
    squatter?.listen(0, '127.0.0.1', () => { resolve(); });
  });
  const addr = squatter.address();
  taken = typeof addr === 'object' && addr !== null ? addr.port : 0;
  assert.ok(taken > 0);
});

after(async () => {
  for (const d of started) await d.stop();
  await new Promise((r) => { if (squatter) squatter.close(r); else r(undefined); });
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

function opts(pickPort: () => Promise<number>, maxAttempts?: number): Parameters<typeof DiscoveryProcess.start>[0] {
  if (!bed) throw new Error('no test bed');
  return {
    kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' }, pickPort,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  };
}

test('a picked port taken before discovery binds it: start retries on fresh ports and discovery gets ready', async () => {
  let calls = 0;
  // The first pick is the taken port (it becomes the debug HTTP address, the first listener bound).
  const pick = async (): Promise<number> => (calls++ === 0 ? taken : freePort());
  const t0 = Date.now();
  const d = await DiscoveryProcess.start(opts(pick));
  started.push(d);
  await d.ready(60_000);
  const ms = Date.now() - t0;
  const addrs = [d.httpAddr, d.grpcAddr, d.secureGrpcAddr, d.monitoringAddr, d.httpsAddr];
  console.log(`port ${taken} taken by another socket: discovery listening after ${d.attempts} attempts (${calls} ports picked), ready in ${ms} ms on ${addrs.join(' ')}`);
  assert.equal(d.attempts, 2, 'the first process found its port taken, the second one listened');
  assert.ok(!addrs.some((a) => a.endsWith(`:${taken}`)), 'the retry does not reuse the taken port');
  assert.equal((await d.get('/ready')).status, 200);
});

test('a port taken at every attempt: start gives up after maxAttempts with an error naming EADDRINUSE', async () => {
  let calls = 0;
  // Five picks per attempt: every attempt gets the taken port among its five.
  const pick = async (): Promise<number> => (calls++ % 5 === 0 ? taken : freePort());
  const t0 = Date.now();
  await assert.rejects(DiscoveryProcess.start(opts(pick, 2)), (err: Error) => {
    console.log(`every attempt given port ${taken}: start failed after ${Date.now() - t0} ms with:\n${err.message}`);
    assert.match(err.message, /could not bind its ports in 2 attempts/);
    assert.match(err.message, /EADDRINUSE/);
    assert.match(err.message, new RegExp(`:${taken}`), 'the error names the taken address');
    return true;
  });
});
