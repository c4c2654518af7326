/**
 * Pods read from a real API server's protobuf answers are the same objects the JSON answers give
 * after `podEssentials`: labels, service account, node, host network, phase, single and dual-stack
 * IPs, a deletion timestamp, and pods with none of these. The informer lists pods in protobuf,
 * then follows them through a JSON watch; an error answered in protobuf still reads as an error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { KubeApiError, KubeClient } from '../../src/kube/client.ts';
import { Informer } from '../../src/kube/informer.ts';
import { PROTOBUF_CONTENT_TYPE, statusAsJson } from '../../src/kube/protobuf.ts';
import { podEssentials } from '../../src/registry/kube/convert.ts';
import { readPodList } from '../../src/registry/kube/pod-protobuf.ts';
import type { KubePod } from '../../src/registry/kube/types.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-kube-protobuf-'));
let bed: Testbed;
let c: TestbedCluster;
let client: KubeClient;
const informers: Informer<KubePod>[] = [];
const NS = 'proto';
const ACCEPT = `${PROTOBUF_CONTENT_TYPE}, application/json`;
const until = poller({ timeoutMs: 20_000, intervalMs: 25 });

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

async function createPod(name: string, extra: { labels?: Record<string, string>; spec?: Record<string, unknown>; status?: Record<string, unknown>; finalizers?: string[] }): Promise<void> {
  await c.requestOk('POST', `/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: { containers: [{ name: 'app', image: 'example.invalid/app:1', ports: [{ containerPort: 8080 }] }], ...extra.spec },
  });
  if (extra.status) {
    const pod = await c.requestOk('GET', `/api/v1/namespaces/${NS}/pods/${name}`) as Obj;
    await c.requestOk('PUT', `/api/v1/namespaces/${NS}/pods/${name}/status`, { ...pod, status: { ...(pod['status'] as object | undefined), ...extra.status } });
  }
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  const first = bed.clusters[0];
  if (!first) throw new Error('the test bed has no cluster');
  c = first;
  client = KubeClient.fromFile(c.kubeconfigPath);
  await c.ensureNamespace(NS);
  await c.ensureServiceAccount(NS, 'reviews');
  await createPod('plain', {});
  await createPod('running', {
    labels: { app: 'reviews', version: 'v1', 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/subzone': 'rack-1' },
    spec: { serviceAccountName: 'reviews', nodeName: 'node-a' },
    status: { phase: 'Running', podIP: '10.1.0.7', podIPs: [{ ip: '10.1.0.7' }, { ip: 'fd00::7' }] },
  });
  await createPod('host', { labels: { app: 'agent' }, spec: { hostNetwork: true, nodeName: 'node-b' }, status: { phase: 'Running', podIP: '198.18.0.9', podIPs: [{ ip: '198.18.0.9' }] } });
  await createPod('pending', { labels: { app: 'reviews' }, status: { phase: 'Pending' } });
  // A finalizer keeps the deleted pod, with its deletionTimestamp, until the bed goes down.
  await createPod('leaving', { labels: { app: 'reviews' }, finalizers: ['example.com/hold'], status: { phase: 'Running', podIP: '10.1.0.8', podIPs: [{ ip: '10.1.0.8' }] } });
  await c.requestOk('DELETE', `/api/v1/namespaces/${NS}/pods/leaving`);
});

after(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('a protobuf pod list reads as podEssentials of the JSON list', async () => {
  const json = await client.request<{ items: KubePod[] }>('GET', `/api/v1/namespaces/${NS}/pods`);
  const res = await client.getBytes(`/api/v1/namespaces/${NS}/pods`, ACCEPT);
  assert.equal(res.status, 200);
  assert.ok(res.contentType.startsWith(PROTOBUF_CONTENT_TYPE), `the server answered ${res.contentType}`);
  const list = readPodList(res.bytes, 'test');
  assert.deepEqual(list.items.map((p) => p.metadata.name).sort(), ['host', 'leaving', 'pending', 'plain', 'running']);
  assert.deepEqual(list.items, json.items.map(podEssentials));
  assert.match(list.resourceVersion, /^\d+$/);
  // The fields the cases above are there for, spelled out.
  const byName = new Map(list.items.map((p) => [p.metadata.name, p]));
  assert.deepEqual(byName.get('running')?.status?.podIPs, [{ ip: '10.1.0.7' }, { ip: 'fd00::7' }]);
  assert.equal(byName.get('running')?.spec?.serviceAccountName, 'reviews');
  assert.equal(byName.get('host')?.spec?.hostNetwork, true);
  assert.equal(byName.get('running')?.spec?.hostNetwork, undefined);
  assert.match(byName.get('leaving')?.metadata.deletionTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(byName.get('plain')?.metadata.labels, undefined);
});

test('pages of a protobuf list carry the continue token', async () => {
  const first = readPodList((await client.getBytes(`/api/v1/namespaces/${NS}/pods?limit=2`, ACCEPT)).bytes, 'page 1');
  assert.equal(first.items.length, 2);
  assert.notEqual(first.continue, '');
  const second = readPodList((await client.getBytes(`/api/v1/namespaces/${NS}/pods?limit=10&continue=${encodeURIComponent(first.continue)}`, ACCEPT)).bytes, 'page 2');
  assert.equal(second.items.length, 3);
  assert.equal(second.continue, '');
});

test('an error answered in protobuf reads as a Status', async () => {
  const res = await client.getBytes(`/api/v1/namespaces/${NS}/pods/missing`, ACCEPT);
  assert.equal(res.status, 404);
  const status = JSON.parse(statusAsJson(res.bytes, 'test') ?? 'null') as Record<string, unknown>;
  assert.equal(status['reason'], 'NotFound');
  assert.equal(status['code'], 404);
  assert.match(String(status['message']), /"missing" not found/);
  assert.match(new KubeApiError('GET', '/x', res.status, statusAsJson(res.bytes, 'test') ?? '').message, /404 NotFound pods "missing" not found/);
});

test('an informer lists pods in protobuf and follows them through its JSON watch', async () => {
  let protobufPages = 0;
  const informer = new Informer<KubePod>(client, {
    path: `/api/v1/namespaces/${NS}/pods`, pageSize: 2, reduce: podEssentials,
    readProtobufList: (body, what) => { protobufPages++; return readPodList(body, what); },
  });
  informers.push(informer);
  informer.start();
  await informer.synced;
  const json = await client.request<{ items: KubePod[] }>('GET', `/api/v1/namespaces/${NS}/pods`);
  const byName = (pods: readonly KubePod[]): KubePod[] => [...pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  assert.deepEqual(byName(informer.list()), byName(json.items.map(podEssentials)));
  assert.equal(protobufPages, 3, 'five pods in pages of two, each read from protobuf');
  await createPod('later', { labels: { app: 'later' }, status: { phase: 'Running', podIP: '10.1.0.9', podIPs: [{ ip: '10.1.0.9' }] } });
  await until('the watch delivers the new pod', () => informer.list().find((p) => p.metadata.name === 'later' && p.status?.podIP === '10.1.0.9'));
  assert.equal(informer.status().healthy, true);
});
