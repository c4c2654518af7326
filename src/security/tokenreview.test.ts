import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client.ts';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { identityFromReview, TokenReviewer, unverifiedExpiryMs, type TokenReviewStatus } from './tokenreview.ts';

const SA_USER = { username: 'system:serviceaccount:sample:sleep', groups: ['system:serviceaccounts', 'system:serviceaccounts:sample', 'system:authenticated'] };

function jwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'ES256' })}.${enc(claims)}.sig`;
}

/** A KubeClient stand-in that answers TokenReviews from a script and records the requests. */
function fakeClient(answer: (body: { spec: { token: string; audiences: string[] } }) => TokenReviewStatus | Error): { client: KubeClient; calls: { spec: { token: string; audiences: string[] } }[] } {
  const calls: { spec: { token: string; audiences: string[] } }[] = [];
  const client = {
    request: (_m: string, path: string, body: { spec: { token: string; audiences: string[] } }) => {
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
  const r = new TokenReviewer({ now: () => now });
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
  const r = new TokenReviewer({ now: () => now, negativeTtlMs: 1000, audiences: ['aud-x'] });
  await assert.rejects(r.review(client, 'c', 't1'));
  await assert.rejects(r.review(client, 'c', 't1'));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]?.spec.audiences, ['aud-x']);
  now += 1001;
  mode = 'down';
  await assert.rejects(r.review(client, 'c', 't1'), /TokenReview on cluster c failed: connect ECONNREFUSED/);
  mode = 'ok';
  const [a, b] = await Promise.all([r.review(client, 'c', 't1'), r.review(client, 'c', 't1')]);
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
