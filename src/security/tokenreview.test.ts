import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client.ts';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { identityFromReview, TokenReviewer, unverifiedExpiryMs, type TokenReviewStatus } from './tokenreview.ts';

const SA_USER = { username: 'system:serviceaccount:sample:sleep', groups: ['system:serviceaccounts', 'system:serviceaccounts:sample', 'system:authenticated'] };

const ISSUER = 'https://c.testbed.example';

function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'ES256' })}.${enc({ iss: ISSUER, ...claims })}.sig`;
}

/** A KubeClient stand-in that answers TokenReviews from a script and records the requests. */
function fakeClient(answer: (body: { spec: { token: string; audiences: string[] } }) => TokenReviewStatus | Error): { client: KubeClient; calls: { spec: { token: string; audiences: string[] } }[] } {
  const calls: { spec: { token: string; audiences: string[] } }[] = [];
  const client = {
    request: (_m: string, path: string, body: { spec: { token: string; audiences: string[] } }) => {
      if (path === '/.well-known/openid-configuration') return Promise.resolve({ issuer: ISSUER });
      assert.equal(path, '/apis/authentication.k8s.io/v1/tokenreviews');
      calls.push(body);
      const a = answer(body);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve({ status: a });
    },
  } as unknown as KubeClient;
  return { client, calls };
}

test('a TokenReview must be authenticated, in system:serviceaccounts, with a service-account username', () => {
  assert.deepEqual(identityFromReview({ authenticated: true, user: { ...SA_USER, extra: { 'authentication.kubernetes.io/pod-name': ['sleep-1'] } } }),
    { namespace: 'sample', serviceAccount: 'sleep', podName: 'sleep-1' });
  const refused = (s: TokenReviewStatus | undefined, re: RegExp) => {
    assert.throws(() => identityFromReview(s), (e: unknown) => isIsthmusError(e, ErrorCodes.AuthenticationFailed) && re.test(e.message));
  };
  refused(undefined, /no status/);
  refused({ authenticated: false, error: 'token has expired' }, /not authenticated: token has expired/);
  refused({ authenticated: true, user: { username: 'alice', groups: ['system:authenticated'] } }, /not in group system:serviceaccounts/);
  refused({ authenticated: true, user: { username: 'alice', groups: ['system:serviceaccounts'] } }, /not a service account/);
  refused({ authenticated: true, user: { username: 'system:serviceaccount:a:b:c', groups: ['system:serviceaccounts'] } }, /malformed/);
});

test('positive results are cached per cluster for at most 60 s and never past the token exp', async () => {
  let now = 1_000_000;
  const { client, calls } = fakeClient(() => ({ authenticated: true, user: SA_USER }));
  const r = new TokenReviewer({ clock: { now: () => now } });
  const token = jwt({ exp: (now + 30_000) / 1000 });
  await r.review(client, 'cluster2', token);
  await r.review(client, 'cluster2', token);
  assert.equal(calls.length, 1, 'second review served from the cache');
  assert.deepEqual(calls[0]?.spec.audiences, ['istio-ca']);
  await r.review(client, 'cluster1', token);
  assert.equal(calls.length, 2, 'another cluster is another cache entry');
  now += 30_001;
  await r.review(client, 'cluster2', token);
  assert.equal(calls.length, 3, 'not served past the token exp');

  const long = jwt({ exp: (now + 3_600_000) / 1000 });
  await r.review(client, 'cluster2', long);
  now += 59_000;
  await r.review(client, 'cluster2', long);
  assert.equal(calls.length, 4);
  now += 2_000;
  await r.review(client, 'cluster2', long);
  assert.equal(calls.length, 5, 'positive entries live at most 60 s');
});

test('refusals are cached briefly, transport failures not at all, and concurrent reviews share one call', async () => {
  let now = 0;
  let mode: 'refuse' | 'down' | 'ok' = 'refuse';
  const { client, calls } = fakeClient(() => (mode === 'down' ? new Error('connect ECONNREFUSED') : mode === 'refuse' ? { authenticated: false } : { authenticated: true, user: SA_USER }));
  const r = new TokenReviewer({ clock: { now: () => now }, negativeTtlMs: 1000, audiences: ['aud-x'] });
  const t1 = jwt({ aud: ['aud-x'] });
  await assert.rejects(r.review(client, 'c', t1));
  await assert.rejects(r.review(client, 'c', t1));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]?.spec.audiences, ['aud-x']);
  now += 1001;
  mode = 'down';
  await assert.rejects(r.review(client, 'c', t1), /TokenReview on cluster c failed: connect ECONNREFUSED/);
  mode = 'ok';
  const [a, b] = await Promise.all([r.review(client, 'c', t1), r.review(client, 'c', t1)]);
  assert.deepEqual(a, b);
  assert.equal(calls.length, 3, 'down was not cached; the two concurrent reviews made one call');
  await assert.rejects(r.review(client, 'c', ''), /empty bearer token/);
  await assert.rejects(r.review(client, 'c', 'x'.repeat(20_000)), /exceeds/);
});

test('unverifiedExpiryMs reads exp without trusting anything else', () => {
  assert.equal(unverifiedExpiryMs(jwt({ exp: 12 })), 12_000);
  assert.equal(unverifiedExpiryMs(jwt({})), undefined);
  assert.equal(unverifiedExpiryMs('garbage'), undefined);
  assert.equal(unverifiedExpiryMs('a.!!!.c'), undefined);
});

test('tokens that cannot be valid are refused without a TokenReview; only a review grants', async () => {
  const now = 1_700_000_000_000;
  const { client, calls } = fakeClient((body) => (body.spec.token.endsWith('.good') ? { authenticated: true, user: SA_USER } : { authenticated: false }));
  const refused: string[] = [];
  const r = new TokenReviewer({ clock: { now: () => now }, onRefusedLocally: (why) => { refused.push(why); } });
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = (claims: Record<string, unknown>, sig = 'sig') => `${enc({ alg: 'RS256' })}.${enc(claims)}.${sig}`;
  const junk: [string, RegExp][] = [
    ['garbage', /not a JWT \(1 dot-separated/],
    ['a.b', /not a JWT \(2/],
    ['!!.e30.sig', /header is not base64url/],
    [`${enc('x')}.${enc({})}.sig`, /header is not a JSON object/],
    [`${enc({ alg: 'none' })}.${enc({ iss: ISSUER })}.`, /not a signed JWT/],
    [`${enc({ alg: 'RS256' })}.bm90IGpzb24.sig`, /payload is not JSON/],
    [signed({ aud: ['istio-ca'] }), /no issuer/],
    [signed({ iss: ISSUER, exp: now / 1000 - 3600 }), /expired at/],
    [signed({ iss: ISSUER, nbf: now / 1000 + 3600 }), /not valid before/],
    [signed({ iss: ISSUER, aud: ['kubernetes.default.svc'] }), /include none of ours \[istio-ca\]/],
  ];
  for (const [token, re] of junk) await assert.rejects(r.review(client, 'c', token), re);
  assert.equal(calls.length, 0, 'no TokenReview for junk');
  assert.deepEqual(refused, ['jwt', 'jwt', 'jwt', 'jwt', 'jwt', 'jwt', 'claims', 'claims', 'claims', 'claims']);

  // An issuer the cluster does not use: one probe review, then local refusals until the probe interval passes.
  await assert.rejects(r.review(client, 'c', signed({ iss: 'https://other', aud: 'istio-ca' }, 'p1')), /not authenticated/);
  await assert.rejects(r.review(client, 'c', signed({ iss: 'https://other', aud: 'istio-ca' }, 'p2')), /issuer "https:\/\/other" is not one this cluster's API server uses/);
  assert.equal(calls.length, 1);

  // Well-formed claims are still only a hint: the API server decides.
  await assert.rejects(r.review(client, 'c', signed({ iss: ISSUER, aud: 'istio-ca', exp: now / 1000 + 600 }, 'forged')), /not authenticated/);
  const ok = await r.review(client, 'c', signed({ iss: ISSUER, aud: 'istio-ca', exp: now / 1000 + 600 }, 'good'));
  assert.equal(ok.serviceAccount, 'sleep');
  assert.equal(calls.length, 3);
  assert.equal(r.apiCalls, 3);
  assert.equal(r.refusedLocally, 11);
});
