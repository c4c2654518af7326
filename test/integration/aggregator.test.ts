/**
 * Issue 6's "done when", with real parts: a real kube-apiserver, two real `isthmus discovery`
 * replicas serving TLS xDS with token authentication, simulated proxies (real grpc-js ADS streams
 * with real service-account tokens) connected to each, `isthmus xds-proxy` and the `isthmus` CLI
 * as child processes.
 *
 * A real @grpc/grpc-js-xds app (`grpc-0.sample`, GENERATOR=grpc) is connected to replica istiod-a's
 * plaintext xDS port beside the simulated sidecars, and must be listed like them.
 *
 * The replicas listen on 127.0.0.2 and 127.0.0.3 at the same secure port, and Pods `istiod-a` /
 * `istiod-b` (label app=istiod, Running, podIP 127.0.0.2 / .3) describe them to the API server, so
 * both the xds-proxy and the CLI without ISTIOCTL_XDS_ADDRESS find them the way they would in a cluster.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../../src/testing/testbed/procs.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { CONNECTIONS_TYPE_URL, DEBUG_CONFIG_DUMP_TYPE_URL, DEBUG_SYNCZ_TYPE_URL } from '../../src/model/type-urls.ts';
import { clientConfigCodec } from '../../src/proto/codec.ts';
import { runCli, XdsProxyProcess, type CliResult } from '../../src/testing/aggregator/processes.ts';
import { GRPC_APP, ReplicaMesh } from '../../src/testing/aggregator/replicas.ts';
import type { TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { SKIP_VERIFY } from '../../src/xds/client/transport.ts';
import { parseControlPlane } from '../../src/xds/client/control-plane.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-aggr-'));
const mesh = new ReplicaMesh();
const { replicas, clients } = mesh;
let c1: TestbedCluster;
let securePort = 0;
let proxy: XdsProxyProcess;
let attributing: XdsProxyProcess;

/** An istioctl-like caller of the xds-proxy itself (TLS, certificate not verified). */
function caller(port: number, ns: string, token: string | undefined): AdsTestClient {
  const c = new AdsTestClient({
    address: `127.0.0.1:${port}`, nodeId: `sidecar~10.9.9.9~test-1.default~default.svc.cluster.local`,
    metadata: { GENERATOR: 'event', NAMESPACE: ns, SERVICE_ACCOUNT: 'default' },
    credentials: credentials.createSsl(null, null, null, SKIP_VERIFY), headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  clients.push(c);
  return c;
}

const cliEnv = (port: number) => ({ ISTIOCTL_XDS_ADDRESS: `127.0.0.1:${port}`, ISTIOCTL_ISTIONAMESPACE: 'istio-system', KUBECONFIG: c1.kubeconfigPath });

/** Data rows of a table as [name, cluster, istiod, version, types]. */
function rowsOf(r: CliResult): string[][] {
  assert.equal(r.code, 0, `exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^NAME +CLUSTER +ISTIOD +VERSION +SUBSCRIBED TYPES$/);
  return lines.slice(1).map((l) => l.split(/ {5,}/));
}

const PROXIES = ['a-0.sample', 'a-stale.sample', 'b-0.other', 'b-nack.sample', GRPC_APP];

before(async () => {
  await mesh.up({ bedDir: dir, appDir: dir });
  ({ c1, securePort } = mesh);
  proxy = await XdsProxyProcess.start(['--kubeconfig', c1.kubeconfigPath, '--istio-namespace', 'istio-system', '--xds-port', String(securePort), '--replica-timeout', '2s']);
  attributing = await XdsProxyProcess.start(['--attribute-replicas', '--replica', `istiod-a=127.0.0.2:${securePort}`, '--replica', `istiod-b=127.0.0.3:${securePort}`, '--replica-timeout', '2s']);
});

after(async () => {
  for (const c of clients) c.close();
  await mesh.grpcApp?.stop();
  await proxy.stop();
  await attributing.stop();
  for (const d of Object.values(replicas)) await d.stop();
  await mesh.bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

test('x proxy-status through the xds-proxy: every proxy once, ISTIOD <external>, STALE and ERROR', async (t) => {
  const t0 = Date.now();
  const r = await runCli(['x', 'proxy-status'], cliEnv(proxy.port));
  t.diagnostic(`CLI through the proxy: ${Date.now() - t0} ms (process start included)`);
  for (const line of r.stdout.trimEnd().split('\n')) t.diagnostic(line);
  const rows = rowsOf(r);
  assert.deepEqual(rows.map((x) => x[0]), PROXIES, 'each proxy exactly once, sorted');
  assert.ok(rows.every((x) => x[1] === 'cluster1' && x[2] === '<external>' && x[3] === '1.28.0'), r.stdout);
  assert.ok(rows.filter((x) => x[0] !== GRPC_APP).every((x) => x[4] === '1 (CDS)'), r.stdout);
  assert.match(rows.find((x) => x[0] === GRPC_APP)?.[4] ?? '', /^\d+ \(.*LDS.*\)$/, 'the grpc-js-xds app subscribed to LDS at least');
  assert.equal(r.stderr, '', 'no warnings when every replica answered');

  const v = await runCli(['proxy-status', '-v', '1'], cliEnv(proxy.port));
  assert.equal(v.code, 0, v.stderr);
  const cell = (name: string) => (v.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '').split(/ {5,}/)[2] ?? '';
  assert.match(cell('a-0.sample'), /^SYNCED \(\d+s\)$/);
  assert.match(cell('a-stale.sample'), /^STALE \(\d+s\)$/);
  assert.match(cell('b-nack.sample'), /^ERROR \(\d+s\)$/);
  assert.match(v.stdout.split('\n')[0] ?? '', /^NAME +CLUSTER +CDS +ECDS +EDS +LDS +RDS +ISTIOD +VERSION$/);

  const j = await runCli(['ps', '-o', 'json'], { ...cliEnv(proxy.port), ISTIOCTL_PREFER_EXPERIMENTAL: 'true' });
  const data = JSON.parse(j.stdout) as { name: string; types: Record<string, { status: string; error?: string }> }[];
  assert.equal(data.find((d) => d.name === 'b-nack.sample')?.types['CDS']?.error, 'cluster outbound|80||x rejected: test NACK');
});

test('proxy-status without ISTIOCTL_XDS_ADDRESS asks each control plane pod and names the replicas', async () => {
  const r = await runCli(['proxy-status', '--xds-port', String(securePort)], { KUBECONFIG: c1.kubeconfigPath, ISTIOCTL_XDS_ADDRESS: undefined });
  const rows = rowsOf(r);
  assert.deepEqual(rows.map((x) => [x[0], x[2]]), [['a-0.sample', 'istiod-a'], ['a-stale.sample', 'istiod-a'], ['b-0.other', 'istiod-b'], ['b-nack.sample', 'istiod-b'], [GRPC_APP, 'istiod-a']]);
  const none = await runCli(['proxy-status', '-i', 'other'], { KUBECONFIG: c1.kubeconfigPath });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no running Istio pods in "other"/);
});

test('--attribute-replicas: each row keeps the replica it came from', async () => {
  const rows = rowsOf(await runCli(['x', 'ps'], cliEnv(attributing.port)));
  assert.deepEqual(rows.map((x) => [x[0], x[2]]), [['a-0.sample', 'istiod-a'], ['a-stale.sample', 'istiod-a'], ['b-0.other', 'istiod-b'], ['b-nack.sample', 'istiod-b'], [GRPC_APP, 'istiod-a']]);
});

test('single proxy: its status per type, from the replica that holds it', async () => {
  const r = await runCli(['x', 'ps', 'b-nack.sample'], cliEnv(proxy.port));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nCDS +ERROR \(\d+s\) +\S+ +cluster outbound\|80\|\|x rejected: test NACK\n/);
  assert.match(r.stderr, /admin port 15000/);
  const missing = await runCli(['x', 'ps', 'nope.sample'], cliEnv(proxy.port));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.sample is not connected/);
});

test('one long-lived stream to the xds-proxy: many requests, ACKs ignored, config_dump from the owning replica', async () => {
  const token = await c1.mintToken('istio-system', 'default', { audience: 'istio-ca' });
  const c = caller(proxy.port, 'istio-system', token);
  const first = await c.request(DEBUG_SYNCZ_TYPE_URL);
  assert.equal(parseControlPlane(first.controlPlane?.identifier).id, '<external>');
  c.ack(first);
  const second = await c.request(DEBUG_SYNCZ_TYPE_URL);
  assert.notEqual(second.nonce, first.nonce, 'the ACK was not answered: the next response is the next request\'s');
  const ids = (second.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array()).node?.id);
  assert.deepEqual(ids, PROXIES);
  const dump = await c.request(DEBUG_CONFIG_DUMP_TYPE_URL, ['b-0.other']);
  assert.ok((dump.resources ?? []).length > 0, 'replica istiod-b holds b-0 and answered');
  const conns = await c.request(CONNECTIONS_TYPE_URL);
  assert.equal(parseControlPlane(conns.controlPlane?.identifier).id, '<external>');
  c.send({ typeUrl: DEBUG_CONFIG_DUMP_TYPE_URL, resourceNames: ['nope.sample'] });
  const e = await c.failure();
  assert.equal(e.code, status.NOT_FOUND);
  assert.match(e.details, /Proxy not connected to any of the 2 control plane replicas/);
});

test('tokens decide: none refused before fan-out, wrong audience refused, another namespace filtered', async () => {
  const anon = caller(proxy.port, 'istio-system', undefined);
  anon.send({ typeUrl: DEBUG_SYNCZ_TYPE_URL });
  assert.equal((await anon.failure()).code, status.UNAUTHENTICATED);

  const wrongAud = await c1.mintToken('istio-system', 'default', { audience: 'not-istio' });
  const w = caller(proxy.port, 'istio-system', wrongAud);
  w.send({ typeUrl: DEBUG_SYNCZ_TYPE_URL });
  assert.equal((await w.failure()).code, status.UNAUTHENTICATED, 'the replicas refuse it; the proxy passes their verdict on');

  const sampleTok = await c1.mintToken('sample', 'default', { audience: 'istio-ca' });
  const s = caller(proxy.port, 'sample', sampleTok);
  const r = await s.request(DEBUG_SYNCZ_TYPE_URL);
  const ids = (r.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array()).node?.id);
  assert.deepEqual(ids, ['a-0.sample', 'a-stale.sample', 'b-nack.sample', GRPC_APP], 'a workload token sees its own namespace only');

  const noToken = await runCli(['x', 'ps'], { ...cliEnv(proxy.port), KUBECONFIG: join(dir, 'missing-kubeconfig') });
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /no token/);
});

test('clear CLI errors: unreachable address, TLS failure', async () => {
  const dead = await runCli(['x', 'ps', '--timeout', '3s'], { ...cliEnv(proxy.port), ISTIOCTL_XDS_ADDRESS: `127.0.0.1:${await freePort()}` });
  assert.equal(dead.code, 1);
  assert.match(dead.stderr, /ISTHMUS_XDS_UNREACHABLE.*cannot reach the xDS server/);
  const plain = replicas['istiod-a']?.grpcAddr ?? '';
  const tls = await runCli(['x', 'ps', '--timeout', '3s'], { ...cliEnv(proxy.port), ISTIOCTL_XDS_ADDRESS: plain });
  assert.equal(tls.code, 1);
  assert.match(tls.stderr, /ISTHMUS_XDS_TLS.*TLS handshake/);
  const verify = await runCli(['x', 'ps', '--timeout', '3s', '--authority', 'istiod.istio-system.svc'], cliEnv(proxy.port));
  assert.equal(verify.code, 1);
  assert.match(verify.stderr, /ISTHMUS_XDS_TLS/, 'the proxy\'s self-signed certificate does not verify against the system roots');
});

test('one replica stopped: the others\' proxies are still listed, with a warning', async () => {
  await replicas['istiod-b']?.stop();
  const r = await runCli(['x', 'proxy-status'], cliEnv(proxy.port));
  const rows = rowsOf(r);
  assert.deepEqual(rows.map((x) => x[0]), ['a-0.sample', 'a-stale.sample', GRPC_APP]);
  assert.match(r.stderr, /^warning: control plane replica istiod-b \(127\.0\.0\.3:\d+\): .*cannot reach/m);
  const direct = await runCli(['proxy-status', '--xds-port', String(securePort)], { KUBECONFIG: c1.kubeconfigPath });
  assert.deepEqual(rowsOf(direct).map((x) => x[0]), ['a-0.sample', 'a-stale.sample', GRPC_APP]);
  assert.match(direct.stderr, /^warning: control plane pod istiod-b .* did not answer/m);
});

test('manifests/xds-proxy.yaml is accepted by the API server (server-side dry run)', async () => {
  const paths: Record<string, string> = {
    ServiceAccount: '/api/v1/namespaces/istio-system/serviceaccounts', Service: '/api/v1/namespaces/istio-system/services',
    Role: '/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/roles', RoleBinding: '/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/rolebindings',
    Deployment: '/apis/apps/v1/namespaces/istio-system/deployments',
  };
  const docs = parseAllDocuments(readFileSync(new URL('../../manifests/xds-proxy.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as { kind: string });
  assert.deepEqual(docs.map((d) => d.kind), ['ServiceAccount', 'Role', 'RoleBinding', 'Service', 'Deployment']);
  for (const d of docs) await c1.requestOk('POST', `${paths[d.kind] ?? ''}?dryRun=All&fieldValidation=Strict`, d);
});
