/**
 * Guide 1 end to end on real nodes (src/testing/guides/multinetwork.ts): primary-remote on two
 * networks, installed with the `isthmus` CLI and kubectl only. The control plane runs as a pod in
 * cluster1; cluster2's sidecars, gateway and API server reach it only through cluster1's east-west
 * gateway. Then what a user of the guide checks:
 * - from sleep in each cluster, 40 calls to helloworld.sample:5000/hello all answer 200, from v1
 *   (cluster1) and v2 (cluster2);
 * - the answers from the other network crossed that network's east-west gateway (its Envoy's host
 *   statistics for helloworld grew);
 * - the callee's sidecar passed the caller's SPIFFE id on (x-forwarded-client-cert);
 * - nothing on network2 reaches the control-plane pod's address directly.
 * Prints the times it measures.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { join } from 'node:path';
import {
  callHelloworld, CLUSTER1, CLUSTER2, deploySamples, hostStat, installMultiNetwork, summarize, untilBothVersions, waitFor,
} from '../../src/testing/guides/multinetwork.ts';
import { mergeKubeconfigs, Shell } from '../../src/testing/guides/shell.ts';
import { CallLoop, failures } from '../../src/testing/guides/traffic.ts';
import { sleepObjects } from '../../src/testing/testbed/samples.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';

// A short directory: containerd's socket path must fit a unix socket address.
const dir = mkdtempSync('/tmp/itb-');
let bed: Testbed | undefined;
/** Set by the first test; the fault tests run on its mesh. */
let sh: Shell | undefined;

