import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { generateRootCa } from '../../pki/root.ts';
import { opensslCsr, P256_ARGS, TempDir } from '../../testing/pki/openssl.ts';
import type { AuthCall } from '../../security/authenticate.ts';
import { silentLogger } from '../../observability/log.ts';
import type { GrpcStatusCode } from '../../model/grpc-status.ts';
import type { Identity } from '../../model/identity.ts';
import { bundleAuthority } from './authority.ts';
import { refill, take, KeyedRateLimiter, TokenBucket } from './ratelimit.ts';
import { AUTHN_FAILURE, CaCallError, CaService, type CaServiceOptions } from './service.ts';

const call: AuthCall = { metadata: new Metadata(), getAuthContext: () => null, getPeer: () => 'peer' };
const sleep: Identity = { namespace: 'sample', serviceAccount: 'sleep', cluster: 'cluster2', spiffe: 'spiffe://cluster.local/ns/sample/sa/sleep' };

async function rejectsWith(p: Promise<unknown>, code: GrpcStatusCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof CaCallError && e.grpcCode === code && (message === undefined || message.test(e.message)));
}

test('token buckets refill at their rate up to the burst, on an injected clock', () => {
  const cfg = { ratePerSecond: 2, burst: 3 };
  assert.deepEqual(refill(cfg, { tokens: 0, at: 0 }, 500), { tokens: 1, at: 500 });
  assert.deepEqual(refill(cfg, { tokens: 0, at: 0 }, 60_000), { tokens: 3, at: 60_000 });
  assert.equal(take(cfg, { tokens: 0.5, at: 0 }, 0).allowed, false);
  let now = 0;
  const b = new TokenBucket(cfg, { now: () => now });
  assert.deepEqual([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()], [true, true, true, false]);
  now += 500;
  assert.equal(b.tryTake(), true);
  const k = new KeyedRateLimiter({ ratePerSecond: 1, burst: 1 }, { now: () => now }, 2);
  assert.deepEqual([k.tryTake('a'), k.tryTake('a'), k.tryTake('b'), k.tryTake('c')], [true, false, true, true]);
  assert.equal(k.size, 2, 'bounded');
});

test('CreateCertificate: opaque authentication failures, limits, CSR and TTL checks, chain leaf first and root last', async (t) => {
  const ca = await generateRootCa();
  const tmp = await TempDir.create();
  t.after(() => tmp.remove());
  let now = Date.now();
  let who: Identity | Error = sleep;
  const opts = (over: Partial<CaServiceOptions> = {}): CaServiceOptions => ({
    authenticate: () => (who instanceof Error ? Promise.reject(who) : Promise.resolve(who)),
    authority: bundleAuthority(() => ca, { clock: { now: () => now } }),
    trustDomains: ['cluster.local'],
    log: silentLogger,
    clock: { now: () => now },
    ...over,
  });
  const svc = new CaService(opts({ identityLimit: { ratePerSecond: 1, burst: 2 } }));
  const { csrPem } = await opensslCsr(tmp, 'a', P256_ARGS);

  const res = await svc.createCertificate(call, { csr: csrPem });
  assert.equal(res.certChain?.length, 2);
  assert.equal(res.certChain[1], ca.rootCertPem);

  who = new Error('token review said: expired');
  await rejectsWith(svc.createCertificate(call, { csr: csrPem }), status.UNAUTHENTICATED, new RegExp(`^${AUTHN_FAILURE}$`));
  who = sleep;
  await svc.createCertificate(call, { csr: csrPem });
  await rejectsWith(svc.createCertificate(call, { csr: csrPem }), status.RESOURCE_EXHAUSTED);
  now += 1000;
  await svc.createCertificate(call, { csr: csrPem });

  const open = new CaService(opts({ identityLimit: null, globalLimit: null, maxRequestBytes: 4096 }));
  await rejectsWith(open.createCertificate(call, { csr: 'x'.repeat(5000) }), status.RESOURCE_EXHAUSTED);
  await rejectsWith(open.createCertificate(call, { csr: 'garbage' }), status.INVALID_ARGUMENT, /invalid CSR/);
  await rejectsWith(open.createCertificate(call, { csr: csrPem, validityDuration: 'abc' }), status.INVALID_ARGUMENT);
  await rejectsWith(open.createCertificate(call, { csr: csrPem, validityDuration: String(100 * 86400) }), status.INVALID_ARGUMENT, /max allowed TTL/);
  who = { ...sleep, spiffe: 'spiffe://evil.org/ns/sample/sa/sleep' };
  await rejectsWith(open.createCertificate(call, { csr: csrPem }), status.PERMISSION_DENIED);
  who = sleep;
  const foreign = await opensslCsr(tmp, 'b', P256_ARGS, ['-addext', 'subjectAltName=URI:spiffe://cluster.local/ns/x/sa/y']);
  await rejectsWith(open.createCertificate(call, { csr: foreign.csrPem }), status.PERMISSION_DENIED);
  const lax = new CaService(opts({ refuseForeignIdentities: false }));
  assert.ok((await lax.createCertificate(call, { csr: foreign.csrPem })).certChain?.[0], 'istiod behaviour on request: SANs overwritten, not refused');
});
