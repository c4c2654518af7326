/**
 * Guide 2 end to end on real nodes (src/testing/guides/external.ts): an external control plane with
 * two replicas in the `external` cluster serves the `remote` cluster, whose sidecars (real
 * pilot-agent + Envoy) get certificates and config from it; `isthmus xds-proxy` runs beside the
 * replicas. A user port-forwards 9090 with kubectl and runs the real istioctl with the guide's
 * variables: every proxy of the remote cluster once, SYNCED, ISTIOD `<external>`. Without the
 * variables istioctl fails. With one replica killed, our CLI warns about it and the proxies come back
 * on the survivor. Prints the times it measures. Needs istioctl (`npm run testbed -- build-istioctl`).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CP_NAMESPACE, deployRemoteSamples, EXTERNAL, forwardXdsProxy, installExternal, PROXY_STATUS_ENV, REMOTE } from '../../src/testing/guides/external.ts';
import { callHelloworld, summarize, waitFor } from '../../src/testing/guides/multinetwork.ts';
import { mergeKubeconfigs, Shell } from '../../src/testing/guides/shell.ts';
import { ensureIstioctl } from '../../src/testing/interop/istioctl.ts';
import { commandTable, tableRecords } from '../../src/testing/interop/table.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';

const dir = mkdtempSync('/tmp/itb-');
let bed: Testbed | undefined;
let forward: ChildProcessWithoutNullStreams | undefined;

after(async () => {
  forward?.kill('SIGTERM');
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

const secs = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);

/** The pid of the control-plane process of pod `pod` (its environment names it), seen from the host. */
function discoveryPid(pod: string): number {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (env.includes(`POD_NAME=${pod}`) && cmd.includes('discovery')) return Number(pid);
    } catch { /* gone or not ours */ }
  }
  throw new Error(`no control-plane process for pod ${pod} on this host`);
}

