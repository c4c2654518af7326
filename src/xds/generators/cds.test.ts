/** Envoy CDS: sidecar and east-west gateway clusters. Expectations from docs/istio-compat.md §3.4, §9.4. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCodec, unpackAny, upstreamTlsContextCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { generate } from './cds.ts';
import { httpProtocolOptionsCodec } from './extra-codecs.ts';
import { meshView } from '../../testing/mesh/fixtures.ts';
import { proxy, roundTrip } from '../../testing/mesh/builders.ts';

const HW = 'helloworld.sample.svc.cluster.local';

function byName(list: readonly { name: string; resource: T.Cluster }[]): Map<string, T.Cluster> {
  return new Map(list.map((r) => [r.name, r.resource]));
}

function mtlsOf(c: T.Cluster | undefined): T.UpstreamTlsContext {
  const m = c?.transportSocketMatches?.find((x) => x.name === 'tlsMode-istio');
  const any = m?.transportSocket?.typedConfig;
  assert.ok(any, 'tlsMode-istio transport socket');
  return unpackAny(upstreamTlsContextCodec, any);
}

test('cds sidecar: outbound cluster names per port and subset, well-known clusters, UDP too, hidden services absent', () => {
  const names = generate(proxy({ namespace: 'sample', ip: '10.9.9.9' }), meshView(), 'wildcard').map((r) => r.name).sort();
  assert.deepEqual(names, [
    'BlackHoleCluster',
    'InboundPassthroughCluster',
    'PassthroughCluster',
    'outbound|3306||mysql.db.svc.cluster.local',
    'outbound|5000||helloworld.sample.svc.cluster.local',
    'outbound|5000|v1|helloworld.sample.svc.cluster.local',
    'outbound|5000|v2|helloworld.sample.svc.cluster.local',
    'outbound|53||kube-dns.kube-system.svc.cluster.local',
    'outbound|6000||ledger.sample.svc.cluster.local',
    'outbound|7070||echo.sample.svc.cluster.local',
  ].sort());
});

test('cds sidecar: exportTo "." service visible in its own namespace only', () => {
  const names = (ns: string): string[] => generate(proxy({ namespace: ns }), meshView(), 'wildcard').map((r) => r.name);
  assert.ok(names('other').includes('outbound|8080||private.other.svc.cluster.local'));
  assert.ok(!names('sample').includes('outbound|8080||private.other.svc.cluster.local'));
});

const mtlsCases: { cluster: string; sni: string; alpn: string[] }[] = [
  { cluster: `outbound|5000||${HW}`, sni: `outbound_.5000_._.${HW}`, alpn: ['istio-peer-exchange', 'istio'] },
  { cluster: `outbound|5000|v1|${HW}`, sni: `outbound_.5000_.v1_.${HW}`, alpn: ['istio-peer-exchange', 'istio'] },
  { cluster: 'outbound|7070||echo.sample.svc.cluster.local', sni: 'outbound_.7070_._.echo.sample.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio', 'h2'] },
];

for (const c of mtlsCases) {
  test(`cds sidecar: ${c.cluster} is EDS over ADS with Istio mTLS for tlsMode istio`, () => {
    const clusters = byName(generate(proxy(), meshView(), [c.cluster]));
    const decoded = byName(roundTrip(clusterCodec, [...clusters.values()].map((resource) => ({ resource }))).map((r) => ({ name: r.name ?? '', resource: r })));
    const cl = decoded.get(c.cluster);
    assert.equal(cl?.type, 'EDS');
    assert.equal(cl.edsClusterConfig?.serviceName, c.cluster);
    assert.deepEqual(cl.edsClusterConfig.edsConfig?.ads, {});
    assert.deepEqual(cl.transportSocketMatches?.map((m) => m.name), ['tlsMode-istio', 'tlsMode-disabled']);
    assert.deepEqual(cl.transportSocketMatches[0]?.match, { fields: { tlsMode: { stringValue: 'istio' } } });
    assert.equal(cl.transportSocketMatches[1]?.transportSocket?.name, 'envoy.transport_sockets.raw_buffer');
    const tls = mtlsOf(cl);
    assert.equal(tls.sni, c.sni);
    assert.deepEqual(tls.commonTlsContext?.alpnProtocols, c.alpn);
    assert.deepEqual(tls.commonTlsContext.tlsCertificateSdsSecretConfigs?.map((s) => s.name), ['default']);
    assert.equal(tls.commonTlsContext.combinedValidationContext?.validationContextSdsSecretConfig?.name, 'ROOTCA');
  });
}

test('cds sidecar: SANs are the SPIFFE ids of the serving pods', () => {
  const tls = mtlsOf(generate(proxy(), meshView(), [`outbound|5000||${HW}`])[0]?.resource);
  const sans = tls.commonTlsContext?.combinedValidationContext?.defaultValidationContext?.matchTypedSubjectAltNames;
  assert.deepEqual(sans, [{ sanType: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/sample/sa/helloworld' } }]);
});

test('cds sidecar: HTTP/2 upstream only for HTTP2/GRPC ports', () => {
  const cs = byName(generate(proxy(), meshView(), ['outbound|7070||echo.sample.svc.cluster.local', `outbound|5000||${HW}`]));
  const h2 = cs.get('outbound|7070||echo.sample.svc.cluster.local')?.typedExtensionProtocolOptions?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.ok(h2);
  assert.deepEqual(unpackAny(httpProtocolOptionsCodec, h2), { explicitHttpConfig: { http2ProtocolOptions: {} } });
  assert.equal(cs.get(`outbound|5000||${HW}`)?.typedExtensionProtocolOptions, undefined);
});

test('cds sidecar: inbound clusters for the proxy\'s own service ports, to the original destination from 127.0.0.6', () => {
  const got = byName(generate(proxy({ ip: '10.1.0.7', cluster: 'cluster1', namespace: 'sample' }), meshView(), 'wildcard'));
  const inbound = [...got.keys()].filter((n) => n.startsWith('inbound|'));
  assert.deepEqual(inbound, ['inbound|17070||']);
  const c = got.get('inbound|17070||');
  assert.equal(c?.type, 'ORIGINAL_DST');
  assert.equal(c.lbPolicy, 'CLUSTER_PROVIDED');
  assert.equal(c.loadAssignment, undefined);
  assert.deepEqual(c.upstreamBindConfig, { sourceAddress: { address: '127.0.0.6', portValue: 0 } }, 'istio-iptables lets only 127.0.0.6 reach the pod address without looping');
  assert.deepEqual(got.get('InboundPassthroughCluster')?.upstreamBindConfig, { sourceAddress: { address: '127.0.0.6', portValue: 0 } });
  assert.equal(got.get('PassthroughCluster')?.upstreamBindConfig, undefined, 'outbound passthrough keeps the pod\'s own source');
  // Same IP in another cluster is another pod.
  const other = generate(proxy({ ip: '10.1.0.7', cluster: 'cluster2' }), meshView(), 'wildcard').map((r) => r.name);
  assert.ok(!other.some((n) => n.startsWith('inbound|')));
});

test('cds router: e/w gateway gets SNI-DNAT clusters (no TLS of their own) for *.local services, non-UDP ports and subsets', () => {
  const gwProxy = proxy({ type: 'router', namespace: 'istio-system', network: 'network2', networkView: 'network2', labels: { istio: 'eastwestgateway' } });
  const got = byName(generate(gwProxy, meshView(), 'wildcard'));
  const sni = [...got.keys()].filter((n) => n.startsWith('outbound_.')).sort();
  assert.deepEqual(sni, [
    'outbound_.3306_._.mysql.db.svc.cluster.local',
    `outbound_.5000_._.${HW}`,
    `outbound_.5000_.v1_.${HW}`,
    `outbound_.5000_.v2_.${HW}`,
    'outbound_.6000_._.ledger.sample.svc.cluster.local',
    'outbound_.7070_._.echo.sample.svc.cluster.local',
  ]);
  const c = got.get(`outbound_.5000_.v1_.${HW}`);
  assert.equal(c?.type, 'EDS');
  assert.equal(c.edsClusterConfig?.serviceName, `outbound_.5000_.v1_.${HW}`);
  assert.equal(c.transportSocket, undefined);
  assert.equal(c.transportSocketMatches, undefined);
  roundTrip(clusterCodec, [...got.values()].map((resource) => ({ resource })));
});

test('cds router: a namespace-private service (exportTo ".") is not exposed by a gateway in another namespace', () => {
  const gateway = (namespace: string) => proxy({ type: 'router', namespace, network: 'network2', networkView: 'network2', labels: { istio: 'eastwestgateway' } });
  const inSystem = generate(gateway('istio-system'), meshView(), 'wildcard').map((r) => r.name);
  assert.ok(!inSystem.some((n) => n.includes('private.other')), `no cluster of private.other: ${inSystem.filter((n) => n.includes('private')).join(', ')}`);
  const inOther = generate(gateway('other'), meshView(), 'wildcard').map((r) => r.name);
  assert.ok(inOther.includes('outbound_.8080_._.private.other.svc.cluster.local'), 'a gateway in the service\'s own namespace may expose it');
  assert.ok(inOther.includes('outbound|8080||private.other.svc.cluster.local'));
});

test('cds router: a router no Gateway selects gets no SNI-DNAT clusters', () => {
  const names = generate(proxy({ type: 'router', labels: { istio: 'ingressgateway' } }), meshView(), 'wildcard').map((r) => r.name);
  assert.ok(!names.some((n) => n.startsWith('outbound_.')));
  assert.ok(names.includes('BlackHoleCluster'));
});

test('cds: outbound and SNI-DNAT clusters balance over all endpoints with panic mode off, as istiod', () => {
  const sidecar = byName(generate(proxy(), meshView(), [`outbound|5000||${HW}`]));
  const gw = byName(generate(proxy({ type: 'router', namespace: 'istio-system', labels: { istio: 'eastwestgateway' }, network: 'network2', networkView: 'network2' }), meshView(), 'wildcard'));
  const decoded = roundTrip(clusterCodec, [...sidecar.values(), ...gw.values()].filter((c) => c.type === 'EDS').map((resource) => ({ resource })));
  assert.ok(decoded.length >= 2, `EDS clusters to check: ${decoded.length}`);
  for (const c of decoded) {
    assert.deepEqual(c.commonLbConfig, { healthyPanicThreshold: {} }, `${c.name ?? ''}: panic threshold 0, no locality-weighted LB`);
  }
});
