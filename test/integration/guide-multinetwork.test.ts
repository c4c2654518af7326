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
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  callHelloworld, CLUSTER1, CLUSTER2, deploySamples, hostStat, installMultiNetwork, summarize, untilBothVersions,
} from '../../src/testing/guides/multinetwork.ts';
import { mergeKubeconfigs, Shell } from '../../src/testing/guides/shell.ts';
import { Testbed } from '../../src/testing/testbed/testbed.ts';

// A short directory: containerd's socket path must fit a unix socket address.
const dir = mkdtempSync('/tmp/itb-');
let bed: Testbed | undefined;

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
  const sh = new Shell({ kubeconfig, transcript: (l) => { transcript.push(l); t.diagnostic(l); } });

  const t1 = Date.now();
  const mesh = await installMultiNetwork(bed, sh, dir);
  console.log(`guide-multinetwork: both clusters installed, control plane and both gateways Ready in ${secs(t1)} s ` +
    `(gateways ${mesh.gateways.cluster1}, ${mesh.gateways.cluster2})`);
  const t2 = Date.now();
  await deploySamples(sh);
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

  // Cross-network endpoints arrive with a push; then the guide's check.
  for (const ctx of [CLUSTER1, CLUSTER2]) {
    console.log(`guide-multinetwork: sleep in ${ctx} got both versions after ${(await untilBothVersions(sh, ctx, 180_000)).toFixed(1)} s`);
  }
  const gwBefore = {
    cluster1: await hostStat(sh, CLUSTER1, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
    cluster2: await hostStat(sh, CLUSTER2, 'istio-system', 'deploy/istio-eastwestgateway', 'istio-proxy', 'helloworld.sample', 'cx_total'),
  };
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
  console.log(`guide-multinetwork: connections the gateways opened to helloworld during the 80 calls: cluster1's ${gwAfter.cluster1 - gwBefore.cluster1} (to v1), cluster2's ${gwAfter.cluster2 - gwBefore.cluster2} (to v2)`);
  assert.ok(gwAfter.cluster1 > gwBefore.cluster1, 'v1 answers to cluster2 crossed cluster1\'s east-west gateway');
  assert.ok(gwAfter.cluster2 > gwBefore.cluster2, 'v2 answers to cluster1 crossed cluster2\'s east-west gateway');

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
