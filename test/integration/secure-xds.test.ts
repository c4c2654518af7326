/**
 * The control plane's TLS port (15012) end to end, through a real `isthmus discovery` process:
 * CreateCertificate with a real token, the root it publishes into every namespace, authenticated
 * ADS with the identity check, and who may read the debug types.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { istioCertificateService, ServiceNames } from '../../src/proto/services.ts';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/proto/types.ts';
import { clientConfigCodec } from '../../src/proto/codec.ts';
import { CLUSTER_TYPE_URL, DEBUG_CONFIG_DUMP_TYPE_URL, DEBUG_SYNCZ_TYPE_URL } from '../../src/model/type-urls.ts';
import { poller } from '../../src/testing/wait.ts';
import { freePort } from '../../src/testing/testbed/procs.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-secure-'));
let bed: Testbed;
let disc: DiscoveryProcess;
let rootPem = '';
const clients: AdsTestClient[] = [];

const until = poller({ timeoutMs: 20_000, intervalMs: 50, context: () => disc.logs().split('\n').slice(-10).join('\n') });

const tls = () => credentials.createSsl(Buffer.from(rootPem));
const channelOptions = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' };

function ads(nodeNs: string, pod: string, token?: string, meta: Record<string, string | Record<string, string>> = {}): AdsTestClient {
  const c = new AdsTestClient({
    address: disc.secureGrpcAddr, nodeId: `sidecar~10.1.0.${clients.length + 2}~${pod}.${nodeNs}~${nodeNs}.svc.cluster.local`,
    metadata: { NAMESPACE: nodeNs, CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {}, ...meta },
    credentials: tls(), channelOptions, headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  clients.push(c);
  return c;
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  const c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');
  await c1.ensureNamespace('sample');
  await c1.ensureNamespace('other');
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  rootPem = await until('istio-ca-root-cert in sample', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
});

after(async () => {
  for (const c of clients) c.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('a token of sample/sleep gets a certificate for exactly that identity, chained to the published root', async () => {
  const token = await bed.cluster('cluster1').mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const Ctor = makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
  const client = new Ctor(disc.secureGrpcAddr, tls(), channelOptions);
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  const resp = await new Promise<IstioCertificateResponse>((resolve, reject) => {
    const fn = (client as unknown as Record<string, (req: IstioCertificateRequest, md: Metadata, cb: (e: ServiceError | null, r?: IstioCertificateResponse) => void) => void>)['CreateCertificate'];
    fn?.call(client, { csr: csr.toString('pem'), validityDuration: '3600' }, md, (e, r) => { if (e) reject(e); else if (r) resolve(r); });
  });
  client.close();
  const chain = resp.certChain ?? [];
  assert.ok(chain.length >= 2);
  const leaf = new X509Certificate(chain[0] ?? '');
  assert.equal(leaf.subjectAltName, 'URI:spiffe://cluster.local/ns/sample/sa/sleep');
  const root = new X509Certificate(rootPem);
  assert.ok(leaf.verify(root.publicKey), 'the leaf verifies against the root in istio-ca-root-cert');
  assert.equal((chain[chain.length - 1] ?? '').trim(), rootPem.trim(), 'root last');
});

test('ADS on 15012: no token is refused; a token must match the node\'s namespace', async () => {
  const anon = ads('sample', 'a-0');
  anon.send({ typeUrl: CLUSTER_TYPE_URL });
  assert.equal((await anon.failure()).code, status.UNAUTHENTICATED);

  const sleep = await bed.cluster('cluster1').mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const liar = ads('other', 'b-0', sleep);
  liar.send({ typeUrl: CLUSTER_TYPE_URL });
  const e = await liar.failure();
  assert.equal(e.code, status.PERMISSION_DENIED);
  assert.match(e.details, /spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep/);

  const ok = ads('sample', 'sleep-0', sleep);
  assert.equal((await ok.request(CLUSTER_TYPE_URL)).typeUrl, CLUSTER_TYPE_URL);
});

test('debug types: refused without identity, namespace-scoped for workloads, everything for the system namespace', async () => {
  const c1 = bed.cluster('cluster1');
  const sampleTok = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const otherTok = await c1.mintToken('other', 'app', { audience: 'istio-ca' });
  const sysTok = await c1.mintToken('istio-system', 'default', { audience: 'istio-ca' });
  const sampleProxy = ads('sample', 'sleep-1', sampleTok);
  await sampleProxy.request(CLUSTER_TYPE_URL);
  const otherProxy = ads('other', 'app-0', otherTok);
  await otherProxy.request(CLUSTER_TYPE_URL);

  // Plaintext 15010: no verified identity, so debug types are refused (ENABLE_DEBUG_ENDPOINT_AUTH).
  const plain = new AdsTestClient({ address: disc.grpcAddr, nodeId: 'sidecar~10.9.9.9~istioctl.istio-system~istio-system.svc.cluster.local', metadata: { GENERATOR: 'event', NAMESPACE: 'istio-system' } });
  clients.push(plain);
  plain.send({ typeUrl: DEBUG_SYNCZ_TYPE_URL });
  assert.equal((await plain.failure()).code, status.UNAUTHENTICATED);

  const names = async (tok: string, ns: string) => {
    const c = ads(ns, `istioctl-${clients.length}`, tok, { GENERATOR: 'event' });
    const r = await c.request(DEBUG_SYNCZ_TYPE_URL);
    return (r.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array()).node?.id).sort();
  };
  const seenBySample = await names(sampleTok, 'sample');
  assert.ok(seenBySample.includes('sleep-1.sample'));
  assert.ok(!seenBySample.some((n) => n?.endsWith('.other')), 'a workload token sees only its own namespace');
  const seenBySystem = await names(sysTok, 'istio-system');
  assert.ok(seenBySystem.includes('sleep-1.sample') && seenBySystem.includes('app-0.other'), 'the system namespace sees every proxy');

  const dumper = ads('sample', 'istioctl-dump', sampleTok, { GENERATOR: 'event' });
  dumper.send({ typeUrl: DEBUG_CONFIG_DUMP_TYPE_URL, resourceNames: ['app-0.other'] });
  const refused = await dumper.failure();
  assert.equal(refused.code, status.NOT_FOUND, 'another namespace\'s proxy is invisible to a workload token');
  const sysDump = ads('istio-system', 'istioctl-dump2', sysTok, { GENERATOR: 'event' });
  const dump = await sysDump.request(DEBUG_CONFIG_DUMP_TYPE_URL, ['app-0.other']);
  assert.ok((dump.resources ?? []).length > 0);
});

test('isthmus agent router connects to 15012 with a pod token and the published root, and shows in syncz', async () => {
  const c1 = bed.cluster('cluster1');
  const token = await c1.mintToken('istio-system', 'istio-eastwestgateway-service-account', { audience: 'istio-ca' });
  const tokenFile = join(dir, 'istio-token');
  const rootFile = join(dir, 'root-cert.pem');
  writeFileSync(tokenFile, token);
  writeFileSync(rootFile, rootPem);
  const listen = `127.0.0.1:${await freePort()}`;
  const agent = spawn(process.execPath, [new URL('../../bin/isthmus.mjs', import.meta.url).pathname, 'agent', 'router',
    '--xds-address', disc.secureGrpcAddr, '--root-cert', rootFile, '--token-file', tokenFile, '--listen', listen], {
    env: { ...process.env, POD_NAME: 'istio-eastwestgateway-0', POD_NAMESPACE: 'istio-system', ISTIO_META_CLUSTER_ID: 'cluster1', ISTIO_META_NETWORK: 'network1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  agent.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
  try {
    const seen = await until('the gateway in /debug/syncz', async () => {
      const rows = await disc.json<{ proxy: string; proxy_type: string; types: Record<string, { status: string }> }[]>('/debug/syncz');
      const row = rows.find((r) => r.proxy === 'istio-eastwestgateway-0.istio-system');
      return row && Object.values(row.types).some((t) => t.status === 'SYNCED') ? row : undefined;
    });
    assert.equal(seen.proxy_type, 'router');
    const conns = await disc.json<{ name: string; identity: string | null }[]>('/debug/connections');
    assert.equal(conns.find((c) => c.name === 'istio-eastwestgateway-0.istio-system')?.identity, 'spiffe://cluster.local/ns/istio-system/sa/istio-eastwestgateway-service-account');
  } catch (err) {
    throw new Error(`${String(err)}\nagent stderr:\n${stderr.slice(-2000)}`);
  } finally {
    agent.kill('SIGTERM');
  }
});