test('guide 2: external control plane, two replicas, proxy-status through the aggregating proxy with the real istioctl', { timeout: 1_500_000 }, async (t) => {
  const istioctl = await ensureIstioctl((l) => { t.diagnostic(l); });
  const t0 = Date.now();
  bed = await Testbed.up({ dir, clusters: [EXTERNAL, REMOTE], nodes: true, log: (l) => { t.diagnostic(l); } });
  console.log(`guide-external: two clusters with a Ready node each in ${secs(t0)} s`);
  const kubeconfig = join(dir, 'kubeconfig');
  mergeKubeconfigs(bed.clusters.map((c) => c.kubeconfigPath), kubeconfig);
  const transcript: string[] = [];
  const sh = new Shell({ kubeconfig, istioctl, transcript: (l) => { transcript.push(l); t.diagnostic(l); } });

  const t1 = Date.now();
  const mesh = await installExternal(bed, sh, dir);
  console.log(`guide-external: control plane (2 replicas) and xds-proxy Ready in ${secs(t1)} s; the remote reaches it at ${mesh.controlPlaneAddress}`);
  const t2 = Date.now();
  await deployRemoteSamples(sh, dir);
  console.log(`guide-external: injected samples Ready in the remote cluster in ${secs(t2)} s`);

  const answers = await callHelloworld(sh, REMOTE, 20);
  console.log(`guide-external: sleep -> helloworld in the remote cluster: ${summarize(answers)}`);
  assert.ok(answers.length === 20 && answers.every((a) => a.status === '200'), summarize(answers));

  // The user's port-forward to the aggregating proxy, then proxy-status as the guide says.
  forward = await forwardXdsProxy(sh);
  const env = PROXY_STATUS_ENV;
  const proxies = (await sh.run('kubectl', ['--context', REMOTE, 'get', 'pods', '-n', 'sample', '-o', 'jsonpath={range .items[*]}{.metadata.name}.sample{"\\n"}{end}'], { quiet: true }))
    .split('\n').filter(Boolean).sort();
  const expectAll = async (what: string): Promise<Record<string, string>[]> => {
    let last: Record<string, string>[] = [];
    let out = '';
    try {
      await waitFor(what, async () => {
        const r = await sh.attempt('istioctl', ['--context', REMOTE, 'proxy-status'], { env, quiet: true });
        out = `${r.stdout}${r.stderr}`;
        last = tableRecords(commandTable(r, 'istioctl proxy-status'));
        const names = last.map((x) => x['NAME'] ?? '').filter((n) => n.endsWith('.sample')).sort();
        return names.join(',') === proxies.join(',') ? last : undefined;
      }, 90_000, 1000);
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nlast answer:\n${out}`, { cause: err });
    }
    return last;
  };
  const listed = await expectAll('istioctl listing every proxy of the remote cluster');
  const shown = await sh.run('istioctl', ['--context', REMOTE, 'proxy-status'], { env });
  console.log(`guide-external: istioctl proxy-status through xds-proxy:\n${shown}`);
  for (const p of proxies) {
    const mine = listed.filter((x) => x['NAME'] === p);
    const [row] = mine;
    assert.ok(row !== undefined && mine.length === 1, `${p} listed exactly once`);
    assert.equal(row['ISTIOD'], '<external>', `${p}: ISTIOD <external>`);
    assert.equal(row['CLUSTER'], REMOTE);
  }
  const verbose = tableRecords(commandTable(await sh.attempt('istioctl', ['--context', REMOTE, 'proxy-status', '-v', '1'], { env, quiet: true }), 'istioctl proxy-status -v 1'));
  for (const r of verbose.filter((x) => (x['NAME'] ?? '').endsWith('.sample'))) {
    for (const type of ['CDS', 'LDS', 'EDS', 'RDS']) assert.equal(r[type], 'SYNCED', `${r['NAME'] ?? ''} ${type} (${JSON.stringify(r)})`);
  }
  const ours = await sh.run('isthmus', ['x', 'proxy-status', '--context', REMOTE], { env });
  for (const p of proxies) assert.equal(ours.split('\n').filter((l) => l.startsWith(`${p} `)).length, 1, `isthmus lists ${p} once:\n${ours}`);

  // Without the guide's variables istioctl looks for control-plane pods in istio-system of the remote cluster.
  const bare = await sh.attempt('istioctl', ['--context', REMOTE, 'proxy-status']);
  console.log(`guide-external: without ISTIOCTL_XDS_ADDRESS istioctl exits ${bare.code}: ${(bare.stderr || bare.stdout).trim().split('\n').slice(-2).join(' ')}`);
  assert.notEqual(bare.code, 0, 'istioctl without the variables cannot reach the external control plane');

  // One replica dies (its process is killed; the pod stays listed while its container restarts).
  const replicas = (await sh.run('kubectl', ['--context', EXTERNAL, 'get', 'pods', '-n', CP_NAMESPACE, '-l', 'app=istiod', '-o', 'jsonpath={.items[*].metadata.name}'], { quiet: true })).trim().split(/\s+/);
  assert.equal(replicas.length, 2, `two replicas run (${replicas.join(', ')})`);
  const victim = replicas[0] ?? '';
  const killed = Date.now();
  process.kill(discoveryPid(victim), 'SIGKILL');
  sh.note(`# kill -9 the control-plane process of ${victim}`);
  let warning = '';
  await waitFor('isthmus proxy-status warning about the killed replica', async () => {
    const r = await sh.attempt('isthmus', ['x', 'proxy-status', '--context', REMOTE], { env, quiet: true });
    warning = r.stderr.split('\n').find((l) => l.includes('warning') && l.includes('replica')) ?? '';
    return warning === '' ? undefined : true;
  }, 30_000, 300);
  console.log(`guide-external: ${secs(killed)} s after the kill our CLI warned: ${warning}`);
  const again = await expectAll('istioctl listing every proxy again after the kill');
  console.log(`guide-external: every proxy listed again ${secs(killed)} s after the kill (${again.length} rows)`);
  for (const p of proxies) assert.equal(again.filter((x) => x['NAME'] === p).length, 1, `${p} listed exactly once after the kill`);

  console.log(`guide-external: transcript (${transcript.length} lines):\n${transcript.join('\n')}`);
  console.log(`guide-external: total ${secs(t0)} s`);
});
