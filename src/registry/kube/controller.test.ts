/** The kube registry's event handling, driven through in-memory informers (the real API server is in test/integration). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InformerHandlers, InformerLike, InformerOptions, InformerStatus } from '../../kube/informer.ts';
import { objectKey, type KubeObject } from '../../kube/types.ts';
import { ErrorCodes, isIsthmusError } from '../../model/errors.ts';
import { clusterId, serviceHostname } from '../../model/ids.ts';
import { ShardStore, type XdsUpdater } from '../shards.ts';
import { KubeRegistry } from './controller.ts';
import type { KubeEndpointSlice, KubeNamespace, KubeNode, KubePod, KubeService } from './types.ts';
import { CaptureLogger } from '../../testing/capture-logger.ts';

class FakeInformer<T extends KubeObject> implements InformerLike<T> {
  readonly opts: InformerOptions;
  readonly #store = new Map<string, T>();
  readonly #handlers: InformerHandlers<T>[] = [];
  #resolve: () => void = () => undefined;
  readonly synced = new Promise<void>((r) => { this.#resolve = r; });
  constructor(opts: InformerOptions) { this.opts = opts; }
  on(h: InformerHandlers<T>): void { this.#handlers.push(h); }
  list(): T[] { return [...this.#store.values()]; }
  get(key: string): T | undefined { return this.#store.get(key); }
  /** A list that fails (403) until `listNow()`: `start()` then does not sync it. */
  failing = false;
  #synced = false;
  status(): InformerStatus {
    return this.failing && !this.#synced ? { synced: false, healthy: false, lastError: 'list /api/v1/nodes: 403 Forbidden', resourceVersion: '', relists: 0 } : { synced: true, healthy: true, resourceVersion: '1', relists: 1 };
  }
  start(): void { if (!this.failing) this.listNow(); }
  listNow(): void { this.#synced = true; this.#resolve(); }
  stop(): Promise<void> { return Promise.resolve(); }
  apply(full: T): void {
    const obj = (this.opts.reduce ? this.opts.reduce(full) : full) as T;
    const key = objectKey(obj);
    const old = this.#store.get(key);
    this.#store.set(key, obj);
    for (const h of this.#handlers) {
      if (old) h.onUpdate?.(obj, old);
      else h.onAdd?.(obj);
    }
  }
  remove(key: string): void {
    const old = this.#store.get(key);
    if (!old) return;
    this.#store.delete(key);
    for (const h of this.#handlers) h.onDelete?.(old);
  }
}

const c2 = clusterId('cluster2');
const host = serviceHostname('hello', 'sample');

function rig() {
  const informers = new Map<string, FakeInformer<KubeObject>>();
  const events: string[] = [];
  const updater: XdsUpdater = {
    serviceChanged: (h) => { events.push(`svc ${h}`); },
    endpointsChanged: (h) => { events.push(`eds ${h}`); },
    networksChanged: () => { events.push('networks'); },
  };
  const store = new ShardStore(updater);
  const log = new CaptureLogger();
  const warnings = log.warnings;
  const registry = new KubeRegistry({
    cluster: c2, sink: store, log,
    source: <T extends KubeObject>(o: InformerOptions) => {
      const f = new FakeInformer<T>(o);
      informers.set(o.path, f);
      return f;
    },
  });
  const inf = <T extends KubeObject>(suffix: string) => {
    const f = [...informers.entries()].find(([p]) => p.endsWith(suffix))?.[1];
    assert.ok(f, suffix);
    return f as unknown as FakeInformer<T>;
  };
  return {
    registry, store, events, warnings,
    namespaces: inf<KubeNamespace>('/namespaces'), services: inf<KubeService>('/services'),
    slices: inf<KubeEndpointSlice>('/endpointslices'), pods: inf<KubePod>('/pods'), nodes: inf<KubeNode>('/nodes'),
  };
}

const ns = (labels: Record<string, string> = {}): KubeNamespace => ({ metadata: { name: 'istio-system', labels } });
const service: KubeService = { metadata: { name: 'hello', namespace: 'sample' }, spec: { clusterIP: '10.96.1.1', ports: [{ name: 'http', port: 5000 }] } };
const pod = (name: string, ip: string, labels: Record<string, string> = {}): KubePod => ({
  metadata: { name, namespace: 'sample', labels }, spec: { serviceAccountName: 'hello' }, status: { podIP: ip },
});
const slice = (name: string, eps: { ip: string; pod?: string; ready?: boolean }[]): KubeEndpointSlice => ({
  metadata: { name, namespace: 'sample', labels: { 'kubernetes.io/service-name': 'hello' } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({
    addresses: [e.ip], conditions: { ready: e.ready ?? true },
    ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace: 'sample' } } : {}),
  })),
  ports: [{ name: 'http', port: 5000 }],
});

