/**
 * Issue 15 items 9 and 10, against a real `isthmus discovery` serving 15012 for two test-bed clusters
 * (cluster2 through a remote secret):
 * - a burst of unauthenticated CreateCertificate calls costs a bounded number of log lines, and the
 *   refusals are all counted in `citadel_server_authentication_failure_count`;
 * - a burst of junk bearer tokens (not JWTs, expired, wrong audience, another cluster's issuer) costs the
 *   API servers ~0 TokenReviews (counted by each API server: `apiserver_request_total{resource="tokenreviews"}`),
 *   while real tokens of both clusters still get certificates.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, makeGenericClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { poller } from '../../src/testing/wait.ts';
import { istioCertificateService, ServiceNames } from '../../src/proto/services.ts';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/proto/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-ca-'));
let bed: Testbed;
let c1: TestbedCluster;
let c2: TestbedCluster;
let disc: DiscoveryProcess;
let client: CaClient;
let csrPem = '';

type CaClient = Client & {
  CreateCertificate(req: IstioCertificateRequest, md: Metadata, cb: (err: ServiceError | null, res?: IstioCertificateResponse) => void): void;
};

const until = poller({ timeoutMs: 30_000, intervalMs: 100, context: () => disc.logs().split('\n').slice(-10).join('\n') });

function call(headers: Record<string, string>): Promise<IstioCertificateResponse> {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.CreateCertificate({ csr: csrPem, validityDuration: '3600' }, md, (err, res) => { if (err) reject(err); else resolve(res ?? {}); });
  });
}

/** Sends every call at once; returns the gRPC status of each (OK = 0). */
async function burst(headers: readonly Record<string, string>[]): Promise<status[]> {
  return Promise.all(headers.map((h) => call(h).then(() => status.OK, (e: unknown) => (e as ServiceError).code)));
}

async function metricSum(text: string, name: string, match: (labels: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name && match(m[2] ?? '')) total += Number(m[3]);
  }
  return Promise.resolve(total);
}

const discoveryMetric = async (name: string) => metricSum(await (await fetch(`http://${disc.monitoringAddr}/metrics`)).text(), name);

/** TokenReviews the API server of `c` has answered so far, by its own count. */
async function tokenReviews(c: TestbedCluster): Promise<number> {
  const r = await c.request('GET', '/metrics');
  assert.equal(r.status, 200);
  return metricSum(r.body, 'apiserver_request_total', (l) => l.includes('resource="tokenreviews"'));
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  await c1.ensureNamespace('istio-system');
  await c2.ensureNamespace('istio-system');
  await c2.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader');
  await c2.requestOk('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'istio-reader-tokenreview' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
    subjects: [{ kind: 'ServiceAccount', name: 'istio-reader-service-account', namespace: 'istio-system' }],
  });
  const reader = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 3600 });
  await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 'istio-remote-secret-cluster2', labels: { 'istio/multiCluster': 'true' } },
    data: { cluster2: Buffer.from(c2.tokenKubeconfig(reader, 'cluster2')).toString('base64') },
  });
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  await until('cluster2 synced', async () => ((await disc.json<{ id: string; syncStatus: string }[]>('/debug/clusterz')).find((c) => c.id === 'cluster2')?.syncStatus === 'synced' ? true : undefined));
  const rootPem = await until('istio-ca-root-cert in istio-system', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/istio-system/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
  const Ctor = makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
  client = new Ctor(disc.secureGrpcAddr, credentials.createSsl(Buffer.from(rootPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' }) as unknown as CaClient;
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  csrPem = (await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } })).toString('pem');
});

