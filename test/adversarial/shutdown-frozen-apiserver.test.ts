/**
 * Shutdown whatever the API server does: a real `isthmus discovery` process leading its cluster
 * (istiod's election lock held, renewals in flight) gets SIGTERM while its kube-apiserver is frozen
 * (SIGSTOP: connections hang) and while it is gone (stopped: connections refused). It must exit
 * within its shutdown budget (5 s by default) plus process overhead; prints the time it took.
 * The API server is resumed and restarted in cleanup, even when the test fails.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed, readState } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-shutdown-'));
let bed: Testbed;
const procs: DiscoveryProcess[] = [];
let frozenPid: number | undefined;

/** Budget the process is given (its default) and the bound the test holds it to (generous for a busy machine). */
const BUDGET_MS = 5_000;
const BOUND_MS = 9_000;

function apiserverPid(): number {
  const pid = readState(dir).clusters['cluster1']?.pids.apiserver;
  if (pid === undefined) throw new Error('no apiserver pid in the test bed state');
  return pid;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  await bed.cluster('cluster1').ensureNamespace('istio-system');
});

after(async () => {
  if (frozenPid !== undefined && alive(frozenPid)) process.kill(frozenPid, 'SIGCONT');
  for (const d of procs) await d.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

/** A discovery process that leads cluster1 with a short lease, so lock renewals are always in flight. */
async function leadingDiscovery(): Promise<DiscoveryProcess> {
  const d = await DiscoveryProcess.start({
    kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1',
    env: { POD_NAMESPACE: 'istio-system' }, args: ['--leader-lease-duration', '4s'],
  });
  procs.push(d);
  await d.ready();
  const deadline = Date.now() + 30_000;
  for (;;) {
    const clusters = await d.json<{ id: string; leading?: boolean }[]>('/debug/clusterz');
    if (clusters.find((c) => c.id === 'cluster1')?.leading === true) break;
    if (Date.now() > deadline) throw new Error(`discovery never led cluster1:\n${d.logs()}`);
    await sleep(100);
  }
  return d;
}

/** SIGTERM, then the time until the process is gone (at most `limitMs`, then SIGKILL). */
async function terminate(d: DiscoveryProcess, limitMs = 60_000): Promise<number> {
  const pid = d.pid;
  if (pid === undefined) throw new Error('no pid');
  const t0 = performance.now();
  process.kill(pid, 'SIGTERM');
  while (alive(pid) && performance.now() - t0 < limitMs) await sleep(20);
  const ms = performance.now() - t0;
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return ms;
}

test('SIGTERM while the API server is frozen: discovery exits within its budget', async () => {
  const d = await leadingDiscovery();
  frozenPid = apiserverPid();
  process.kill(frozenPid, 'SIGSTOP');
  try {
    await sleep(3_000); // renewals, watches and relists now hang on the frozen server
    const ms = await terminate(d);
    const last = d.logs().split('\n').filter((l) => /stopped|gave up|shutting down/.test(l)).slice(-3).join('\n  ');
    console.log(`exit after SIGTERM with the API server frozen: ${(ms / 1000).toFixed(2)} s (budget ${BUDGET_MS / 1000} s)\n  ${last}`);
    assert.ok(ms < BOUND_MS, `took ${ms.toFixed(0)} ms to exit (bound ${BOUND_MS} ms); log:\n${d.logs().split('\n').slice(-15).join('\n')}`);
    assert.match(d.logs(), /"?stopped"?/, 'it shut down through its own shutdown path, not a crash');
  } finally {
    process.kill(frozenPid, 'SIGCONT');
    frozenPid = undefined;
  }
});

test('SIGTERM while the API server is gone: discovery exits within its budget', async () => {
  const d = await leadingDiscovery();
  await bed.cluster('cluster1').stopApiServer();
  try {
    await sleep(3_000);
    const ms = await terminate(d);
    console.log(`exit after SIGTERM with the API server stopped: ${(ms / 1000).toFixed(2)} s (budget ${BUDGET_MS / 1000} s)`);
    assert.ok(ms < BOUND_MS, `took ${ms.toFixed(0)} ms to exit (bound ${BOUND_MS} ms)`);
  } finally {
    await bed.cluster('cluster1').startApiServer();
  }
});

test('SIGTERM with a healthy API server: quick exit, and the lock is released for a successor', async () => {
  const d = await leadingDiscovery();
  const ms = await terminate(d);
  console.log(`exit after SIGTERM with a healthy API server: ${(ms / 1000).toFixed(2)} s`);
  assert.ok(ms < BOUND_MS);
  const cm = await bed.cluster('cluster1').requestOk('GET', '/api/v1/namespaces/istio-system/configmaps/istio-namespace-controller-election') as { metadata: { annotations?: Record<string, string> } };
  const rec = JSON.parse(cm.metadata.annotations?.['control-plane.alpha.kubernetes.io/leader'] ?? '{}') as { holderIdentity?: string };
  assert.equal(rec.holderIdentity, '', 'the leader released the lock on a clean shutdown');
});
