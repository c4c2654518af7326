/**
 * The in-process harness's Kubernetes (src/testing/fake-kube.ts) against a real API server (test bed,
 * no nodes): the same registry and config watcher run twice, once on real informers and once on the
 * in-memory ones, and every write to the API server is handed to the in-memory cluster as the
 * object the server answered. After each step both must have asked for the same push requests, so
 * a test that uses the harness sees what the control plane would see.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pushTriggers } from '../../src/bootstrap/push-triggers.ts';
import { IstioConfigWatcher } from '../../src/config/istio-config.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { InformerFactory } from '../../src/kube/informer.ts';
import type { KubeList, KubeObject } from '../../src/kube/types.ts';
import { clusterId } from '../../src/model/ids.ts';
import { ISTIO_CRDS, crd } from '../../src/operator/render/base.ts';
import type { PushRequest } from '../../src/push/request.ts';
import { KubeRegistry } from '../../src/registry/kube/controller.ts';
import { ShardStore } from '../../src/registry/shards.ts';
import { FakeKubeCluster } from '../../src/testing/fake-kube.ts';
import { destinationRule, endpointSlice, namespace, service } from '../../src/testing/kube-objects.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-fidelity-'));
let bed: Testbed | undefined;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
});

after(async () => {
  for (const s of stops) await s();
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

const describe = (r: PushRequest) => `${r.full ? 'full' : 'eds'} ${[...r.reasons].join('+')} [${[...r.hostnames].sort().join(',')}] known=${String(r.hostsKnown)}`;

/** A registry and config watcher over `source`, recording the push requests they ask for. */
/** A Logger whose warnings land in `warnings` (both sides' warnings are compared). */
function warningsInto(warnings: string[]): Logger {
  const log: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => { warnings.push(m); }, error: () => undefined, scope: () => log };
  return log;
}

function controlPlane(source: KubeClient | InformerFactory, warnings: string[]): { pushes: string[]; registry: KubeRegistry; config: IstioConfigWatcher } {
  const pushes: string[] = [];
  const triggers = pushTriggers((r) => { pushes.push(describe(r)); });
  const store = new ShardStore(triggers.registry);
  const registry = new KubeRegistry({ cluster: clusterId('cluster1'), source, sink: store, log: warningsInto(warnings) });
  const config = new IstioConfigWatcher(source, { domainSuffix: 'cluster.local', rootNamespace: 'istio-system', onChange: triggers.configChanged, log: warningsInto(warnings) });
  stops.push(() => registry.stop(), () => config.stop());
  return { pushes, registry, config };
}

async function list(c: TestbedCluster, path: string, kind: string): Promise<KubeObject[]> {
  const l = await c.requestOk('GET', path) as KubeList<KubeObject>;
  return l.items.map((o) => ({ ...o, kind }));
}

