/**
 * Delta ADS through the real server wiring (grpc-js server and client, the push queue and
 * debounce, the debug types): what real Envoy does not show on demand, such as NACKs, phantom
 * names and pushes that change one resource. Resources come from tiny generators over mutable
 * lists; the protocol rules themselves are tabled in src/xds/protocol/delta.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, ServerCredentials, credentials, makeGenericClientConstructor, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { aggregatedDiscoveryService, ServiceNames } from '../../src/proto/services.ts';
import { AdsServer } from '../../src/xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../../src/xds/server/grpc.ts';
import { xdsMetrics } from '../../src/xds/server/metrics.ts';
import type { PreparedGenerator } from '../../src/xds/server/types.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { clientConfigCodec, clusterCodec, clusterLoadAssignmentCodec, encodeAnyRaw, unpackAny } from '../../src/proto/codec.ts';
import { structFromJson } from '../../src/proto/wkt.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, DEBUG_SYNCZ_TYPE_URL } from '../../src/model/type-urls.ts';
import type { MeshView } from '../../src/model/mesh-view.ts';
import { endpointPush, fullPush } from '../../src/push/request.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../src/proto/types.ts';

/** Cluster name -> port of its one endpoint (the content a push changes). */
let world = new Map<string, number>([['outbound|80||a.ns.svc.cluster.local', 80], ['outbound|80||b.ns.svc.cluster.local', 80]]);
/** Cluster name -> connect timeout: what CDS carries; like a real one it reads no endpoints, so only full pushes change it. */
const timeouts = new Map<string, number>();
let version = 1;
const view = (): MeshView => ({
  version: `v${version}`, mesh: { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' },
  services: () => [], service: () => undefined, endpoints: () => [], gateways: () => [], istioGateways: () => [], destinationRules: () => [],
});
/** What the proxy at 10.1.0.11 serves itself (its inbound clusters), as a registry would say after its EndpointSlice. */
let ownPorts: number[] = [];
const OWNER_IP = '10.1.0.11';
const pick = (names: readonly string[] | 'wildcard') => [...world.keys()].filter((n) => names === 'wildcard' || names.includes(n));
const inbound = (ip: string) => (ip === OWNER_IP ? ownPorts.map((p) => `inbound|${p}||`) : []);
const cds: PreparedGenerator = {
  typeUrl: CDS, cacheKey: (p) => `${p.type}|${inbound(p.ip).join(',')}`,
  generate: (p, _v, names) => [...pick(names), ...inbound(p.ip).filter((n) => names === 'wildcard' || names.includes(n))].map((name) => ({ name, any: encodeAnyRaw(CDS, clusterCodec.encode({ name, type: 'EDS', connectTimeout: { seconds: String(timeouts.get(name) ?? 0) } })) })),
};
const eds: PreparedGenerator = {
  typeUrl: EDS, cacheKey: () => '',
  generate: (_p, _v, names) => pick(names).map((name) => ({
    name,
    any: encodeAnyRaw(EDS, clusterLoadAssignmentCodec.encode({ clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: world.get(name) ?? 0 } } } }] }] })),
  })),
};

const registry = new Registry();
let ads: AdsServer;
let bound: BoundServer;
let address = '';
const closers: (() => void)[] = [];

const DeltaCtor = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);

class DeltaClient {
  readonly #stream: ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  readonly #queue: DeltaDiscoveryResponse[] = [];
  #error: ServiceError | undefined;
  #first = true;
  readonly #node: string;

