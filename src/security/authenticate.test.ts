import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import type { KubeClient } from '../kube/client.ts';
import type { Identity } from '../model/identity.ts';
import { AuthenticatorChain, bearerToken, clientForCluster, KubeJwtAuthenticator, type AuthCall, type Authenticator, type ClusterClients } from './authenticate.ts';
import { TokenReviewer } from './tokenreview.ts';

const local = { name: 'local' } as unknown as KubeClient;
const remote = { name: 'remote' } as unknown as KubeClient;
const clusters: ClusterClients = {
  localClusterId: 'cluster1',
  client: (id) => (id === 'cluster1' ? local : id === 'cluster2' ? remote : undefined),
  clusterIds: () => ['cluster2', 'cluster1', 'cluster3'],
};

function callWith(headers: Record<string, string | string[]>): AuthCall {
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) for (const x of Array.isArray(v) ? v : [v]) md.add(k, x);
  return { metadata: md, getAuthContext: () => null, getPeer: () => '127.0.0.1:1' };
}

test('bearer tokens come from a single authorization header', () => {
  assert.equal(bearerToken(callWith({}).metadata), undefined);
  assert.equal(bearerToken(callWith({ authorization: 'Bearer abc.def' }).metadata), 'abc.def');
  assert.equal(bearerToken(callWith({ authorization: 'bearer abc' }).metadata), 'abc');
  assert.throws(() => bearerToken(callWith({ authorization: 'Basic xyz' }).metadata), /not "Bearer <token>"/);
  assert.throws(() => bearerToken(callWith({ authorization: ['Bearer a', 'Bearer b'] }).metadata), /at most one authorization/);
});

test('the clusterid header picks the API client; unknown clusters are named in the refusal', () => {
  assert.equal(clientForCluster(clusters, '').client, local);
  assert.equal(clientForCluster(clusters, 'cluster1').client, local);
  assert.equal(clientForCluster(clusters, 'cluster2').clusterId, 'cluster2');
  assert.equal(clientForCluster(clusters, 'Kubernetes', { Kubernetes: 'cluster1' }).client, local);
  assert.throws(() => clientForCluster(clusters, 'nope'),
    /client claims to be in cluster "nope", but we only know about local cluster "cluster1" and remote clusters \[cluster2, cluster3\]/);
});

test('the kube JWT authenticator builds the SPIFFE id from the reviewed token in our trust domain', async () => {
  const client = {
    request: () => Promise.resolve({ status: { authenticated: true, user: { username: 'system:serviceaccount:sample:sleep', groups: ['system:serviceaccounts'] } } }),
  } as unknown as KubeClient;
  const auth = new KubeJwtAuthenticator({ clusters: { ...clusters, client: (id) => (id === 'cluster2' ? client : undefined) }, reviewer: new TokenReviewer(), trustDomain: 'example.org' });
  assert.equal(await auth.authenticate(callWith({})), undefined, 'no token: not applicable');
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${enc({ alg: 'RS256' })}.${enc({ iss: 'https://cluster2.example', aud: ['istio-ca'] })}.c2ln`;
  assert.deepEqual(await auth.authenticate(callWith({ authorization: `Bearer ${token}`, clusterid: 'cluster2' })),
    { namespace: 'sample', serviceAccount: 'sleep', cluster: 'cluster2', spiffe: 'spiffe://example.org/ns/sample/sa/sleep' });
});

test('the chain returns the first identity, and every reason when none succeeds', async () => {
  const id: Identity = { namespace: 'a', serviceAccount: 'b', cluster: 'c', spiffe: 'spiffe://cluster.local/ns/a/sa/b' };
  const failing: Authenticator = { kind: 'x', authenticate: () => Promise.reject(new Error('bad cert')) };
  const absent: Authenticator = { kind: 'y', authenticate: () => Promise.resolve(undefined) };
  const good: Authenticator = { kind: 'z', authenticate: () => Promise.resolve(id) };
  assert.equal(await new AuthenticatorChain([failing, absent, good]).authenticate(callWith({})), id);
  await assert.rejects(new AuthenticatorChain([absent]).authenticate(callWith({})), /no credentials \(tried y\)/);
  await assert.rejects(new AuthenticatorChain([failing, absent]).authenticate(callWith({})), /x: bad cert/);
});