after(async () => {
  client.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('a burst of unauthenticated CreateCertificate calls costs a bounded number of log lines; the metric counts every one', async (t) => {
  const N = 1000;
  const refusedLines = () => disc.logs().split('\n').filter((l) => l.includes('CSR refused'));
  const linesBefore = refusedLines().length;
  const failuresBefore = await discoveryMetric('citadel_server_authentication_failure_count');
  const codes = await burst(Array.from({ length: N }, () => ({})));
  assert.ok(codes.every((c) => c === status.UNAUTHENTICATED), 'every call without credentials is refused');
  // The aggregated summary comes at the end of the 10 s interval.
  // The aggregated summary comes at the end of the 10 s interval: wait for it (bounded), then look.
  for (let i = 0; i < 250 && !refusedLines().slice(linesBefore).some((l) => /more in the last/.test(l)); i++) await sleep(100);
  const lines = refusedLines().slice(linesBefore);
  const failures = (await discoveryMetric('citadel_server_authentication_failure_count')) - failuresBefore;
  // A detail line stands for one refusal, a summary line for the `suppressed` ones after it.
  const accounted = lines.reduce((n, l) => n + Number(/ suppressed=(\d+)/.exec(l)?.[1] ?? 1), 0);
  t.diagnostic(`${N} unauthenticated calls -> ${lines.length} log lines (accounting for ${accounted} refusals); citadel_server_authentication_failure_count +${failures}`);
  for (const l of lines.slice(0, 4)) t.diagnostic(`  ${l.slice(0, 240)}`);
  assert.ok(lines.length <= 4, `at most a few lines for ${N} refusals, got ${lines.length}`);
  assert.equal(accounted, N, 'the lines still say how many refusals there were');
  assert.equal(failures, N, 'the metric counts every refusal');
});

test('junk tokens cost the API servers ~0 TokenReviews; real tokens of both clusters still get certificates', async (t) => {
  const now = Math.floor(Date.now() / 1000);
  const sa = await c1.ensureServiceAccount('sample', 'sleep');
  const claims = (iss: string, extra: Record<string, unknown>) => ({
    iss, sub: 'system:serviceaccount:sample:sleep', aud: ['istio-ca'], iat: now - 60, nbf: now - 60, exp: now + 3600,
    'kubernetes.io': { namespace: 'sample', serviceaccount: { name: 'sleep', uid: sa.uid } }, ...extra,
  });
  const c1Token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const c2Token = await c2.mintToken('sample', 'sleep', { audience: 'istio-ca' });

  // Warm-up (and proof the paths work): one real token per cluster.
  assert.ok(((await call({ authorization: `Bearer ${c1Token}` })).certChain ?? []).length >= 2);
  assert.ok(((await call({ authorization: `Bearer ${c2Token}`, clusterid: 'cluster2' })).certChain ?? []).length >= 2);

  const junk: { kind: string; headers: Record<string, string> }[] = [];
  for (let i = 0; i < 100; i++) {
    const cluster = i % 2 === 0 ? {} : { clusterid: 'cluster2' };
    const rnd = randomBytes(24).toString('base64url');
    junk.push({ kind: 'random', headers: { authorization: `Bearer ${rnd}`, ...cluster } });
    junk.push({ kind: 'jwt-shaped garbage', headers: { authorization: `Bearer ${rnd}.${rnd}.${rnd}`, ...cluster } });
    junk.push({ kind: 'expired', headers: { authorization: `Bearer ${c1.signToken(claims(c1.issuer, { jti: rnd, exp: now - 3600, iat: now - 7200, nbf: now - 7200 }))}` } });
    junk.push({ kind: 'wrong audience', headers: { authorization: `Bearer ${c1.signToken(claims(c1.issuer, { jti: rnd, aud: ['https://kubernetes.default.svc'] }))}` } });
    junk.push({ kind: 'cluster1 token named as cluster2', headers: { authorization: `Bearer ${c1.signToken(claims(c1.issuer, { jti: rnd }))}`, clusterid: 'cluster2' } });
    junk.push({ kind: 'forged issuer', headers: { authorization: `Bearer ${c2.signToken(claims('https://attacker.example', { jti: rnd }))}`, clusterid: 'cluster2' } });
  }
  const [r1, r2] = [await tokenReviews(c1), await tokenReviews(c2)];
  const [ours0, local0] = [await discoveryMetric('isthmus_token_review_count'), await discoveryMetric('isthmus_token_refused_locally_count')];
  const codes = await burst(junk.map((j) => j.headers));
  const [d1, d2] = [(await tokenReviews(c1)) - r1, (await tokenReviews(c2)) - r2];
  const [ours, local] = [(await discoveryMetric('isthmus_token_review_count')) - ours0, (await discoveryMetric('isthmus_token_refused_locally_count')) - local0];
  t.diagnostic(`${junk.length} junk tokens (${[...new Set(junk.map((j) => j.kind))].join(', ')}) -> TokenReviews: cluster1 +${d1}, cluster2 +${d2}; discovery: isthmus_token_review_count +${ours}, isthmus_token_refused_locally_count +${local}`);
  assert.equal(ours, d1 + d2, 'discovery counts the reviews the API servers counted');
  assert.equal(local + ours, junk.length, 'every other junk token was refused locally');
  assert.ok(codes.every((c) => c === status.UNAUTHENTICATED), 'every junk token is refused');
  // At most one probe review per cluster per 5 s for an issuer the cluster does not use.
  assert.ok(d1 + d2 <= 4, `~0 TokenReviews for ${junk.length} junk tokens, got ${d1 + d2}`);

  // Real tokens still work (new tokens: not served from the review cache).
  const [fresh1, fresh2] = [await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' }), await c2.mintToken('sample', 'sleep', { audience: 'istio-ca' })];
  const [b1, b2] = [await tokenReviews(c1), await tokenReviews(c2)];
  assert.ok(((await call({ authorization: `Bearer ${fresh1}` })).certChain ?? []).length >= 2);
  assert.ok(((await call({ authorization: `Bearer ${fresh2}`, clusterid: 'cluster2' })).certChain ?? []).length >= 2);
  const [e1, e2] = [(await tokenReviews(c1)) - b1, (await tokenReviews(c2)) - b2];
  t.diagnostic(`2 real tokens -> TokenReviews: cluster1 +${e1}, cluster2 +${e2}`);
  assert.equal(e1, 1, 'a real token is still reviewed by its API server');
  assert.equal(e2, 1);
});
