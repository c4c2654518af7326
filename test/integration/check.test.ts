/**
 * `isthmus check` against a real, healthy two-cluster install (the primary-remote multi-network
 * guide run with the CLI, a real `isthmus discovery` as the control plane): it reports nothing; then
 * the install is broken in one way at a time, `check` must name the object, the field and the fix,
 * and after the fix (the printed command itself wherever it can run on the test bed) it is clean.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeshInstall, ok, type Run } from '../../src/testing/mesh-install.ts';
import { setLoadBalancerIp } from '../../src/testing/fake-workloads.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { generateRootCa } from '../../src/pki/root.ts';
import { CLUSTER_TYPE_URL, LISTENER_TYPE_URL } from '../../src/model/type-urls.ts';

interface Finding { severity: string; rule: string; message: string; where: { cluster: string; namespace?: string; object?: string; field?: string }; why: string; fix: string }
interface Report { findings: Finding[]; summary: { errors: number; warnings: number; durationMs: number } }

let m: MeshInstall;
const proxies: AdsTestClient[] = [];

before(async () => {
  const t0 = Date.now();
  m = await MeshInstall.up();
  await m.startControlPlane();
  console.log(`install of two clusters and control plane: ${Date.now() - t0} ms`);
});

after(async () => {
  for (const p of proxies) p.close();
  await m.down();
});

const debugAddr = () => m.discovery?.httpAddr ?? '';

async function check(withDebug = true): Promise<{ run: Run; report: Report }> {
  const run = await m.isthmus(['check', '--context', 'cluster1', '--context', 'cluster2', ...(withDebug ? ['--debug-addr', debugAddr()] : []), '-o', 'json']);
  assert.ok(run.code === 0 || run.code === 1, `check exited ${run.code}: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as Report;
  console.log(`check: ${report.summary.errors} errors, ${report.summary.warnings} warnings, ${report.summary.durationMs} ms of checking`);
  return { run, report };
}

async function clean(what: string, withDebug = true): Promise<void> {
  const { run, report } = await check(withDebug);
  assert.deepEqual(report.findings, [], `${what}: expected no findings`);
  assert.equal(run.code, 0);
}

/** Asserts one finding of `rule` at (cluster, object, field) whose fix matches `fix`; returns it. */
async function expectFinding(rule: string, where: Finding['where'], fix: RegExp, withDebug = true): Promise<Finding> {
  const { run, report } = await check(withDebug);
  const f = report.findings.find((x) => x.rule === rule && x.where.cluster === where.cluster && x.where.object === where.object);
  assert.ok(f, `no ${rule} finding at ${JSON.stringify(where)}; got:\n${JSON.stringify(report.findings, null, 2)}`);
  assert.deepEqual(f.where, where);
  assert.match(f.fix, fix);
  assert.ok(f.why.length > 20, 'says why it matters');
  if (f.severity === 'error') {
    assert.equal(run.code, 1, 'an error finding makes check exit non-zero');
    assert.match(run.stderr, /\[ISTHMUS_CHECK_FAILED\]/);
  }
  return f;
}

async function fix(f: Finding): Promise<void> {
  ok(await m.sh(f.fix), `fix ${f.fix}`);
}

const k = (ctx: string, args: readonly string[], input?: string) => m.kubectl(['--context', ctx, ...args], input);

async function waitSynced(id: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const cs = await m.discovery?.json<{ id: string; syncStatus: string }[]>('/debug/clusterz') ?? [];
    if (cs.some((c) => c.id === id && c.syncStatus === 'synced')) return;
    if (Date.now() > deadline) throw new Error(`cluster ${id} not synced: ${JSON.stringify(cs)}`);
    await sleep(200);
  }
}

/** A proxy on plaintext xDS that subscribes to CDS and LDS; `mode` decides how it answers. */
async function proxy(pod: string, clusterId: string, mode: 'ack' | 'nack' | 'silent'): Promise<AdsTestClient> {
  const [name, ns] = pod.split('.') as [string, string];
  const c = new AdsTestClient({
    address: m.discovery?.grpcAddr ?? '', nodeId: `sidecar~10.20.1.5~${name}.${ns}~${ns}.svc.cluster.local`,
    metadata: { CLUSTER_ID: clusterId, NAMESPACE: ns, NETWORK: 'network2', ISTIO_VERSION: '1.29.0', PROXY_CONFIG: {} },
  });
  proxies.push(c);
  for (const t of [CLUSTER_TYPE_URL, LISTENER_TYPE_URL]) {
    const r = await c.request(t);
    if (mode === 'ack') c.ack(r);
    if (mode === 'nack') c.nack(r, 'rejected by the test: unknown field');
  }
  if (mode === 'ack') {
    // Keep acknowledging pushes caused by the breaks below.
    void (async () => { for (;;) { try { c.ack(await c.next(3_600_000)); } catch { return; } } })();
  }
  return c;
}