const addrs = (r: ReturnType<typeof rig>) => r.store.endpoints(host).map((e) => `${e.address}/${e.network}/${e.serviceAccount}`);

test('nothing is written before every informer has listed; then the whole cluster at once', async () => {
  const r = rig();
  assert.equal(r.namespaces.opts.fieldSelector, 'metadata.name=istio-system');
  r.namespaces.apply(ns({ 'topology.istio.io/network': 'network2' }));
  r.services.apply(service);
  r.pods.apply(pod('a', '10.20.0.1'));
  r.slices.apply(slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }]));
  assert.deepEqual(r.events, [], 'events before the sync are only cached');
  r.registry.start();
  await r.registry.synced;
  assert.equal(r.registry.hasSynced(), true);
  assert.deepEqual(addrs(r), ['10.20.0.1/network2/hello']);
  assert.deepEqual(r.store.service(host)?.clusterVIPs.get(c2), ['10.96.1.1']);
  assert.equal(r.registry.status().synced, true);
  assert.deepEqual(Object.keys(r.registry.status().informers).sort(), ['endpointslices', 'namespaces', 'nodes', 'pods', 'services']);
});

test('slices and the pods they reference drive endpoints; the system namespace label re-resolves networks', async () => {
  const r = rig();
  r.services.apply(service);
  r.registry.start();
  await r.registry.synced;

  const table: [what: string, act: () => void, want: string[]][] = [
    ['slice whose pod is not cached yet: endpoint waits', () => { r.slices.apply(slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }])); }, []],
    ['the pod arrives', () => { r.pods.apply(pod('a', '10.20.0.1')); }, ['10.20.0.1//hello']],
    ['pod label sets its network', () => { r.pods.apply(pod('a', '10.20.0.1', { 'topology.istio.io/network': 'podnet' })); }, ['10.20.0.1/podnet/hello']],
    ['pod label removed', () => { r.pods.apply(pod('a', '10.20.0.1')); }, ['10.20.0.1//hello']],
    ['system namespace labelled: every endpoint moves', () => { r.namespaces.apply(ns({ 'topology.istio.io/network': 'network2' })); }, ['10.20.0.1/network2/hello']],
    ['a second slice, no targetRef, pod found by IP', () => {
      r.pods.apply(pod('b', '10.20.0.2'));
      r.slices.apply(slice('hello-2', [{ ip: '10.20.0.2' }]));
    }, ['10.20.0.1/network2/hello', '10.20.0.2/network2/hello']],
    ['the IP-matched pod is deleted: bare endpoint', () => { r.pods.remove('sample/b'); }, ['10.20.0.1/network2/hello', '10.20.0.2/network2/']],
    ['system namespace label removed', () => { r.namespaces.apply(ns()); }, ['10.20.0.1//hello', '10.20.0.2//']],
    ['first slice deleted', () => { r.slices.remove('sample/hello-1'); }, ['10.20.0.2//']],
    ['last slice deleted: no shard', () => { r.slices.remove('sample/hello-2'); }, []],
  ];
  for (const [what, act, want] of table) {
    act();
    assert.deepEqual(addrs(r), want, what);
  }
  assert.deepEqual(r.store.shardsFor(host), []);
  assert.deepEqual(r.warnings, []);
});

test('a pod update that cannot change endpoints pushes nothing', async () => {
  const r = rig();
  r.services.apply(service);
  r.pods.apply(pod('a', '10.20.0.1'));
  r.slices.apply(slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }]));
  r.registry.start();
  await r.registry.synced;
  r.events.length = 0;
  r.pods.apply({ ...pod('a', '10.20.0.1'), status: { podIP: '10.20.0.1', phase: 'Running' } });
  r.slices.apply({ ...slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }]), metadata: { ...slice('hello-1', []).metadata, resourceVersion: '9' } });
  assert.deepEqual(r.events, []);
});

test('gateway Services: discovered from labels and external addresses, removed with the Service', async () => {
  const r = rig();
  r.registry.start();
  await r.registry.synced;
  const gw: KubeService = {
    metadata: { name: 'istio-eastwestgateway', namespace: 'istio-system', labels: { 'topology.istio.io/network': 'network2' } },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.50', ports: [{ name: 'tls', port: 15443 }] },
  };
  r.services.apply(gw);
  assert.deepEqual(r.store.gateways(), [], 'no address yet');
  r.services.apply({ ...gw, status: { loadBalancer: { ingress: [{ ip: '172.18.0.20' }] } } });
  assert.deepEqual(r.store.gateways().map((g) => `${g.network}@${g.cluster ?? ''}:${g.address}:${g.port}`), ['network2@cluster2:172.18.0.20:15443']);
  r.registry.setMeshNetworks({ networks: { other: { endpoints: [{ fromRegistry: 'cluster2' }] } } });
  assert.equal(r.store.gateways().length, 1, 'the label still wins');
  r.services.remove('istio-system/istio-eastwestgateway');
  assert.deepEqual(r.store.gateways(), []);
  assert.equal(r.store.service(serviceHostname('istio-eastwestgateway', 'istio-system')), undefined);
  assert.ok(r.events.includes('networks'));
});