after(async () => {
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

const secs = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);

test('guide 1: primary-remote on two networks, with traffic from both clusters through the east-west gateways', { timeout: 1_500_000 }, async (t) => {
  const t0 = Date.now();
  bed = await Testbed.up({ dir, clusters: [CLUSTER1, CLUSTER2], nodes: true, log: (l) => { t.diagnostic(l); } });
  console.log(`guide-multinetwork: two clusters with a Ready node each in ${secs(t0)} s`);
  const kubeconfig = join(dir, 'kubeconfig');
  mergeKubeconfigs(bed.clusters.map((c) => c.kubeconfigPath), kubeconfig);
  const transcript: string[] = [];
  sh = new Shell({ kubeconfig, transcript: (l) => { transcript.push(l); t.diagnostic(l); } });

  const t1 = Date.now();
  const mesh = await installMultiNetwork(bed, sh, dir);
  console.log(`guide-multinetwork: both clusters installed, control plane and both gateways Ready in ${secs(t1)} s ` +
    `(gateways ${mesh.gateways.cluster1}, ${mesh.gateways.cluster2})`);
  const t2 = Date.now();
  await deploySamples(sh, dir);
  console.log(`guide-multinetwork: injected samples Ready in both clusters in ${secs(t2)} s`);

  // Cluster2's pods reach the control plane only through cluster1's gateway.
  const istiodIp = (await sh.run('kubectl', ['--context', CLUSTER1, 'get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={.items[0].status.podIP}'], { quiet: true })).trim();
  const direct = await sh.attempt('kubectl', ['--context', CLUSTER2, 'exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--',
    'curl', '-sS', '-k', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', `https://${istiodIp}:15017/inject`], { quiet: true });
  assert.notEqual(direct.code, 0, `sleep in cluster2 must not reach the control-plane pod ${istiodIp} directly (curl: ${direct.stdout}${direct.stderr})`);
  const viaGateway = await sh.attempt('kubectl', ['--context', CLUSTER2, 'exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--',
    'curl', '-sS', '-k', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', `istiod.istio-system.svc:15017:${mesh.gateways.cluster1}`,
    'https://istiod.istio-system.svc:15017/ready'], { quiet: true });
  console.log(`guide-multinetwork: from network2, the control-plane pod ${istiodIp} is unreachable (curl exit ${direct.code}); ` +
    `through cluster1's gateway 15017 answers HTTP ${viaGateway.stdout.trim() || viaGateway.stderr.trim()}`);
  assert.equal(viaGateway.code, 0, `cluster1's gateway passes 15017 through to the control plane: ${viaGateway.stderr}`);

  // Before any call: what the gateways carried to helloworld so far (nothing).
  const gwBefore = {
    cluster1: await hostStat(sh, CLUSTER1, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
    cluster2: await hostStat(sh, CLUSTER2, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
  };
  // Cross-network endpoints arrive with a push; then the guide's check.
  for (const ctx of [CLUSTER1, CLUSTER2]) {
    console.log(`guide-multinetwork: sleep in ${ctx} got both versions after ${(await untilBothVersions(sh, ctx, 180_000)).toFixed(1)} s`);
  }
  for (const ctx of [CLUSTER1, CLUSTER2]) {
    const answers = await callHelloworld(sh, ctx, 40);
    const line = summarize(answers);
    console.log(`guide-multinetwork: sleep in ${ctx} -> helloworld.sample:5000/hello: ${line}`);
    assert.equal(answers.length, 40, `40 answers from sleep in ${ctx} (${line})`);
    assert.ok(answers.every((a) => a.status === '200'), `every call from ${ctx} answered 200 (${line})`);
    assert.ok(answers.some((a) => a.version === 'v1') && answers.some((a) => a.version === 'v2'), `both versions answered sleep in ${ctx} (${line})`);
  }
  const gwAfter = {
    cluster1: await hostStat(sh, CLUSTER1, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
    cluster2: await hostStat(sh, CLUSTER2, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
  };
  console.log(`guide-multinetwork: connections the gateways opened to helloworld since the first call: cluster1's ${gwAfter.cluster1 - gwBefore.cluster1} (to v1), cluster2's ${gwAfter.cluster2 - gwBefore.cluster2} (to v2)`);
  assert.ok(gwAfter.cluster1 > gwBefore.cluster1, 'v1 answers to cluster2 crossed cluster1\'s east-west gateway');
  assert.ok(gwAfter.cluster2 > gwBefore.cluster2, 'v2 answers to cluster1 crossed cluster2\'s east-west gateway');

  // Every proxy, the gateways included, has acknowledged what it was sent (no cluster left warming).
  let status = '';
  await waitUntil('every proxy SYNCED on every type it subscribes to', async () => {
    status = await sh?.run('isthmus', ['proxy-status', '--context', CLUSTER1, '-v', '1'], { quiet: true }) ?? '';
    const rows = status.split('\n').slice(1).filter(Boolean);
    return rows.length > 0 && rows.every((l) => !/STALE|NOT SENT|ERROR/.test(l));
  }, 60_000, () => status);
  console.log(`guide-multinetwork: proxy-status -v 1:\n${status}`);

  // The callee sees the caller's identity: v2 in cluster2 answering sleep of cluster1.
  const raw = (await sh.run('kubectl', ['--context', CLUSTER1, 'exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--', 'sh', '-c',
    'i=0; while [ $i -lt 10 ]; do curl -sS -m 5 http://helloworld.sample:5000/headers; i=$((i+1)); done'], { quiet: true }));
  const fromV2 = raw.split('Hello version: ').filter((b) => b.startsWith('v2'));
  assert.ok(fromV2.length > 0, `v2 answered /headers to sleep in cluster1:\n${raw.slice(0, 1500)}`);
  const xfcc = /x-forwarded-client-cert: (.*)/i.exec(fromV2[0] ?? '')?.[1] ?? '';
  console.log(`guide-multinetwork: helloworld v2 (cluster2) saw x-forwarded-client-cert: ${xfcc}`);
  assert.match(xfcc, /URI=spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep/, 'the callee\'s sidecar passed on the caller\'s SPIFFE id');

  console.log(`guide-multinetwork: transcript (${transcript.length} lines):\n${transcript.join('\n')}`);
  console.log(`guide-multinetwork: total ${secs(t0)} s`);
});

function guideShell(): Shell {
  if (sh === undefined) throw new Error('the guide did not install (see the first test)');
  return sh;
}

async function podNames(s: Shell, ctx: string, ns: string, selector: string): Promise<string[]> {
  const out = await s.run('kubectl', ['--context', ctx, 'get', 'pods', '-n', ns, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}'], { quiet: true });
  return out.split('\n').filter(Boolean);
}

function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, detail?: () => string): Promise<true> {
  return waitFor(what, async () => ((await probe()) ? true : undefined), timeoutMs, 500, detail);
}

/**
 * For each proxy a proxy-status table shows out of sync: what its Envoy says (warming clusters and
 * listeners, update counters, the names of warming clusters), so a failure says why it did not ACK.
 */
async function stuckProxies(s: Shell, table: string): Promise<string> {
  const out: string[] = [];
  for (const row of table.split('\n').slice(1).filter((l) => /STALE|NOT SENT|ERROR/.test(l))) {
    const [id = '', cluster = ''] = row.split(/\s+/);
    const dot = id.lastIndexOf('.');
    const ctx = cluster === 'cluster2' ? CLUSTER2 : CLUSTER1;
    const envoy = (path: string) => s.attempt('kubectl', ['--context', ctx, 'exec', '-n', id.slice(dot + 1), id.slice(0, dot), '-c', 'istio-proxy', '--',
      'pilot-agent', 'request', 'GET', path], { quiet: true });
    const stats = await envoy('stats?filter=warming|cds\\.update|lds\\.update|control_plane');
    const warming = await envoy('config_dump?resource=dynamic_warming_clusters');
    const names = [...warming.stdout.matchAll(/"name": "([^"]+)"/g)].map((m) => m[1]).slice(0, 20);
    out.push(`--- ${id} (${cluster}) ---\n${stats.stdout}${stats.stderr}warming clusters: ${names.join(', ') || '(none)'}`);
  }
  return out.join('\n');
}

test('fault: helloworld-v2\'s pod is deleted while cluster1 calls; v1 and then the new v2 pod answer', { timeout: 300_000 }, async () => {
  const s = guideShell();
  const [old] = await podNames(s, CLUSTER2, 'sample', 'app=helloworld,version=v2');
  assert.ok(old !== undefined, 'a v2 pod runs');
  const loop = CallLoop.start(s, CLUSTER1, 90);
  await new Promise((r) => setTimeout(r, 5000));
  const deleted = Date.now();
  await s.run('kubectl', ['--context', CLUSTER2, 'delete', 'pod', '-n', 'sample', old, '--wait=false']);
  let fresh = '';
  await waitUntil('an answer from the new v2 pod', () => {
    const a = loop.answers.find((x) => x.at > deleted && x.version === 'v2' && x.instance !== old);
    fresh = a?.instance ?? '';
    return Promise.resolve(a !== undefined);
  }, 85_000);
  const first = loop.answers.find((x) => x.instance === fresh);
  loop.stop();
  const during = loop.answers.filter((a) => a.at > deleted && a.at <= (first?.at ?? Date.now()));
  const failed = failures(loop.answers);
  console.log(`fault-v2-pod: first answer from the new pod ${fresh} ${(((first?.at ?? 0) - deleted) / 1000).toFixed(1)} s after the delete; ` +
    `${loop.answers.length} calls, ${failed} failed; while v2 was away: ${summarize(during)}`);
  assert.ok(during.filter((a) => a.version === 'v1' && a.status === '200').length > 0, 'v1 kept answering while v2 was replaced');
  assert.notEqual(fresh, old);
});

test('fault: cluster2\'s remote secret is rotated while cluster1 calls; no call fails and new cluster2 endpoints still arrive', { timeout: 300_000 }, async () => {
  const s = guideShell();
  const c2 = bed?.cluster(CLUSTER2).publicServer ?? '';
  const loop = CallLoop.start(s, CLUSTER1, 40);
  await new Promise((r) => setTimeout(r, 5000));
  const started = Date.now();
  // A new token: the old one dies with its Secret.
  await s.run('kubectl', ['--context', CLUSTER2, 'delete', 'secret', '-n', 'istio-system', 'istio-reader-service-account-istio-remote-secret-token']);
  await s.pipe(['isthmus', ['create-remote-secret', '--context', CLUSTER2, '--name', CLUSTER2, '--server', c2]], ['kubectl', ['--context', CLUSTER1, 'apply', '-f', '-']]);
  const rotatedS = (Date.now() - started) / 1000;
  const answers = await loop.done();
  const failed = failures(answers);
  console.log(`fault-rotate-secret: rotated in ${rotatedS.toFixed(1)} s; ${summarize(answers)}; ${failed} failed`);
  assert.equal(failed, 0, `no call failed during the rotation (${summarize(answers)})`);
  // The control plane reads cluster2 with the new token: a new v2 replica raises the weight of
  // network2's gateway endpoint in cluster1's sidecars (cross-network endpoints are merged into it).
  const gateway2 = `${(await s.run('kubectl', ['--context', CLUSTER2, 'get', 'svc', 'istio-eastwestgateway', '-n', 'istio-system', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'], { quiet: true })).trim()}:15443`;
  const weight = () => hostStat(s, CLUSTER1, 'sample', 'deploy/sleep', 'istio-proxy', 'outbound|5000||helloworld.sample', 'weight', gateway2);
  assert.equal(await weight(), 1, `one v2 endpoint behind ${gateway2}`);
  await s.run('kubectl', ['--context', CLUSTER2, 'scale', 'deploy/helloworld-v2', '-n', 'sample', '--replicas=2']);
  await s.run('kubectl', ['--context', CLUSTER2, 'rollout', 'status', 'deploy/helloworld-v2', '-n', 'sample', '--timeout=180s'], { timeoutMs: 200_000 });
  const t0 = Date.now();
  await waitUntil(`the weight of ${gateway2} in sleep's helloworld cluster to reach 2`, async () => (await weight()) === 2, 60_000);
  console.log(`fault-rotate-secret: after the rotation, cluster1's sidecar weighted network2's gateway 2 (two v2 replicas) ${((Date.now() - t0) / 1000).toFixed(1)} s after the new replica was Ready`);
  // Back to one replica, and wait until the removed one is gone (its last requests may fail with
  // 503 while it terminates: that is the pod's shutdown, not what this test measures).
  const kept = new Set(await podNames(s, CLUSTER2, 'sample', 'app=helloworld,version=v2'));
  await s.run('kubectl', ['--context', CLUSTER2, 'scale', 'deploy/helloworld-v2', '-n', 'sample', '--replicas=1']);
  await waitUntil('one v2 replica left', async () => (await podNames(s, CLUSTER2, 'sample', 'app=helloworld,version=v2')).length === 1, 120_000);
  const left = (await podNames(s, CLUSTER2, 'sample', 'app=helloworld,version=v2'))[0] ?? '';
  await waitUntil('cluster1 calling only the remaining v2 replica', async () =>
    (await callHelloworld(s, CLUSTER1, 10, { quiet: true })).every((a) => a.status === '200' && (a.version === 'v1' || a.instance === left)), 60_000);
  assert.ok(kept.has(left));
});

test('fault: the control-plane pod is killed while both clusters call; no call fails, every proxy reconnects', { timeout: 400_000 }, async () => {
  const s = guideShell();
  const [old] = await podNames(s, CLUSTER1, 'istio-system', 'app=istiod');
  assert.ok(old !== undefined);
  const statusBefore = await s.run('isthmus', ['proxy-status', '--context', CLUSTER1, '-v', '1'], { quiet: true });
  const proxies = statusBefore.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0] ?? '');
  console.log(`fault-kill-control-plane: before the kill, ${proxies.length} proxies:\n${statusBefore}`);
  const loops = [CallLoop.start(s, CLUSTER1, 60), CallLoop.start(s, CLUSTER2, 60)];
  await new Promise((r) => setTimeout(r, 5000));
  const killed = Date.now();
  await s.run('kubectl', ['--context', CLUSTER1, 'delete', 'pod', '-n', 'istio-system', old, '--grace-period=0', '--force', '--wait=false']);
  await s.run('kubectl', ['--context', CLUSTER1, 'rollout', 'status', 'deploy/istiod', '-n', 'istio-system', '--timeout=180s'], { timeoutMs: 200_000 });
  const readyS = (Date.now() - killed) / 1000;
  const results = await Promise.all(loops.map((l) => l.done()));
  for (const [i, answers] of results.entries()) {
    console.log(`fault-kill-control-plane: sleep in cluster${i + 1}: ${summarize(answers)}`);
    const failedAt = answers.filter((a) => a.status !== '200').map((a) => `${((a.at - killed) / 1000).toFixed(1)} s`);
    assert.equal(failedAt.length, 0, `no call from cluster${i + 1} failed while the control plane was away (${summarize(answers)}; failures at ${failedAt.join(', ')} after the kill)`);
  }
  // Every proxy of both clusters reconnects to the new pod; the sidecars are in sync on every type.
  let table = '';
  const t0 = Date.now();
  const sidecar = (row: string) => row.includes('.sample ');
  await waitUntil('every proxy connected to the new control plane and in sync', async () => {
    const r = await s.attempt('isthmus', ['proxy-status', '--context', CLUSTER1, '-v', '1'], { quiet: true });
    table = `${r.stdout}${r.stderr}`;
    const rows = r.stdout.split('\n').slice(1).filter(Boolean);
    const names = rows.map((l) => l.split(/\s+/)[0] ?? '').sort();
    return r.code === 0 && names.join(',') === [...proxies].sort().join(',') && rows.every((l) => !l.includes(old) && !/STALE|NOT SENT|ERROR/.test(l)) &&
      rows.filter(sidecar).every((l) => (l.match(/SYNCED/g) ?? []).length === 4);
  }, 120_000, () => table).catch(async (err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nEnvoy of each proxy out of sync:\n${await stuckProxies(s, table)}`);
  });
  console.log(`fault-kill-control-plane: new control-plane pod Ready ${readyS.toFixed(1)} s after the kill; all ${proxies.length} proxies reconnected and in sync ` +
    `(sidecars SYNCED on CDS, EDS, LDS, RDS) ${((Date.now() - t0) / 1000).toFixed(1)} s later:\n${table}`);
});

test('a VirtualService splits helloworld 80/20 between subsets v1 (cluster1) and v2 (cluster2, through its gateway)', { timeout: 300_000 }, async () => {
  const s = guideShell();
  const dir2 = mkdtempSync('/tmp/itb-split-');
  try {
    const file = join(dir2, 'split.yaml');
    writeFileSync(file, `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: helloworld, namespace: sample}
spec:
  host: helloworld.sample.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: helloworld, namespace: sample}
spec:
  hosts: [helloworld.sample.svc.cluster.local]
  http:
  - route:
    - destination: {host: helloworld.sample.svc.cluster.local, subset: v1}
      weight: 80
    - destination: {host: helloworld.sample.svc.cluster.local, subset: v2}
      weight: 20
`);
    // Istio config lives in the config cluster: cluster1 for both clusters' proxies.
    await s.run('kubectl', ['--context', CLUSTER1, 'apply', '-f', file]);
    const t0 = Date.now();
    await waitUntil("sleep's route with the 80/20 split", async () =>
      (await hostStat(s, CLUSTER1, 'sample', 'deploy/sleep', 'istio-proxy', 'outbound|5000|v2|helloworld.sample', 'weight')) > 0, 60_000);
    console.log(`vs-split: the subset clusters reached sleep's sidecar ${((Date.now() - t0) / 1000).toFixed(1)} s after the apply`);
    for (const ctx of [CLUSTER1, CLUSTER2]) {
      const answers = await callHelloworld(s, ctx, 200, { quiet: true });
      const v2 = answers.filter((a) => a.version === 'v2').length;
      console.log(`vs-split: sleep in ${ctx}, 200 calls: ${summarize(answers)} (v2 ${(v2 / 2).toFixed(1)} %)`);
      assert.ok(answers.every((a) => a.status === '200'), summarize(answers));
      // 20 % of 200 has a standard deviation of about 5.7 calls: 20 to 60 is 3.5 of them either side.
      assert.ok(v2 >= 20 && v2 <= 60, `v2 answered ${v2} of 200 calls from ${ctx}, want about 40`);
    }
  } finally {
    await s.attempt('kubectl', ['--context', CLUSTER1, 'delete', 'virtualservice,destinationrule', '-n', 'sample', 'helloworld'], { quiet: true });
    rmSync(dir2, { recursive: true, force: true });
  }
});

test('mesh-wide STRICT mTLS: a pod without a sidecar is refused, sidecars of both clusters still call', { timeout: 300_000 }, async () => {
  const s = guideShell();
  const dir2 = mkdtempSync('/tmp/itb-strict-');
  const plain = async (): Promise<string> => {
    const r = await s.attempt('kubectl', ['--context', CLUSTER1, 'exec', '-n', 'legacy', 'deploy/sleep', '--', 'curl', '-sS', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', 'http://helloworld.sample:5000/hello'], { quiet: true });
    return r.code === 0 ? r.stdout.trim() : `curl exit ${r.code}`;
  };
  try {
    const legacy = join(dir2, 'legacy-sleep.yaml');
    writeFileSync(legacy, sleepObjects('legacy').map((o) => stringify(o)).join('---\n'));
    await s.run('kubectl', ['--context', CLUSTER1, 'create', 'namespace', 'legacy']);
    await s.run('kubectl', ['--context', CLUSTER1, 'apply', '-n', 'legacy', '-f', legacy]);
    await s.run('kubectl', ['--context', CLUSTER1, 'rollout', 'status', 'deploy/sleep', '-n', 'legacy', '--timeout=180s'], { timeoutMs: 200_000 });
    const before = await plain();
    console.log(`strict: before, plaintext from a pod without a sidecar: ${before}`);
    assert.equal(before, '200', 'PERMISSIVE (the default) accepts plaintext');
    const policy = join(dir2, 'strict.yaml');
    writeFileSync(policy, 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: istio-system}\nspec:\n  mtls: {mode: STRICT}\n');
    await s.run('kubectl', ['--context', CLUSTER1, 'apply', '-f', policy]);
    const t0 = Date.now();
    let after = '';
    await waitUntil('plaintext refused', async () => { after = await plain(); return after !== '200'; }, 60_000);
    console.log(`strict: ${((Date.now() - t0) / 1000).toFixed(1)} s after the policy, plaintext gets: ${after}`);
    for (const ctx of [CLUSTER1, CLUSTER2]) {
      const answers = await callHelloworld(s, ctx, 20, { quiet: true });
      console.log(`strict: sleep with a sidecar in ${ctx}: ${summarize(answers)}`);
      assert.ok(answers.length === 20 && answers.every((a) => a.status === '200'), `mTLS callers are unaffected (${summarize(answers)})`);
    }
    // The kubelet's probes go through pilot-agent (injection rewrote them), so STRICT leaves the
    // probed pods Ready: three failed probes (6 s at a 2 s period) would have made them unready.
    await new Promise((r) => setTimeout(r, 10_000));
    const probe = (await s.run('kubectl', ['--context', CLUSTER1, 'get', 'pods', '-n', 'sample', '-l', 'app=helloworld', '-o', 'jsonpath={.items[0].spec.containers[0].readinessProbe.httpGet.path} {.items[0].status.conditions[?(@.type=="Ready")].status}'], { quiet: true })).trim();
    console.log(`strict: helloworld's readiness probe and Ready condition 10 s later: ${probe}`);
    assert.equal(probe, '/app-health/helloworld/readyz True');
  } finally {
    await s.attempt('kubectl', ['--context', CLUSTER1, 'delete', 'peerauthentication', '-n', 'istio-system', 'default'], { quiet: true });
    rmSync(dir2, { recursive: true, force: true });
  }
});