  constructor(node: string) {
    this.#node = node;
    const client = new DeltaCtor(address, credentials.createInsecure());
    const method = (client as unknown as Record<string, (md: Metadata) => ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>>)['DeltaAggregatedResources'];
    assert.ok(method);
    this.#stream = method.call(client, new Metadata());
    this.#stream.on('data', (r: DeltaDiscoveryResponse) => { this.#queue.push(r); });
    this.#stream.on('error', (e: ServiceError) => { this.#error = e; });
    closers.push(() => { this.#stream.cancel(); client.close(); });
  }

  send(req: DeltaDiscoveryRequest): void {
    const node = this.#first ? { node: { id: this.#node, metadata: structFromJson({ NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', PROXY_CONFIG: {} }) } } : {};
    this.#first = false;
    this.#stream.write({ ...node, ...req });
  }

  async next(timeoutMs = 5000): Promise<DeltaDiscoveryResponse> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0 && !this.#error && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const r = this.#queue.shift();
    if (r) return r;
    throw this.#error ?? new Error(`no DeltaDiscoveryResponse within ${timeoutMs} ms`);
  }

  /** Nothing arrives within `ms` (used after requests that must not be answered). */
  async quiet(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.deepEqual(this.#queue.map(summary), [], 'no response expected');
  }

  async failure(timeoutMs = 5000): Promise<ServiceError> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#error && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    if (!this.#error) throw new Error('the stream did not fail');
    return this.#error;
  }

  ack(r: DeltaDiscoveryResponse, extra: DeltaDiscoveryRequest = {}): void {
    this.send({ typeUrl: r.typeUrl ?? '', responseNonce: r.nonce ?? '', ...extra });
  }
}

function summary(r: DeltaDiscoveryResponse): { sent: string[]; removed: string[] } {
  return { sent: (r.resources ?? []).map((x) => x.name ?? '').sort(), removed: [...(r.removedResources ?? [])].sort() };
}

async function syncz(node: string): Promise<{ status: string | number | undefined; error: string | undefined }> {
  const probe = new AdsTestClient({ address, nodeId: 'sidecar~10.1.0.7~istioctl.istio-system~istio-system.svc.cluster.local', metadata: { GENERATOR: 'event', NAMESPACE: 'istio-system' } });
  closers.push(() => { probe.close(); });
  const r = await probe.request(DEBUG_SYNCZ_TYPE_URL);
  const mine = (r.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array())).find((cc) => cc.node?.id === node);
  const g = mine?.genericXdsConfigs?.find((x) => x.typeUrl === CDS);
  return { status: g?.configStatus, error: g?.errorState?.details };
}

async function counter(name: string): Promise<number> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((n, v) => n + v.value, 0);
}

before(async () => {
  ads = new AdsServer({
    generators: (_p, t) => (t === CDS ? cds : t === EDS ? eds : undefined),
    view, controlPlaneId: 'istiod-test-0', controlPlaneVersion: '0.1.0', systemNamespace: 'istio-system',
    limits: { maxResourceNames: 100 },
    debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 10, log: silentLogger, metrics: xdsMetrics(registry),
    debugAuth: false, identityCheck: true,
  });
  bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  address = `127.0.0.1:${bound.port}`;
});

after(async () => {
  for (const c of closers) c();
  await bound.close();
});

test('wildcard CDS: every cluster with a version, then a push carries only the changed one and removals', async () => {
  const c = new DeltaClient('sidecar~10.1.0.5~one.sample~sample.svc.cluster.local');
  c.send({ typeUrl: CDS });
  const r1 = await c.next();
  assert.deepEqual(summary(r1), { sent: [...world.keys()].sort(), removed: [] });
  assert.ok((r1.resources ?? []).every((x) => (x.version ?? '').length > 0), 'every resource has a version');
  assert.equal(r1.systemVersionInfo, `v${version}`);
  const any0 = r1.resources?.[0]?.resource;
  assert.ok(any0);
  assert.equal(unpackAny(clusterCodec, any0).type, 'EDS');
  c.ack(r1);
  await c.quiet();

  // A full push where nothing changed for this proxy sends nothing.
  version++;
  ads.push(fullPush('test', Date.now()));
  await c.quiet();

  world = new Map([['outbound|80||a.ns.svc.cluster.local', 80], ['outbound|80||c.ns.svc.cluster.local', 80]]);
  version++;
  ads.push(fullPush('service', Date.now()));
  const r2 = await c.next();
  assert.deepEqual(summary(r2), { sent: ['outbound|80||c.ns.svc.cluster.local'], removed: ['outbound|80||b.ns.svc.cluster.local'] });
  c.ack(r2);
  assert.equal((await syncz('one.sample')).status, 'SYNCED');
});

test('a NACK is not answered, counts as a reject, and shows as ERROR in syncz until the next ACK', async () => {
  const c = new DeltaClient('sidecar~10.1.0.6~nacker.sample~sample.svc.cluster.local');
  c.send({ typeUrl: CDS });
  const r1 = await c.next();
  const before = await counter('pilot_total_xds_rejects');
  c.ack(r1, { errorDetail: { code: 3, message: 'cluster a: rejected on purpose' } });
  await c.quiet();
  assert.equal(await counter('pilot_total_xds_rejects'), before + 1);
  assert.deepEqual(await syncz('nacker.sample'), { status: 'ERROR', error: 'cluster a: rejected on purpose' });
  world.set('outbound|80||a.ns.svc.cluster.local', 81);
  timeouts.set('outbound|80||a.ns.svc.cluster.local', 81);
  version++;
  ads.push(fullPush('test', Date.now()));
  const r2 = await c.next();
  c.ack(r2);
  await c.quiet(100);
  assert.deepEqual(await syncz('nacker.sample'), { status: 'SYNCED', error: undefined });
});