test('meshNetworks changes re-resolve endpoint networks', async () => {
  const r = rig();
  r.services.apply(service);
  r.slices.apply(slice('hello-1', [{ ip: '10.20.0.9' }]));
  r.registry.start();
  await r.registry.synced;
  assert.deepEqual(addrs(r), ['10.20.0.9//']);
  r.registry.setMeshNetworks({ networks: { cidrnet: { endpoints: [{ fromCidr: '10.20.0.0/16' }] } } });
  assert.deepEqual(addrs(r), ['10.20.0.9/cidrnet/']);
  r.registry.setMeshNetworks(undefined);
  assert.deepEqual(addrs(r), ['10.20.0.9//']);
});

test('a bad domain suffix is refused up front with a stable code', () => {
  assert.throws(
    () => new KubeRegistry({ cluster: c2, sink: new ShardStore(), domainSuffix: 'Bad_Suffix', source: <T extends KubeObject>(o: InformerOptions) => new FakeInformer<T>(o) }),
    (e: unknown) => isIsthmusError(e, ErrorCodes.InvalidId),
  );
});

test('Nodes: region/zone/subzone of a pod\'s Node give its endpoints\' locality; a label change recomputes them, nothing else does', async () => {
  const r = rig();
  const node = (name: string, labels: Record<string, string>, more: Record<string, unknown> = {}): KubeNode =>
    ({ metadata: { name, labels }, ...more });
  r.services.apply(service);
  r.nodes.apply(node('n1', { 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1', 'kubernetes.io/os': 'linux' }, { status: { images: [{ names: ['big'] }] } }));
  r.pods.apply({ ...pod('a', '10.20.0.1'), spec: { serviceAccountName: 'hello', nodeName: 'n1' } });
  r.slices.apply(slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }]));
  r.registry.start();
  await r.registry.synced;
  const loc = () => r.store.endpoints(host).map((e) => `${e.locality.region}/${e.locality.zone}/${e.locality.subzone}`);
  assert.deepEqual(loc(), ['region1/zone1/'], 'region and zone from the Node');
  assert.deepEqual(r.nodes.get('n1'), { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1' } } }, 'only the locality labels of a Node are kept');
  r.events.length = 0;
  r.nodes.apply(node('n1', { 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1', 'kubernetes.io/os': 'windows' }));
  assert.deepEqual(r.events, [], 'another label of the Node: no push');
  r.nodes.apply(node('n2', { 'topology.kubernetes.io/region': 'region9' }));
  assert.deepEqual(r.events, [], 'a Node without our pods: no push');
  r.nodes.apply(node('n1', { 'topology.kubernetes.io/region': 'region2', 'topology.kubernetes.io/zone': 'zone3', 'topology.istio.io/subzone': 'rack7' }));
  console.log('events after the Node moved to region2/zone3/rack7:', r.events);
  assert.deepEqual(r.events, [`eds ${host}`], 'one endpoint push for the service on that Node');
  assert.deepEqual(loc(), ['region2/zone3/rack7']);
  r.nodes.remove('n1');
  assert.deepEqual(loc(), ['//'], 'Node gone: back to the slice and pod labels (none here)');
});

test('Nodes that cannot be listed (403) do not hold the cluster back; once they list, localities are recomputed', async () => {
  const r = rig();
  r.nodes.failing = true;
  r.services.apply(service);
  r.pods.apply({ ...pod('a', '10.20.0.1'), spec: { serviceAccountName: 'hello', nodeName: 'n1' } });
  r.slices.apply(slice('hello-1', [{ ip: '10.20.0.1', pod: 'a' }]));
  r.registry.start();
  await r.registry.synced;
  const loc = () => r.store.endpoints(host).map((e) => `${e.locality.region}/${e.locality.zone}`);
  assert.deepEqual(addrs(r), ['10.20.0.1//hello'], 'the cluster is written without Nodes');
  assert.deepEqual(loc(), ['/']);
  console.log('warning:', r.warnings);
  assert.ok(r.warnings.some((w) => w.includes('cannot list Nodes') && w.includes('403')), r.warnings.join('\n'));
  assert.equal(r.registry.status().informers.nodes.healthy, false, 'the failing Node list shows in the status');
  assert.equal(r.registry.status().healthy, true, 'Nodes only refine localities: the cluster itself is healthy');
  // Permission granted: the Node list arrives.
  r.nodes.apply({ metadata: { name: 'n1', labels: { 'topology.kubernetes.io/region': 'region1', 'topology.kubernetes.io/zone': 'zone1' } } });
  r.nodes.listNow();
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(loc(), ['region1/zone1'], 'recomputed once Nodes listed');
});