test('a healthy install: nothing to report, exit 0, readable table', async () => {
  await proxy('helloworld-v2-0.sample', 'cluster2', 'ack');
  const run = await m.isthmus(['check', '--context', 'cluster1', '--context', 'cluster2', '--debug-addr', debugAddr()]);
  console.log(run.stdout.trim());
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^No problems found in 2 clusters \(cluster1, cluster2\) and the control plane at 127\.0\.0\.1:\d+ \(\d+\.\d s\)\.$/m);
  await clean('healthy (json)');
});

test('system namespace without the network label', async () => {
  ok(await k('cluster2', ['label', 'namespace', 'istio-system', 'topology.istio.io/network-']), 'unlabel');
  const f = await expectFinding('network-label-missing', { cluster: 'cluster2', object: 'Namespace/istio-system', field: 'metadata.labels["topology.istio.io/network"]' }, /label namespace istio-system topology\.istio\.io\/network=network2/);
  await fix(f);
  await clean('after labelling istio-system');
});

test('remote system namespace without the controlPlaneClusters annotation', async () => {
  ok(await k('cluster2', ['annotate', 'namespace', 'istio-system', 'topology.istio.io/controlPlaneClusters-']), 'unannotate');
  const f = await expectFinding('control-plane-clusters-missing', { cluster: 'cluster2', object: 'Namespace/istio-system', field: 'metadata.annotations["topology.istio.io/controlPlaneClusters"]' }, /annotate namespace istio-system topology\.istio\.io\/controlPlaneClusters=cluster1/);
  await fix(f);
  await clean('after annotating');
});

test('east-west gateway without an external address', async () => {
  await setLoadBalancerIp(m.c1, 'istio-eastwestgateway', undefined);
  await expectFinding('gateway-no-address', { cluster: 'cluster1', namespace: 'istio-system', object: 'Service/istio-eastwestgateway', field: 'status.loadBalancer.ingress' }, /get service istio-eastwestgateway -w/);
  await setLoadBalancerIp(m.c1, 'istio-eastwestgateway', '172.18.1.1'); // the load balancer arrives
  await clean('after the address is assigned');
});

test('east-west gateway without the network label', async () => {
  ok(await k('cluster2', ['-n', 'istio-system', 'label', 'service', 'istio-eastwestgateway', 'topology.istio.io/network-']), 'unlabel gateway');
  const f = await expectFinding('gateway-network-label-missing', { cluster: 'cluster2', namespace: 'istio-system', object: 'Service/istio-eastwestgateway', field: 'metadata.labels["topology.istio.io/network"]' }, /label service istio-eastwestgateway topology\.istio\.io\/network=network2/);
  await fix(f);
  await clean('after labelling the gateway');
});