test('EDS by name: phantom names are removed at once, unsubscribes are not answered, endpoint pushes carry one resource', async () => {
  const [a, c1] = ['outbound|80||a.ns.svc.cluster.local', 'outbound|80||c.ns.svc.cluster.local'];
  const c = new DeltaClient('sidecar~10.1.0.8~eds.sample~sample.svc.cluster.local');
  c.send({ typeUrl: EDS, resourceNamesSubscribe: [a, c1, 'outbound|80||ghost.ns.svc.cluster.local'] });
  const r1 = await c.next();
  assert.deepEqual(summary(r1), { sent: [a, c1], removed: ['outbound|80||ghost.ns.svc.cluster.local'] });
  c.ack(r1);
  c.send({ typeUrl: EDS, resourceNamesUnsubscribe: [c1] });
  await c.quiet();
  world.set(a, 82);
  world.set(c1, 82);
  version++;
  ads.push(endpointPush(['a.ns.svc.cluster.local', 'c.ns.svc.cluster.local'], Date.now()));
  const r2 = await c.next();
  assert.deepEqual(summary(r2), { sent: [a], removed: [] }, 'the unsubscribed cluster is not sent');
  c.ack(r2);
});

test('a reconnect with initial_resource_versions gets only what the client lacks', async () => {
  const first = new DeltaClient('sidecar~10.1.0.9~re.sample~sample.svc.cluster.local');
  first.send({ typeUrl: CDS });
  const r1 = await first.next();
  const held = Object.fromEntries((r1.resources ?? []).map((x) => [x.name ?? '', x.version ?? '']));
  const [keep] = Object.keys(held);
  assert.ok(keep);
  held[keep] = 'an-old-version';
  held['outbound|80||gone.ns.svc.cluster.local'] = 'v0';
  const again = new DeltaClient('sidecar~10.1.0.9~re.sample~sample.svc.cluster.local');
  again.send({ typeUrl: CDS, initialResourceVersions: held });
  assert.deepEqual(summary(await again.next()), { sent: [keep], removed: ['outbound|80||gone.ns.svc.cluster.local'] });
});

test('debug types are served on the state-of-the-world stream only', async () => {
  const c = new DeltaClient('sidecar~10.1.0.10~dbg.sample~sample.svc.cluster.local');
  c.send({ typeUrl: DEBUG_SYNCZ_TYPE_URL });
  const e = await c.failure();
  assert.equal(e.code, status.INVALID_ARGUMENT);
  assert.match(e.details, /StreamAggregatedResources only/);
});

test('an endpoint-only push re-sends CDS to the proxy whose own endpoints changed, over delta and state of the world', async () => {
  const node = `sidecar~${OWNER_IP}~owner.sample~sample.svc.cluster.local`;
  const delta = new DeltaClient(node);
  delta.send({ typeUrl: CDS });
  delta.ack(await delta.next());
  const sotw = new AdsTestClient({ address, nodeId: node, metadata: { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', PROXY_CONFIG: {} } });
  closers.push(() => { sotw.close(); });
  sotw.ack(await sotw.request(CDS));
  const bystander = new DeltaClient('sidecar~10.1.0.12~other.sample~sample.svc.cluster.local');
  bystander.send({ typeUrl: CDS });
  bystander.ack(await bystander.next());

  ownPorts = [8080];
  version++;
  ads.push(endpointPush(['owner.sample.svc.cluster.local'], Date.now()));
  assert.deepEqual(summary(await delta.next()), { sent: ['inbound|8080||'], removed: [] });
  const full = await sotw.next();
  assert.equal(full.typeUrl, CDS);
  assert.ok((full.resources ?? []).some((a) => unpackAny(clusterCodec, a).name === 'inbound|8080||'));
  await bystander.quiet();

  ownPorts = [];
  version++;
  ads.push(endpointPush(['owner.sample.svc.cluster.local'], Date.now()));
  assert.deepEqual(summary(await delta.next()), { sent: [], removed: ['inbound|8080||'] });
});
