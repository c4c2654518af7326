/**
 * The ADS protocol edge cases, one by one, over a real grpc-js server and client. Resources come
 * from a tiny generator over a mutable list (this test is about the protocol, not the mesh).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerCredentials, credentials, makeGenericClientConstructor, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { aggregatedDiscoveryService, ServiceNames } from '../../src/proto/services.ts';
import { Registry } from 'prom-client';
import { AdsServer } from '../../src/xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../../src/xds/server/grpc.ts';
import { xdsMetrics } from '../../src/xds/server/metrics.ts';
import type { PreparedGenerator } from '../../src/xds/server/types.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { clientConfigCodec, clusterCodec, clusterLoadAssignmentCodec, encodeAnyRaw, unpackAny } from '../../src/proto/codec.ts';
import { structToJson } from '../../src/proto/wkt.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, DEBUG_SYNCZ_TYPE_URL } from '../../src/model/type-urls.ts';
import type { MeshView } from '../../src/model/mesh-view.ts';
import { endpointPush, fullPush } from '../../src/push/request.ts';
import type { DiscoveryResponse } from '../../src/proto/types.ts';

let clusters = ['outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local'];
let version = 1;
let generateCalls = 0;
const view = (): MeshView => ({
  version: `v${version}`, mesh: { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' },
  services: () => [], service: () => undefined, endpoints: () => [], gateways: () => [], istioGateways: () => [], destinationRules: () => [],
});
const cds: PreparedGenerator = {
  typeUrl: CDS,
  cacheKey: (p) => p.type,
  generate: (_p, _v, names) => {
    generateCalls++;
    return clusters.filter((c) => names === 'wildcard' || names.includes(c)).map((name) => ({ name, any: encodeAnyRaw(CDS, clusterCodec.encode({ name, type: 'EDS' })) }));
  },
};
const eds: PreparedGenerator = {
  typeUrl: EDS,
  cacheKey: () => '',
  generate: (_p, _v, names) => (names === 'wildcard' ? clusters : names).filter((n) => clusters.includes(n))
    .map((name) => ({ name, any: encodeAnyRaw(EDS, clusterLoadAssignmentCodec.encode({ clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 + version } } } }] }] })) })),
};

let ads: AdsServer;
let serverReady = true;
let bound: BoundServer;
let address = '';
const clients: AdsTestClient[] = [];

function client(node = 'sidecar~10.1.0.5~app-1.sample~sample.svc.cluster.local', meta: Record<string, string | Record<string, string>> = {}): AdsTestClient {
  const c = new AdsTestClient({ address, nodeId: node, metadata: { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {}, ...meta } });
  clients.push(c);
  return c;
}

const names = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => (a.typeUrl === CDS ? unpackAny(clusterCodec, a).name : unpackAny(clusterLoadAssignmentCodec, a).clusterName));

before(async () => {
  ads = new AdsServer({
    generators: (_p, t) => (t === CDS ? cds : t === EDS ? eds : undefined),
    view, controlPlaneId: 'istiod-test-0', controlPlaneVersion: '0.1.0', systemNamespace: 'istio-system',
    limits: { maxRequestBytes: 64 * 1024, maxResourceNames: 100 },
    debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 10, log: silentLogger, metrics: xdsMetrics(new Registry()),
    debugAuth: false, identityCheck: true, ready: () => serverReady,
  });
  bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  address = `127.0.0.1:${bound.port}`;
});

after(async () => {
  for (const c of clients) c.close();
  await bound.close();
});

test('wildcard CDS, then ACK (no response), then a named EDS request answered in order', async () => {
  const c = client();
  const r1 = await c.request(CDS);
  assert.equal(r1.typeUrl, CDS);
  assert.equal(r1.versionInfo, `v${version}`);
  assert.ok(r1.nonce);
  assert.deepEqual(names(r1), clusters);
  c.ack(r1);
  // Had the ACK been answered, that CDS response would arrive before this EDS one.
  const r2 = await c.request(EDS, [clusters[0] ?? '']);
  assert.equal(r2.typeUrl, EDS);
  assert.deepEqual(names(r2), [clusters[0]]);
});

test('changing the names in an ACK is a new subscription and is answered with the added names (as istiod: EDS is not state-of-the-world complete)', async () => {
  const c = client();
  const r1 = await c.request(EDS, [clusters[0] ?? '']);
  c.ack(r1, clusters);
  const r2 = await c.next();
  assert.deepEqual(names(r2), clusters.slice(1), 'only what the subscription added; the client keeps the rest');
});

test('a NACK is not answered, shows as ERROR in syncz, and the next ACK clears it', async () => {
  const c = client('sidecar~10.1.0.6~nacker-1.sample~sample.svc.cluster.local');
  const r1 = await c.request(CDS);
  c.nack(r1, 'cluster outbound|80||a: rejected on purpose');
  const probe = client('sidecar~10.1.0.7~istioctl.istio-system~istio-system.svc.cluster.local', { GENERATOR: 'event', NAMESPACE: 'istio-system' });
  const sync = await probe.request(DEBUG_SYNCZ_TYPE_URL);
  const mine = (sync.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array())).find((cc) => cc.node?.id === 'nacker-1.sample');
  assert.ok(mine, 'the NACKing proxy is listed');
  assert.equal(structToJson(mine.node?.metadata)['CLUSTER_ID'], 'cluster1');
  const cdsStatus = mine.genericXdsConfigs?.find((g) => g.typeUrl === CDS);
  assert.equal(cdsStatus?.configStatus, 'ERROR');
  assert.equal(cdsStatus.errorState?.details, 'cluster outbound|80||a: rejected on purpose');
  assert.match(sync.controlPlane?.identifier ?? '', /"ID":"istiod-test-0"/);
  assert.ok(!(sync.resources ?? []).some((a) => clientConfigCodec.decode(a.value ?? new Uint8Array()).node?.id === 'istioctl.istio-system'), 'istioctl itself is not listed');

  // A full push brings a new version; ACKing it clears the error.
  version++;
  ads.push(fullPush('test', Date.now()));
  const r2 = await c.next();
  c.ack(r2);
  // Requests on one stream are handled in order: once this is answered, the ACK was applied.
  await c.request(EDS, []);
  const sync2 = await probe.request(DEBUG_SYNCZ_TYPE_URL);
  const again = (sync2.resources ?? []).map((a) => clientConfigCodec.decode(a.value ?? new Uint8Array())).find((cc) => cc.node?.id === 'nacker-1.sample');
  assert.equal(again?.genericXdsConfigs?.find((g) => g.typeUrl === CDS)?.configStatus, 'SYNCED');
});

test('a stale nonce is ignored; a resource that is gone is absent from the next push', async () => {
  const c = client();
  const r1 = await c.request(CDS);
  c.ack(r1);
  clusters = clusters.slice(0, 1);
  version++;
  ads.push(fullPush('service', Date.now()));
  const r2 = await c.next();
  assert.deepEqual(names(r2), clusters, 'the removed cluster is not in the state of the world');
  c.send({ typeUrl: CDS, responseNonce: r1.nonce ?? '', errorDetail: { message: 'late NACK of an old version' } });
  c.ack(r2);
  const e = await c.request(EDS, clusters);
  assert.equal(e.typeUrl, EDS, 'the stale NACK produced no response');
});

test('an endpoint-only push sends only the load assignments of the changed host', async () => {
  clusters = ['outbound|80||a.ns.svc.cluster.local', 'outbound|80||b.ns.svc.cluster.local'];
  version++;
  const c = client();
  const r1 = await c.request(CDS);
  c.ack(r1);
  const e1 = await c.request(EDS, clusters);
  c.ack(e1, clusters);
  version++;
  ads.push(endpointPush(['b.ns.svc.cluster.local'], Date.now()));
  const e2 = await c.next();
  assert.equal(e2.typeUrl, EDS);
  assert.deepEqual(names(e2), ['outbound|80||b.ns.svc.cluster.local']);
});

test('reconnecting with a nonce from a previous stream is answered like a first request', async () => {
  const c = client();
  c.send({ typeUrl: CDS, responseNonce: 'v1-17', versionInfo: 'v1' });
  const r = await c.next();
  assert.equal(r.typeUrl, CDS);
});

test('proxies of the same class share one generation (encode once, send the same bytes)', async () => {
  version++;
  const before = generateCalls;
  const a = client('sidecar~10.1.0.8~one.sample~sample.svc.cluster.local');
  const b = client('sidecar~10.1.0.9~two.sample~sample.svc.cluster.local');
  await a.request(CDS);
  await b.request(CDS);
  assert.equal(generateCalls - before, 1);
});

test('before the registries synced, streams are refused with UNAVAILABLE; once ready, the same client is served', async () => {
  serverReady = false;
  const early = client('sidecar~10.1.0.20~early.sample~sample.svc.cluster.local');
  early.send({ typeUrl: CDS });
  const e = await early.failure();
  assert.equal(e.code, status.UNAVAILABLE);
  assert.match(e.details, /not ready to serve discovery information/);
  serverReady = true;
  const later = client('sidecar~10.1.0.20~early.sample~sample.svc.cluster.local');
  const r = await later.request(CDS);
  assert.equal(r.typeUrl, CDS);
  assert.ok((r.resources ?? []).length > 0);
});

test('bad input ends only the offending stream, with a clear status', async () => {
  const cases: { name: string; run: (c: AdsTestClient) => void; code: status; details: RegExp }[] = [
    { name: 'unknown type URL', run: (c) => { c.send({ typeUrl: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfigX' }); }, code: status.INVALID_ARGUMENT, details: /unsupported type URL/ },
    { name: 'too many names', run: (c) => { c.send({ typeUrl: EDS, resourceNames: Array.from({ length: 101 }, (_, i) => `n${i}`) }); }, code: status.INVALID_ARGUMENT, details: /limit 100/ },
    { name: 'oversized request', run: (c) => { c.send({ typeUrl: EDS, resourceNames: ['x'.repeat(70 * 1024)] }); }, code: status.RESOURCE_EXHAUSTED, details: /./ },
  ];
  for (const k of cases) {
    const c = client();
    k.run(c);
    const e = await c.failure();
    assert.equal(e.code, k.code, `${k.name}: ${e.details}`);
    assert.match(e.details, k.details, k.name);
  }

  const badNode = new AdsTestClient({ address, nodeId: 'not-a-node-id' });
  clients.push(badNode);
  badNode.send({ typeUrl: CDS });
  const e = await badNode.failure();
  assert.equal(e.code, status.INVALID_ARGUMENT);
  assert.match(e.details, /node\.id "not-a-node-id"/);

  const Ctor = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);
  const raw = new Ctor(address, credentials.createInsecure());
  const delta = await new Promise<ServiceError>((resolve) => {
    const call = (raw as unknown as Record<string, () => ClientDuplexStream<unknown, unknown>>)['DeltaAggregatedResources']?.call(raw);
    assert.ok(call);
    call.on('error', resolve);
    call.on('data', () => undefined);
    call.write({ typeUrl: CDS });
  });
  raw.close();
  assert.equal(delta.code, status.INVALID_ARGUMENT, 'a delta stream without a node is refused like a SotW one');
  assert.match(delta.details, /first DeltaDiscoveryRequest on a stream must carry node\.id/);

  // The server still serves everyone else.
  const ok = client();
  assert.equal((await ok.request(CDS)).typeUrl, CDS);
});
