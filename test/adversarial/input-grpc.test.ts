/**
 * Hostile callers of the control plane's TLS port (15012), against a real `isthmus discovery`
 * process: bad tokens of every kind (ADS and CreateCertificate), malformed HTTP/2 and gRPC framing
 * sent with raw node:http2, 10 MB messages, deeply nested protobuf and JSON, and a storm of
 * thousands of streams. Every case must be refused cleanly (the right status, the stream or the
 * connection closed) while the process stays healthy: /ready answers and an honest proxy still
 * gets its configuration. These are the cases an adversarial run found already holding; each
 * prints its figure so a regression shows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as h2connect, constants as h2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { istioCertificateService, ServiceNames } from '../../src/proto/services.ts';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../../src/proto/types.ts';
import { CLUSTER_TYPE_URL } from '../../src/model/type-urls.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-advgrpc-'));
let bed: Testbed;
let c1: TestbedCluster;
let c2: TestbedCluster;
let disc: DiscoveryProcess;
let rootPem = '';
const clients: AdsTestClient[] = [];
const AUTHORITY = 'istiod.istio-system.svc';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const CA_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
const channelOptions = { 'grpc.ssl_target_name_override': AUTHORITY, 'grpc.default_authority': AUTHORITY };
const until = poller({ timeoutMs: 30_000, intervalMs: 100, context: () => disc.logs().split('\n').slice(-10).join('\n') });

function ads(token: string | undefined, headers: Record<string, string> = {}): AdsTestClient {
  const c = new AdsTestClient({
    address: disc.secureGrpcAddr, nodeId: `sidecar~10.1.0.${clients.length + 2}~sleep-1.sample~sample.svc.cluster.local`,
    metadata: { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0' },
    credentials: credentials.createSsl(Buffer.from(rootPem)), channelOptions,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
  });
  clients.push(c);
  return c;
}

function createCertificate(token: string | undefined, headers: Record<string, string> = {}): Promise<ServiceError | IstioCertificateResponse> {
  const Ctor = makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
  const client = new Ctor(disc.secureGrpcAddr, credentials.createSsl(Buffer.from(rootPem)), channelOptions);
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (req: IstioCertificateRequest, md: Metadata, cb: (e: ServiceError | null, r?: IstioCertificateResponse) => void) => void>)['CreateCertificate'];
    fn?.call(client, { csr: 'not a csr', validityDuration: '3600' }, md, (e, r) => { client.close(); resolve(e ?? r ?? {}); });
  });
}

/** The process answers /ready and an honest proxy gets CDS: it is healthy. */
async function assertHealthy(what: string): Promise<void> {
  assert.equal((await disc.get('/ready')).status, 200, `${what}: /ready`);
  const honest = ads(await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' }));
  const r = await honest.request(CLUSTER_TYPE_URL, [], 10_000);
  assert.equal(r.typeUrl, CLUSTER_TYPE_URL, `${what}: an honest proxy is still served`);
  honest.close();
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
}

function session(): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    // maxSessionMemory (MB): room for this client to buffer 10 MB messages itself.
    const s = h2connect(`https://${disc.secureGrpcAddr}`, { ca: rootPem, servername: AUTHORITY, maxSessionMemory: 100 });
    s.once('connect', () => { resolve(s); });
    s.once('error', reject);
  });
}

interface RawResult { httpStatus: number; grpcStatus: string | undefined; grpcMessage: string; ended: string }

/** One raw HTTP/2 request on `s`: headers, then `body` (or nothing), then end of stream. */
function raw(s: ClientHttp2Session, path: string, headers: Record<string, string>, body: Buffer | undefined, endStream = true): Promise<RawResult> {
  return new Promise((resolve) => {
    const req = s.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, te: 'trailers', ...headers });
    let httpStatus = 0;
    let grpcStatus: string | undefined;
    let grpcMessage = '';
    const take = (h: IncomingHttpHeaders) => {
      const st = h['grpc-status'];
      const msg = h['grpc-message'];
      if (typeof st === 'string') grpcStatus = st;
      if (typeof msg === 'string') grpcMessage = decodeURIComponent(msg);
      // A stream we left open (a message promised but not sent) is done once the status is in.
      if (grpcStatus !== undefined && !endStream) req.close();
    };
    req.on('response', (h) => { httpStatus = Number(h[':status']); take(h); });
    req.on('trailers', (h: IncomingHttpHeaders) => { take(h); });
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.on('close', () => { resolve({ httpStatus, grpcStatus, grpcMessage, ended: req.rstCode === 0 ? 'end of stream' : `RST_STREAM ${req.rstCode}` }); });
    req.setTimeout(20_000, () => { req.close(h2.NGHTTP2_CANCEL); });
    if (body) req.write(body);
    if (endStream) req.end();
  });
}

