/**
 * The CA service end to end on the real test bed: two kube-apiservers, the CA key material in
 * cluster1's istio-system, cluster2's workloads authenticated by cluster2's TokenReview, a real grpc-js
 * TLS connection to `IstioCertificateService/CreateCertificate` (server name checked as agents check
 * it), and the issued chain verified by openssl and node:crypto against the root that the namespace
 * controller wrote into cluster2's `istio-ca-root-cert`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, makeGenericClientConstructor, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { CaStore } from '../../src/ca/store.ts';
import { bundleAuthority } from '../../src/ca/server/authority.ts';
import { CaService } from '../../src/ca/server/service.ts';
import { ServingCertificate } from '../../src/ca/server/serving.ts';
import { AuthenticatorChain, ClientCertAuthenticator, KubeJwtAuthenticator, type ClusterClients } from '../../src/security/authenticate.ts';
import { TokenReviewer } from '../../src/security/tokenreview.ts';
import { ClusterLeadership } from '../../src/controllers/cluster-leadership.ts';
import { CA_ROOT_CONFIGMAP } from '../../src/controllers/namespacecontroller.ts';
import { startGrpcServer, type BoundServer } from '../../src/xds/server/grpc.ts';
import { istioCertificateService, ServiceNames } from '../../src/proto/services.ts';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/proto/types.ts';
import { structFromJson } from '../../src/proto/wkt.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { opensslCsr, opensslPluggedCa, P256_ARGS, TempDir } from '../../src/testing/pki/openssl.ts';
import { ErrorCodes, isIsthmusError } from '../../src/model/errors.ts';
import { parseSpiffeId } from '../../src/model/ids.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-ca-'));
let bed: Testbed;
let c1: TestbedCluster;
let c2: TestbedCluster;
let store: CaStore;
let server: BoundServer;
let leadership: ClusterLeadership;
let tmp: TempDir;
let rootFromConfigMap: string;

const SPIFFE = 'spiffe://cluster.local/ns/sample/sa/sleep';

type CaClient = Client & {
  CreateCertificate(req: IstioCertificateRequest, md: Metadata, cb: (err: ServiceError | null, res?: IstioCertificateResponse) => void): void;
};
const CaClientCtor = makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
const clients: Client[] = [];

function caClient(rootPem: string, clientCert?: { keyPem: string; certPem: string }): CaClient {
  const creds = credentials.createSsl(Buffer.from(rootPem), clientCert ? Buffer.from(clientCert.keyPem) : null, clientCert ? Buffer.from(clientCert.certPem) : null);
  // Agents dial istiod.istio-system.svc:15012; the server name is checked against the serving certificate.
  const c = new CaClientCtor(`127.0.0.1:${server.port}`, creds, { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' }) as unknown as CaClient;
  clients.push(c);
  return c;
}

function call(client: CaClient, req: IstioCertificateRequest, headers: Record<string, string>): Promise<IstioCertificateResponse> {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.CreateCertificate(req, md, (err, res) => { if (err) reject(err); else resolve(res ?? {}); });
  });
}

async function refusedWith(p: Promise<unknown>, code: status, details?: string): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, `expected ${status[code]}, got ${status[e.code]}: ${e.details}`);
    if (details !== undefined) assert.equal(e.details, details);
    return true;
  });
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  await c1.ensureNamespace('istio-system');
  await c2.requestOk('POST', '/api/v1/namespaces', {
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: 'istio-system', annotations: { 'topology.istio.io/controlPlaneClusters': 'cluster1' }, labels: { 'topology.istio.io/network': 'network2' } },
  });
  await c2.ensureServiceAccount('sample', 'sleep');
  tmp = await TempDir.create();

  const k1 = KubeClient.fromFile(c1.kubeconfigPath);
  const k2 = KubeClient.fromFile(c2.kubeconfigPath);
  // Two replicas start at once against an empty istio-system: they must converge on ONE root.
  const other = new CaStore({ client: k1, namespace: 'istio-system', watch: false });
  store = new CaStore({ client: k1, namespace: 'istio-system' });
  await Promise.all([store.start(), other.start()]);
  assert.equal(other.rootCertPem(), store.rootCertPem(), 'two racing replicas converge on one self-signed root');

  const clusters: ClusterClients = {
    localClusterId: 'cluster1',
    client: (id) => (id === 'cluster1' ? k1 : id === 'cluster2' ? k2 : undefined),
    clusterIds: () => ['cluster1', 'cluster2'],
  };
  const chain = new AuthenticatorChain([
    new ClientCertAuthenticator({ issuers: () => store.issuerCertsPem(), trustDomains: ['cluster.local'], localClusterId: 'cluster1' }),
    new KubeJwtAuthenticator({ clusters, reviewer: new TokenReviewer(), trustDomain: 'cluster.local' }),
  ]);
  const ca = new CaService({
    authenticate: (c) => chain.authenticate(c),
    authority: bundleAuthority(() => store.current()),
    trustDomains: ['cluster.local'],
    log: silentLogger,
  });
  const serving = await ServingCertificate.create(store.current(), { namespace: 'istio-system' });
  server = await startGrpcServer('127.0.0.1:0', serving.credentials(), { maxRequestBytes: 4 * 1024 * 1024, maxResponseBytes: 4 * 1024 * 1024 },
    [{ definition: istioCertificateService, implementation: ca.implementation() }]);

  // The leader of cluster2 writes the root into cluster2's namespaces.
  leadership = new ClusterLeadership({
    clusterId: 'cluster2', client: k2, systemNamespace: 'istio-system', localClusterId: 'cluster1', externalIstiod: true,
    identity: 'istiod-a', leaseDurationMs: 3000, rootCertPem: () => store.rootCertPem(), onRootChange: (f) => store.onRootChange(f),
  });
  leadership.activate();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await c2.request('GET', `/api/v1/namespaces/sample/configmaps/${CA_ROOT_CONFIGMAP}`);
    if (res.status === 200) { rootFromConfigMap = (JSON.parse(res.body) as { data: Record<string, string> }).data['root-cert.pem'] ?? ''; break; }
    if (Date.now() > deadline) throw new Error('istio-ca-root-cert never appeared in cluster2/sample');
    await sleep(100);
  }
});

after(async () => {
  for (const c of clients) c.close();
  await leadership.stop();
  await server.close();
  await store.stop();
  await tmp.remove();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

async function csr(name: string, extra: readonly string[] = []): Promise<{ csrPem: string; keyPem: string }> {
  return opensslCsr(tmp, name, P256_ARGS, extra);
}

test('a cluster2 token of sample/sleep with clusterid cluster2 gets a chain that openssl and node:crypto accept against the ConfigMap root', async () => {
  assert.equal(rootFromConfigMap, store.rootCertPem());
  const token = await c2.mintToken('sample', 'sleep', { audience: 'istio-ca', expirationSeconds: 3600 });
  const { csrPem, keyPem } = await csr('sleep', ['-addext', `subjectAltName=URI:${SPIFFE}`]);
  const res = await call(caClient(rootFromConfigMap), { csr: csrPem, validityDuration: '3600' }, { authorization: `Bearer ${token}`, clusterid: 'cluster2' });
  const chain = res.certChain ?? [];
  assert.ok(chain.length >= 2, 'leaf first, root last');
  assert.equal(chain[chain.length - 1], rootFromConfigMap, 'the last element is the root bundle');

  const leaf = new X509Certificate(chain[0] ?? '');
  const root = new X509Certificate(rootFromConfigMap);
  assert.equal(leaf.subjectAltName, `URI:${SPIFFE}`);
  assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey), 'node:crypto: the leaf is signed by the root');
  const lifetime = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
  assert.ok(lifetime <= 3600_000 + 61_000 && lifetime >= 3600_000, `TTL follows validity_duration (got ${lifetime} ms)`);

  await tmp.write('root.pem', rootFromConfigMap);
  await tmp.write('leaf.pem', chain[0] ?? '');
  const out = await tmp.mustOpenssl('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'root.pem', 'leaf.pem');
  assert.match(out, /leaf\.pem: OK/);

  // Certificate-based renewal: the issued certificate alone (no token) authenticates the next CSR.
  const renewed = await call(caClient(rootFromConfigMap, { keyPem, certPem: chain[0] ?? '' }), { csr: (await csr('renew')).csrPem }, {});
  assert.equal(new X509Certificate(renewed.certChain?.[0] ?? '').subjectAltName, `URI:${SPIFFE}`);
});

test('the same token sent with clusterid cluster1 is refused, opaquely', async () => {
  const token = await c2.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const req = { csr: (await csr('c1')).csrPem };
  const client = caClient(store.rootCertPem());
  await refusedWith(call(client, req, { authorization: `Bearer ${token}`, clusterid: 'cluster1' }), status.UNAUTHENTICATED, 'request authenticate failure');
  await refusedWith(call(client, req, { authorization: `Bearer ${token}` }), status.UNAUTHENTICATED, 'request authenticate failure');
  await refusedWith(call(client, req, { authorization: `Bearer ${token}`, clusterid: 'cluster9' }), status.UNAUTHENTICATED, 'request authenticate failure');
  await refusedWith(call(client, req, {}), status.UNAUTHENTICATED, 'request authenticate failure');
});

test('expired, forged, wrong-audience and deleted-account tokens are refused', async () => {
  const client = caClient(store.rootCertPem());
  const req = { csr: (await csr('bad')).csrPem };
  const sa = await c2.ensureServiceAccount('sample', 'sleep');
  const now = Math.floor(Date.now() / 1000);
  const claims = (exp: number) => ({
    iss: c2.issuer, aud: ['istio-ca'], sub: 'system:serviceaccount:sample:sleep', iat: exp - 3600, nbf: exp - 3600, exp,
    'kubernetes.io': { namespace: 'sample', serviceaccount: { name: 'sleep', uid: sa.uid } },
  });
  const expired = c2.signToken(claims(now - 600));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'ES256', typ: 'JWT' })}.${enc(claims(now + 600))}`;
  const forged = `${input}.${cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  const wrongAudience = await c2.mintToken('sample', 'sleep', { audience: 'not-istio-ca' });

  await c2.ensureServiceAccount('sample', 'doomed');
  const doomed = await c2.mintToken('sample', 'doomed', { audience: 'istio-ca' });
  await c2.requestOk('DELETE', '/api/v1/namespaces/sample/serviceaccounts/doomed');
  // Wait until the API server itself no longer accepts it (its service-account cache follows the delete).
  for (let i = 0; ; i++) {
    const r = await c2.requestOk('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: doomed, audiences: ['istio-ca'] } }) as { status: { authenticated?: boolean } };
    if (r.status.authenticated !== true) break;
    assert.ok(i < 100, 'the API server keeps accepting a deleted account\'s token');
    await sleep(100);
  }
  for (const [what, token] of [['expired', expired], ['forged', forged], ['wrong audience', wrongAudience], ['deleted account', doomed]] as const) {
    await refusedWith(call(client, req, { authorization: `Bearer ${token}`, clusterid: 'cluster2' }), status.UNAUTHENTICATED, 'request authenticate failure')
      .catch((e: unknown) => { throw new Error(`${what}: ${String(e)}`); });
  }
});

test('a CSR asking for another identity is refused; a malformed CSR is InvalidArgument and the server keeps serving', async () => {
  const token = await c2.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const headers = { authorization: `Bearer ${token}`, clusterid: 'cluster2' };
  const client = caClient(store.rootCertPem());
  const foreign = await csr('foreign', ['-addext', 'subjectAltName=URI:spiffe://cluster.local/ns/istio-system/sa/istiod']);
  await refusedWith(call(client, { csr: foreign.csrPem }, headers), status.PERMISSION_DENIED);
  await refusedWith(call(client, { csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }, headers), status.INVALID_ARGUMENT);
  await refusedWith(call(client, { csr: 'not a csr' }, headers), status.INVALID_ARGUMENT);
  await refusedWith(call(client, { csr: (await csr('ttl')).csrPem, validityDuration: String(365 * 24 * 3600) }, headers), status.INVALID_ARGUMENT);
  await refusedWith(call(client, { csr: (await csr('imp')).csrPem, metadata: structFromJson({ ImpersonatedIdentity: 'spiffe://cluster.local/ns/x/sa/y' }) }, headers), status.UNAUTHENTICATED);
  const ok = await call(client, { csr: (await csr('after')).csrPem }, headers);
  assert.equal(new X509Certificate(ok.certChain?.[0] ?? '').subjectAltName, `URI:${SPIFFE}`);
});

test('a plug-in CA from Secret cacerts is preferred; invalid plug-in material is an error, not a fall-back', async () => {
  const k1 = KubeClient.fromFile(c1.kubeconfigPath);
  const plugDir = await TempDir.create();
  try {
    const plugged = await opensslPluggedCa(plugDir);
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    for (const [ns, data] of [
      ['plugged', { 'ca-cert.pem': b64(plugged.caCertPem), 'ca-key.pem': b64(plugged.caKeyPem), 'root-cert.pem': b64(plugged.rootCertPem), 'cert-chain.pem': b64(plugged.caCertPem + plugged.rootCertPem) }],
      ['broken', { 'ca-cert.pem': b64(plugged.caCertPem), 'ca-key.pem': b64(plugged.caKeyPem) }],
    ] as const) {
      await c1.ensureNamespace(ns);
      await c1.requestOk('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cacerts' }, data });
    }
    const good = new CaStore({ client: k1, namespace: 'plugged', watch: false });
    await good.start();
    assert.equal(good.source, 'cacerts-secret');
    assert.equal(good.rootCertPem(), plugged.rootCertPem);
    const chain = bundleAuthority(() => good.current()).signWithCertChain({ publicKey: new X509Certificate(plugged.caCertPem).publicKey.export({ type: 'spki', format: 'der' }), identities: [parseSpiffeId(SPIFFE).id], ttlSeconds: 0 });
    assert.equal(chain.length, 4, 'leaf, intermediate, root from cert-chain.pem, then the root bundle');
    assert.equal(chain[chain.length - 1], plugged.rootCertPem);
    assert.equal((await c1.request('GET', '/api/v1/namespaces/plugged/secrets/istio-ca-secret')).status, 404, 'no self-signed root is generated beside a plug-in CA');

    await assert.rejects(new CaStore({ client: k1, namespace: 'broken', watch: false }).start(), (e: unknown) => isIsthmusError(e, ErrorCodes.CaKeyMaterial));
  } finally {
    await plugDir.remove();
  }
});
