/**
 * The foundation's smoke test: two real API servers from the test bed, objects written the way
 * later tests will write them, read back through informers, and tokens that only their own cluster
 * accepts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { Informer } from '../../src/kube/informer.ts';
import type { KubeObject } from '../../src/kube/types.ts';
import { TestbedErrorCodes, isTestbedError } from '../../src/testing/testbed/errors.ts';
import { ensureBinaries } from '../../src/testing/testbed/binaries.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-smoke-'));
let bed: Testbed;

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
});

after(async () => {
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

const until = poller({ timeoutMs: 10_000, intervalMs: 25 });

interface PodLike extends KubeObject { status?: { podIP?: string; phase?: string } }

async function seed(c: TestbedCluster, ip: string): Promise<void> {
  await c.ensureNamespace('sample');
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'helloworld', labels: { app: 'helloworld' } },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000, protocol: 'TCP' }] },
  });
  await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'helloworld-1', labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'helloworld-0', namespace: 'sample' } }],
    ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
  });
  await c.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'helloworld-0', labels: { app: 'helloworld' } },
    spec: { containers: [{ name: 'app', image: 'example.invalid/helloworld:1' }] },
  });
}

async function setPodStatus(c: TestbedCluster, name: string, ip: string): Promise<void> {
  const pod = await c.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as { status?: Record<string, unknown> } & Record<string, unknown>;
  pod.status = { ...pod.status, phase: 'Running', podIP: ip, podIPs: [{ ip }] };
  await c.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, pod);
}

test('each cluster serves its own objects, read back through informers, and informers survive an API server restart', async () => {
  const ips = { cluster1: '10.10.1.5', cluster2: '10.20.1.5' } as const;
  for (const name of ['cluster1', 'cluster2'] as const) {
    const c = bed.cluster(name);
    await seed(c, ips[name]);
    await setPodStatus(c, 'helloworld-0', ips[name]);
  }

  for (const name of ['cluster1', 'cluster2'] as const) {
    const client = KubeClient.fromFile(bed.cluster(name).kubeconfigPath);
    const pods = new Informer<PodLike>(client, { path: '/api/v1/pods' });
    const slices = new Informer<KubeObject & { endpoints: { addresses: string[] }[] }>(client, { path: '/apis/discovery.k8s.io/v1/endpointslices' });
    const services = new Informer<KubeObject>(client, { path: '/api/v1/services' });
    const namespaces = new Informer<KubeObject>(client, { path: '/api/v1/namespaces' });
    const all = [pods, slices, services, namespaces];
    try {
      for (const i of all) i.start();
      await Promise.all(all.map((i) => i.synced));
      assert.ok(namespaces.get('sample'), `${name}: namespace sample listed`);
      assert.ok(services.get('sample/helloworld'), `${name}: service listed`);
      assert.deepEqual(slices.get('sample/helloworld-1')?.endpoints[0]?.addresses, [ips[name]]);
      const pod = pods.get('sample/helloworld-0');
      assert.equal(pod?.status?.podIP, ips[name], `${name}: podIP written through the status subresource`);
      assert.equal(pod.status.phase, 'Running');
      // Nothing of the other cluster leaks in.
      assert.equal(slices.list().filter((s) => s.metadata.namespace === 'sample').length, 1);

      // A watch event: a new pod appears without a re-list.
      const relistsBefore = pods.status().relists;
      await bed.cluster(name).requestOk('POST', '/api/v1/namespaces/sample/pods', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'helloworld-1' }, spec: { containers: [{ name: 'app', image: 'example.invalid/x:1' }] },
      });
      await until('pod helloworld-1 through the watch', () => pods.get('sample/helloworld-1'));
      assert.equal(pods.status().relists, relistsBefore, 'delivered by the watch, not a re-list');

      if (name === 'cluster2') {
        // Cut every watch: stop the API server, change nothing, start it again, then change something.
        await bed.cluster(name).stopApiServer();
        await until('informers to notice the cut', () => (pods.status().healthy ? undefined : true), 40_000);
        await bed.cluster(name).startApiServer();
        await setPodStatus(bed.cluster(name), 'helloworld-1', '10.20.1.6');
        const seen = await until('pod IP update after the restart', () => {
          const ip = pods.get('sample/helloworld-1')?.status?.podIP;
          return ip === '10.20.1.6' ? ip : undefined;
        }, 30_000);
        assert.equal(seen, '10.20.1.6');
        assert.equal(pods.status().healthy, true);
      }
    } finally {
      await Promise.all(all.map((i) => i.stop()));
    }
  }
});

test('a service-account token minted in cluster2 passes cluster2\'s TokenReview and fails cluster1\'s', async () => {
  const c2 = bed.cluster('cluster2');
  const token = await c2.mintToken('sample', 'sleep', { audience: 'istio-ca', expirationSeconds: 600 });
  const review = (c: TestbedCluster) => c.requestOk('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['istio-ca'] },
  }) as Promise<{ status: { authenticated?: boolean; user?: { username?: string; groups?: string[] }; audiences?: string[] } }>;

  const ok = await review(c2);
  assert.equal(ok.status.authenticated, true);
  assert.equal(ok.status.user?.username, 'system:serviceaccount:sample:sleep');
  assert.ok(ok.status.user.groups?.includes('system:serviceaccounts'));
  assert.deepEqual(ok.status.audiences, ['istio-ca']);

  const other = await review(bed.cluster('cluster1'));
  assert.notEqual(other.status.authenticated, true, 'cluster1 must not accept cluster2\'s token');

  // A token signed with cluster2's real key but already expired is rejected too.
  const sa = await c2.ensureServiceAccount('sample', 'sleep');
  const now = Math.floor(Date.now() / 1000);
  const expired = c2.signToken({
    iss: c2.issuer, aud: ['istio-ca'], sub: 'system:serviceaccount:sample:sleep', iat: now - 7200, nbf: now - 7200, exp: now - 3600,
    'kubernetes.io': { namespace: 'sample', serviceaccount: { name: 'sleep', uid: sa.uid } },
  });
  const fresh = c2.signToken({
    iss: c2.issuer, aud: ['istio-ca'], sub: 'system:serviceaccount:sample:sleep', iat: now, nbf: now, exp: now + 600,
    'kubernetes.io': { namespace: 'sample', serviceaccount: { name: 'sleep', uid: sa.uid } },
  });
  const tr = (t: string) => c2.requestOk('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t, audiences: ['istio-ca'] },
  }) as Promise<{ status: { authenticated?: boolean } }>;
  assert.equal((await tr(fresh)).status.authenticated, true, 'a token signed with the cluster key is accepted (control for the next check)');
  assert.notEqual((await tr(expired)).status.authenticated, true, 'an expired token is rejected');
});

test('starting a cluster name that already runs is refused and starts nothing', async () => {
  await assert.rejects(Testbed.up({ dir, clusters: ['cluster2'] }), (e: unknown) => isTestbedError(e, TestbedErrorCodes.ClusterExists));
});

test('a component that fails to start is reported with its log and nothing is left running', async () => {
  const bins = await ensureBinaries();
  const failDir = mkdtempSync(join(tmpdir(), 'isthmus-fail-'));
  try {
    await assert.rejects(
      Testbed.up({ dir: failDir, clusters: ['broken'], binaries: { ...bins, kubeApiserver: '/bin/false' } }),
      (e: unknown) => isTestbedError(e, TestbedErrorCodes.ClusterStart) && /kube-apiserver exited/.test(e.message),
    );
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(failDir));
    assert.deepEqual(left, [], 'no process of the failed cluster survives');
  } finally {
    rmSync(failDir, { recursive: true, force: true });
  }
});

test('without a Go toolchain and without cached binaries the test bed says how to fix it', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'isthmus-nogo-'));
  const saved = { path: process.env['PATH'], cache: process.env['ISTHMUS_TESTBED_CACHE'] };
  process.env['PATH'] = '/nonexistent';
  process.env['ISTHMUS_TESTBED_CACHE'] = empty;
  try {
    await assert.rejects(ensureBinaries(() => undefined), (e: unknown) => isTestbedError(e, TestbedErrorCodes.ToolMissing) && /Install Go/.test(e.message));
  } finally {
    process.env['PATH'] = saved.path;
    if (saved.cache === undefined) delete process.env['ISTHMUS_TESTBED_CACHE']; else process.env['ISTHMUS_TESTBED_CACHE'] = saved.cache;
    rmSync(empty, { recursive: true, force: true });
  }
});