const GRPC = { 'content-type': 'application/grpc' };
const frame = (flag: number, payload: Buffer, declared = payload.length) => {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(declared, 1);
  return Buffer.concat([h, payload]);
};

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  for (const ns of ['istio-system', 'sample']) { await c1.ensureNamespace(ns); await c2.ensureNamespace(ns); }
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

test('bad tokens of every kind are refused with UNAUTHENTICATED on ADS and CreateCertificate', async () => {
  const sa = await c1.ensureServiceAccount('sample', 'sleep');
  const now = Math.floor(Date.now() / 1000);
  const claims = (exp: number, extra: Record<string, unknown> = {}) => ({
    iss: c1.issuer, aud: ['istio-ca'], sub: 'system:serviceaccount:sample:sleep', iat: exp - 3600, nbf: exp - 3600, exp,
    'kubernetes.io': { namespace: 'sample', serviceaccount: { name: 'sleep', uid: sa.uid } }, ...extra,
  });
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const forge = (c: unknown) => {
    const input = `${enc({ alg: 'ES256', typ: 'JWT' })}.${enc(c)}`;
    return `${input}.${cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  let deep: unknown = 'x';
  for (let i = 0; i < 1_000; i++) deep = [deep];
  const tokens: [string, string | undefined][] = [
    ['none', undefined],
    ['empty', ''],
    ['garbage', 'garbage'],
    ['garbage JWT shape', 'a.b.c'],
    ['expired', c1.signToken(claims(now - 600))],
    ['wrong audience', await c1.mintToken('sample', 'sleep', { audience: 'not-istio-ca' })],
    ['another cluster\'s', await c2.mintToken('sample', 'sleep', { audience: 'istio-ca' })],
    ['forged signature', forge(claims(now + 600))],
    ['alg none', `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims(now + 600))}.`],
    ['forged, with claims nested 1,000 levels deep', forge(claims(now + 600, { deep }))],
    ['8 KB of junk', 'A'.repeat(8 * 1024)],
  ];
  const t0 = performance.now();
  for (const [what, token] of tokens) {
    const e = await ads(token).failure(15_000).catch((err: unknown) => { throw new Error(`ADS with ${what} token: ${String(err)}`); });
    assert.equal(e.code, status.UNAUTHENTICATED, `ADS with ${what} token: ${e.code} ${e.details}`);
    const ca = await createCertificate(token);
    assert.equal((ca as ServiceError).code, status.UNAUTHENTICATED, `CreateCertificate with ${what} token: ${JSON.stringify(ca).slice(0, 200)}`);
  }
  console.log(`${tokens.length} kinds of bad token x (ADS, CreateCertificate): all UNAUTHENTICATED in ${(performance.now() - t0).toFixed(0)} ms`);
  await assertHealthy('after bad tokens');
});

test('malformed HTTP/2 and gRPC framing: each stream refused cleanly, the process unharmed', async () => {
  const token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const auth = { authorization: `Bearer ${token}` };
  const s = await session();
  const cases: [string, Promise<RawResult>, (r: RawResult) => boolean][] = [
    ['content-type text/plain', raw(s, ADS_PATH, { 'content-type': 'text/plain', ...auth }, frame(0, Buffer.alloc(0))), (r) => r.httpStatus === 415 || (r.grpcStatus !== undefined && r.grpcStatus !== '0')],
    ['no content-type', raw(s, CA_PATH, { ...auth }, frame(0, Buffer.alloc(0))), (r) => r.httpStatus === 415 || (r.grpcStatus !== undefined && r.grpcStatus !== '0')],
    ['truncated length prefix (3 of 5 bytes)', raw(s, CA_PATH, { ...GRPC, ...auth }, Buffer.from([0, 0, 0])), (r) => r.grpcStatus !== undefined && r.grpcStatus !== '0'],
    ['length prefix promising more than is sent', raw(s, CA_PATH, { ...GRPC, ...auth }, frame(0, Buffer.from('abc'), 1000)), (r) => r.grpcStatus !== undefined && r.grpcStatus !== '0'],
    ['compressed flag without grpc-encoding', raw(s, CA_PATH, { ...GRPC, ...auth }, frame(1, Buffer.from('\x0a\x03abc'))), (r) => r.grpcStatus !== undefined && r.grpcStatus !== '0'],
    ['unknown grpc-encoding', raw(s, CA_PATH, { ...GRPC, 'grpc-encoding': 'zstd-bogus', ...auth }, frame(1, Buffer.from('\x0a\x03abc'))), (r) => r.grpcStatus !== undefined && r.grpcStatus !== '0'],
    ['protobuf garbage', raw(s, CA_PATH, { ...GRPC, ...auth }, frame(0, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))), (r) => r.grpcStatus !== undefined && r.grpcStatus !== '0'],
    ['unknown method', raw(s, '/istio.v1.auth.IstioCertificateService/Nope', { ...GRPC, ...auth }, frame(0, Buffer.alloc(0))), (r) => r.grpcStatus === String(status.UNIMPLEMENTED)],
  ];
  for (const [what, p, ok] of cases) {
    const r = await p;
    console.log(`${what}: HTTP ${r.httpStatus}, grpc-status ${r.grpcStatus ?? '-'} ${r.grpcMessage.slice(0, 100)} (${r.ended})`);
    assert.ok(ok(r), `${what}: ${JSON.stringify(r)}`);
  }
  assert.equal(s.destroyed, false, 'bad streams end only themselves: the connection is still open');
  s.close();
  await assertHealthy('after malformed frames');
});

test('10 MB messages are refused with RESOURCE_EXHAUSTED and the stream closed', async () => {
  const token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const s = await session();
  const big = frame(0, Buffer.alloc(10 * 1024 * 1024, 0x41));
  const t0 = performance.now();
  const results = await Promise.all([
    raw(s, CA_PATH, { ...GRPC, authorization: `Bearer ${token}` }, big),
    raw(s, ADS_PATH, { ...GRPC, authorization: `Bearer ${token}` }, big),
    raw(s, CA_PATH, { ...GRPC, authorization: `Bearer ${token}` }, frame(0, Buffer.from('x'), 10 * 1024 * 1024), false),
  ]);
  console.log(`10 MB messages: ${results.map((r) => `grpc-status ${r.grpcStatus ?? '-'} (${r.ended})`).join('; ')} in ${(performance.now() - t0).toFixed(0)} ms`);
  for (const r of results) assert.equal(r.grpcStatus, String(status.RESOURCE_EXHAUSTED), JSON.stringify(r));
  s.destroy();
  await assertHealthy('after 10 MB messages');
});

test('deeply nested protobuf (node metadata 10,000 Structs deep) is refused, the process unharmed', async () => {
  // DiscoveryRequest.node (2) -> Node.metadata (3, Struct) -> fields (1, map entry) -> value (2, Value)
  // -> struct_value (5, Struct) -> ... built from the inside out with length-delimited fields.
  const ld = (field: number, body: Buffer) => {
    const tag = Buffer.from([(field << 3) | 2]);
    const len: number[] = [];
    let n = body.length;
    do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; len.push(b); } while (n);
    return Buffer.concat([tag, Buffer.from(len), body]);
  };
  let struct = Buffer.alloc(0);
  for (let i = 0; i < 10_000; i++) struct = ld(1, Buffer.concat([ld(1, Buffer.from('k')), ld(2, ld(5, struct))]));
  const node = Buffer.concat([ld(1, Buffer.from('sidecar~10.1.0.9~sleep-1.sample~sample.svc.cluster.local')), ld(3, struct)]);
  const msg = Buffer.concat([ld(2, node), ld(4, Buffer.from(CLUSTER_TYPE_URL))]);
  const token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const s = await session();
  const r = await raw(s, ADS_PATH, { ...GRPC, authorization: `Bearer ${token}` }, frame(0, msg), false);
  console.log(`${msg.length} byte DiscoveryRequest nested 10,000 Structs deep: grpc-status ${r.grpcStatus ?? '-'} ${r.grpcMessage.slice(0, 120)} (${r.ended})`);
  assert.ok(r.grpcStatus !== undefined && r.grpcStatus !== '0', JSON.stringify(r));
  s.destroy();
  await assertHealthy('after deep nesting');
});

test('a storm of 5,000 streams opened and reset: the process stays healthy and its memory returns', async () => {
  const pid = disc.pid;
  assert.ok(pid !== undefined);
  const token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  const before = rssKb(pid);
  const t0 = performance.now();
  let opened = 0;
  for (let round = 0; round < 10; round++) {
    const s = await session();
    const streams = Array.from({ length: 500 }, (_, i) => {
      const req = s.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: i % 2 ? ADS_PATH : CA_PATH, te: 'trailers', ...GRPC, authorization: `Bearer ${i % 3 ? token : 'junk'}` });
      req.on('error', () => undefined);
      req.on('data', () => undefined);
      opened++;
      return req;
    });
    await new Promise((r) => setTimeout(r, 50));
    for (const req of streams) req.close(h2.NGHTTP2_CANCEL);
    s.destroy();
  }
  const stormMs = performance.now() - t0;
  const peak = rssKb(pid);
  await assertHealthy('right after the storm');
  let after = rssKb(pid);
  for (let i = 0; i < 40 && after > before + 50 * 1024; i++) { await new Promise((r) => setTimeout(r, 500)); after = rssKb(pid); }
  console.log(`${opened} streams opened and reset in ${stormMs.toFixed(0)} ms: RSS ${Math.round(before / 1024)} MB before, ${Math.round(peak / 1024)} MB right after, ${Math.round(after / 1024)} MB settled`);
  assert.ok(after < before + 50 * 1024, `memory did not return: ${before} KB -> ${after} KB`);
});