test('the in-memory cluster asks for the same push requests as a real API server, write for write', async () => {
  assert.ok(bed);
  const c = bed.cluster('cluster1');
  for (const kind of ['DestinationRule']) {
    const def = ISTIO_CRDS.find((d) => d.kind === kind);
    assert.ok(def, kind);
    await c.requestOk('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(def), true);
  }
  for (let i = 0; ; i++) {
    if ((await c.request('GET', '/apis/networking.istio.io/v1/destinationrules')).status === 200) break;
    assert.ok(i < 600, 'the DestinationRule CRD is served');
    await sleep(50);
  }
  await c.requestOk('POST', '/api/v1/namespaces', namespace('istio-system', { 'topology.istio.io/network': 'network1' }), true);
  await c.ensureServiceAccount('fid', 'web');

  const fake = new FakeKubeCluster('cluster1');
  // What the API server holds now is what the in-memory informers list first.
  fake.seed(
    ...await list(c, '/api/v1/namespaces', 'Namespace'), ...await list(c, '/api/v1/services', 'Service'),
    ...await list(c, '/apis/discovery.k8s.io/v1/endpointslices', 'EndpointSlice'), ...await list(c, '/api/v1/pods', 'Pod'),
  );
  const realWarnings: string[] = [];
  const fakeWarnings: string[] = [];
  const real = controlPlane(KubeClient.load({ kubeconfig: c.kubeconfigPath }), realWarnings);
  const mem = controlPlane(fake.informers, fakeWarnings);
  for (const p of [real, mem]) { p.registry.start(); p.config.start(); }
  await Promise.all([real.registry.synced, mem.registry.synced]);
  await sleep(500);
  real.pushes.length = 0;
  mem.pushes.length = 0;

  /** Writes through the API server and hands the answer to the in-memory cluster. */
  const write = async (method: 'POST' | 'PUT', path: string, body: KubeObject) => {
    const answered = await c.requestOk(method, path, body) as KubeObject;
    fake.apply({ ...answered, kind: body.kind ?? '' });
    return answered;
  };
  const remove = async (path: string, kind: string, ns: string, name: string) => {
    await c.requestOk('DELETE', `${path}/${name}`);
    fake.delete(kind, ns, name);
  };
  /** Waits until the real side asked for as many pushes as the in-memory one and stayed quiet for 500 ms. */
  const settle = async () => {
    let last = -1;
    for (let i = 0; i < 200; i++) {
      await sleep(100);
      if (real.pushes.length >= mem.pushes.length && real.pushes.length === last && i >= 4) return;
      last = real.pushes.length;
    }
  };

  const HTTP: readonly (readonly [number, string])[] = [[80, 'http']];
  const host = 'web.fid.svc.cluster.local';
  const pods = '/api/v1/namespaces/fid/pods';
  const slices = '/apis/discovery.k8s.io/v1/namespaces/fid/endpointslices';
  const rules = '/apis/networking.istio.io/v1/namespaces/fid/destinationrules';
  const podObj = (labels: Record<string, string>): KubeObject => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'fid', labels: { app: 'web', 'security.istio.io/tlsMode': 'istio', ...labels } },
    spec: { serviceAccountName: 'web', containers: [{ name: 'web', image: 'example.invalid/web:1' }] },
  } as KubeObject);
  const steps: [string, () => Promise<unknown>][] = [
    // No selector: the endpoints controller leaves the slices to the test.
    ['Service added', () => {
      const { spec, ...svc } = service('web', 'fid', '', HTTP);
      return write('POST', '/api/v1/namespaces/fid/services', { ...svc, spec: { ports: spec?.ports ?? [] } } as KubeObject);
    }],
    ['Pod added, then its IP written (kubelet)', async () => {
      const p = await write('POST', pods, podObj({ version: 'v1' }));
      await write('PUT', `${pods}/web-1/status`, { ...p, status: { phase: 'Running', podIP: '10.30.0.1', podIPs: [{ ip: '10.30.0.1' }] } } as KubeObject);
    }],
    ['EndpointSlice added', () => write('POST', slices, endpointSlice('web', 'fid', [{ ip: '10.30.0.1', pod: 'web-1' }], HTTP))],
    ['EndpointSlice updated (endpoint not ready)', async () => {
      const s = await c.requestOk('GET', `${slices}/web-abcde`) as KubeObject;
      await write('PUT', `${slices}/web-abcde`, { ...endpointSlice('web', 'fid', [{ ip: '10.30.0.1', pod: 'web-1', ready: false }], HTTP), metadata: s.metadata });
    }],
    ['Pod relabelled', async () => {
      const p = await c.requestOk('GET', `${pods}/web-1`) as KubeObject;
      await write('PUT', `${pods}/web-1`, { ...p, metadata: { ...p.metadata, labels: { ...p.metadata.labels, version: 'v2' } } });
    }],
    ['system namespace moved to network2', async () => {
      const n = await c.requestOk('GET', '/api/v1/namespaces/istio-system') as KubeObject;
      await write('PUT', '/api/v1/namespaces/istio-system', { ...n, metadata: { ...n.metadata, labels: { ...n.metadata.labels, 'topology.istio.io/network': 'network2' } } });
    }],
    ['another namespace created (not the system one)', () => write('POST', '/api/v1/namespaces', namespace('other', { 'topology.istio.io/network': 'network3' }))],
    ['DestinationRule added', () => write('POST', rules, destinationRule('web', 'fid', 'web', { v1: { version: 'v1' } }))],
    ['DestinationRule deleted', () => remove(rules, 'DestinationRule', 'fid', 'web')],
    ['EndpointSlice deleted', () => remove(slices, 'EndpointSlice', 'fid', 'web-abcde')],
    ['Service deleted', () => remove('/api/v1/namespaces/fid/services', 'Service', 'fid', 'web')],
  ];
  const seen = new Map<string, string[]>();
  for (const [what, step] of steps) {
    real.pushes.length = 0;
    mem.pushes.length = 0;
    await step();
    await settle();
    console.log(`${what}: real ${JSON.stringify(real.pushes)}; in-memory ${JSON.stringify(mem.pushes)}`);
    assert.deepEqual(mem.pushes, real.pushes, `${what}: the same push requests`);
    seen.set(what, [...real.pushes]);
  }
  assert.deepEqual(fakeWarnings, realWarnings, 'the same warnings');
  const asked = [...seen.values()].flat();
  assert.ok(asked.some((p) => p.startsWith('full service') && p.includes(host)), `the steps asked for pushes at all: ${JSON.stringify(asked)}`);
  assert.ok(asked.some((p) => p.startsWith('eds endpoint')) && asked.some((p) => p.startsWith('full config')), 'endpoint and config pushes among them');
});