async function dropPort(ctx: string, port: number): Promise<void> {
  const svc = JSON.parse(ok(await k(ctx, ['-n', 'istio-system', 'get', 'service', 'istio-eastwestgateway', '-o', 'json']), 'get svc').stdout) as { spec: { ports: { port: number }[] } };
  const i = svc.spec.ports.findIndex((p) => p.port === port);
  assert.ok(i >= 0);
  ok(await k(ctx, ['-n', 'istio-system', 'patch', 'service', 'istio-eastwestgateway', '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: `/spec/ports/${i}` }])]), 'drop port');
}

test('primary east-west gateway without 15012, remote gateway without 15443', async () => {
  await dropPort('cluster1', 15012);
  const f1 = await expectFinding('gateway-port-missing', { cluster: 'cluster1', namespace: 'istio-system', object: 'Service/istio-eastwestgateway', field: 'spec.ports[port=15012]' }, /"port":15012/);
  await fix(f1);
  await clean('after adding 15012');
  await dropPort('cluster2', 15443);
  const f2 = await expectFinding('gateway-port-missing', { cluster: 'cluster2', namespace: 'istio-system', object: 'Service/istio-eastwestgateway', field: 'spec.ports[port=15443]' }, /"port":15443/);
  await fix(f2);
  await clean('after adding 15443');
});

test('endpoints in another network without tlsMode istio', async () => {
  ok(await k('cluster2', ['-n', 'sample', 'label', 'pod', 'helloworld-v2-0', 'security.istio.io/tlsMode-']), 'unlabel pod');
  await expectFinding('endpoint-not-mtls', { cluster: 'cluster2', namespace: 'sample', object: 'Pod/helloworld-v2-0', field: 'metadata.labels["security.istio.io/tlsMode"]' }, /label namespace sample istio-injection=enabled .*delete pod helloworld-v2-0/);
  // No kubelet re-creates the pod with a sidecar here; the injector would set this label.
  ok(await k('cluster2', ['-n', 'sample', 'label', 'pod', 'helloworld-v2-0', 'security.istio.io/tlsMode=istio']), 'relabel pod');
  await clean('after the pod has a sidecar again');
});

test('remote secret key that is not the remote\'s cluster id', async () => {
  ok(await k('cluster1', ['-n', 'istio-system', 'delete', 'secret', 'istio-remote-secret-cluster2']), 'delete secret');
  const wrong = ok(await m.isthmus(['create-remote-secret', '--context', 'cluster2', '--name', 'cluster-2']), 'create-remote-secret cluster-2');
  ok(await k('cluster1', ['apply', '-f', '-'], wrong.stdout), 'apply wrong secret');
  const f = await expectFinding('cluster-id-mismatch', { cluster: 'cluster1', namespace: 'istio-system', object: 'Secret/istio-remote-secret-cluster-2', field: 'data["cluster-2"]' },
    /delete secret istio-remote-secret-cluster-2 && isthmus create-remote-secret --context cluster2 --name cluster2 \| kubectl --context cluster1 apply -f -/);
  assert.match(f.message, /"cluster2" \(MutatingWebhookConfiguration\/istio-sidecar-injector webhooks\[0\]\.clientConfig\.service\.path\)/);
  const table = await m.isthmus(['check', '--context', 'cluster1', '--context', 'cluster2', '--debug-addr', debugAddr()]);
  console.log(table.stdout.trim());
  assert.equal(table.code, 1);
  assert.match(table.stdout, /^ERROR {3}cluster-id-mismatch: remote secret key "cluster-2" names cluster cluster2/m);
  assert.match(table.stdout, /^ {2}where: cluster1, namespace istio-system, Secret\/istio-remote-secret-cluster-2, field data\["cluster-2"\]$/m);
  await fix(f);
  await waitSynced('cluster2');
  await clean('after re-creating the secret as cluster2');
});

test('a proxy whose ISTIO_META_CLUSTER_ID is not its cluster\'s id', async () => {
  const p = await proxy('helloworld-v2-0.sample', 'cluster3', 'ack');
  await expectFinding('proxy-cluster-id-mismatch', { cluster: 'cluster2', namespace: 'sample', object: 'Pod/helloworld-v2-0', field: 'spec.containers[istio-proxy].env[ISTIO_META_CLUSTER_ID]' }, /--context cluster2 -n sample delete pod helloworld-v2-0/);
  p.close();
  await sleep(300);
  await clean('after the proxy is gone');
});

test('proxies in ERROR and STALE sync status', async () => {
  const bad = await proxy('helloworld-v1-0.sample', 'cluster1', 'nack');
  const f = await expectFinding('proxy-sync-error', { cluster: 'cluster1', namespace: 'sample', object: 'Pod/helloworld-v1-0', field: 'sync status CDS,LDS' }, /isthmus proxy-status helloworld-v1-0\.sample/);
  assert.match(f.message, /rejected by the test: unknown field/);
  bad.close();
  const stale = await proxy('helloworld-v1-1.sample', 'cluster1', 'silent');
  await expectFinding('proxy-sync-stale', { cluster: 'cluster1', namespace: 'sample', object: 'Pod/helloworld-v1-1', field: 'sync status CDS,LDS' }, /isthmus proxy-status helloworld-v1-1\.sample/);
  stale.close();
  await sleep(300);
  await clean('after both proxies are gone');
});

async function setSecretKubeconfig(kubeconfig: string): Promise<void> {
  const data = Buffer.from(kubeconfig).toString('base64');
  ok(await k('cluster1', ['-n', 'istio-system', 'patch', 'secret', 'istio-remote-secret-cluster2', '-p', JSON.stringify({ data: { cluster2: data } })]), 'patch secret');
}

test('remote secret whose token expired, or is refused', async () => {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: m.c2.issuer, aud: [m.c2.issuer], sub: 'system:serviceaccount:istio-system:istio-reader-service-account', iat: now - 7200, nbf: now - 7200, exp: now - 3600,
    'kubernetes.io': { namespace: 'istio-system', serviceaccount: { name: 'istio-reader-service-account', uid: '00000000-0000-0000-0000-000000000000' } } };
  await setSecretKubeconfig(m.c2.tokenKubeconfig(m.c2.signToken(claims)));
  const where = { cluster: 'cluster1', namespace: 'istio-system', object: 'Secret/istio-remote-secret-cluster2' };
  const f = await expectFinding('remote-secret-token-expired', { ...where, field: 'data["cluster2"]: users[0].user.token' }, /isthmus create-remote-secret --context cluster2 --name cluster2 \| kubectl --context cluster1 apply -f -/);
  await fix(f);
  await waitSynced('cluster2');
  await clean('after a new token');

  // Valid claims and a real signature, but for a service account that does not exist: 401.
  await setSecretKubeconfig(m.c2.tokenKubeconfig(m.c2.signToken({ ...claims, exp: now + 3600, 'kubernetes.io': { namespace: 'istio-system', serviceaccount: { name: 'gone', uid: '00000000-0000-0000-0000-000000000001' } }, sub: 'system:serviceaccount:istio-system:gone' })));
  const g = await expectFinding('remote-secret-unauthorized', { ...where, field: 'data["cluster2"]: users[0].user' }, /isthmus create-remote-secret --context cluster2 --name cluster2/);
  await fix(g);
  await waitSynced('cluster2');
  await clean('after new credentials');
});

test('remote secret without the reader permissions', async () => {
  ok(await k('cluster2', ['delete', 'clusterrolebinding', 'istio-reader-clusterrole-istio-system']), 'delete reader binding');
  const f = await expectFinding('remote-secret-rbac', { cluster: 'cluster1', namespace: 'istio-system', object: 'Secret/istio-remote-secret-cluster2', field: 'data["cluster2"]: users[0].user' }, /isthmus install -y --context cluster2 -f <the remote cluster's IstioOperator>/);
  assert.match(f.message, /may not list services, watch services, list endpointslices\.discovery\.k8s\.io/);
  ok(await m.sh(f.fix.replace('<the remote cluster\'s IstioOperator>', `${m.dir}/cluster2.yaml`).replace(/#.*$/, '')), 'fix: re-install the remote');
  await clean('after re-installing the remote');
});

test('a cluster whose API server cannot be reached', async () => {
  await m.c2.stopApiServer();
  try {
    const f = await expectFinding('cluster-unreachable', { cluster: 'cluster2' }, /kubectl --context cluster2 get namespace istio-system/);
    assert.match(f.message, /ECONNREFUSED/);
  } finally {
    await m.c2.startApiServer();
  }
  await waitSynced('cluster2');
  await clean('after the API server is back');
});

test('webhook caBundle missing or from another root, and a foreign istio-ca-root-cert (control plane stopped)', async () => {
  // A running control plane restores these within milliseconds, so they persist only without it
  // (or in clusters it does not lead).
  await m.stopControlPlane();
  await clean('control plane stopped, objects intact', false);
  const mwc = () => ['patch', 'mutatingwebhookconfiguration', 'istio-sidecar-injector', '--type', 'json'];
  ok(await k('cluster2', [...mwc(), '-p', JSON.stringify([{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }])]), 'remove caBundle');
  const where = { cluster: 'cluster2', object: 'MutatingWebhookConfiguration/istio-sidecar-injector', field: 'webhooks[0].clientConfig.caBundle' };
  const f = await expectFinding('webhook-ca-bundle-missing', where, /--context cluster2 patch mutatingwebhookconfiguration istio-sidecar-injector/, false);
  await fix(f);
  await clean('after patching the caBundle', false);

  const other = await generateRootCa({ org: 'other.example' });
  ok(await k('cluster2', [...mwc(), '-p', JSON.stringify([{ op: 'replace', path: '/webhooks/0/clientConfig/caBundle', value: Buffer.from(other.rootCertPem).toString('base64') }])]), 'foreign caBundle');
  const g = await expectFinding('webhook-ca-bundle-foreign', where, /--context cluster2 patch mutatingwebhookconfiguration istio-sidecar-injector/, false);
  await fix(g);
  await clean('after patching the caBundle again', false);

  const cm = JSON.parse(ok(await k('cluster2', ['-n', 'sample', 'get', 'configmap', 'istio-ca-root-cert', '-o', 'json']), 'get cm').stdout) as { data: Record<string, string> };
  ok(await k('cluster2', ['-n', 'sample', 'patch', 'configmap', 'istio-ca-root-cert', '-p', JSON.stringify({ data: { ...cm.data, 'root-cert.pem': other.rootCertPem } })]), 'foreign root');
  const h = await expectFinding('root-cert-mismatch', { cluster: 'cluster2', namespace: 'sample', object: 'ConfigMap/istio-ca-root-cert', field: 'data["root-cert.pem"]' }, /for ns in sample; do kubectl --context cluster2 -n "\$ns" delete configmap istio-ca-root-cert; done/, false);
  await fix(h);
  await m.startControlPlane(); // the leader writes the ConfigMap again
  await clean('after the control plane rewrote the root');
});
