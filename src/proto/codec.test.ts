import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, SECRET_TYPE_URL,
} from '../model/type-urls.ts';
import type { Codec } from './codec.ts';
import {
  anyCodec, clientConfigCodec, clientStatusRequestCodec, clientStatusResponseCodec, clusterCodec,
  clusterLoadAssignmentCodec, configDumpCodec, deltaDiscoveryRequestCodec, deltaDiscoveryResponseCodec,
  discoveryRequestCodec, discoveryResponseCodec, httpConnectionManagerCodec, istioCertificateRequestCodec,
  istioCertificateResponseCodec, listenerCodec, nodeCodec, packAny, routeConfigurationCodec, routerCodec,
  secretCodec, structCodec, tcpProxyCodec, timestampCodec, typeUrlOf, unpackAny, upstreamTlsContextCodec,
  downstreamTlsContextCodec, durationCodec,
} from './codec.ts';
import * as data from '../testing/proto/testdata.ts';
import type * as T from './types.ts';

/** Deep copy with every Uint8Array (decoded bytes are Buffers) turned into a plain Uint8Array. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return new Uint8Array(x);
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  }
  return x;
}

function assertRoundTrip<M>(c: Codec<M>, msg: M): M {
  const bytes = c.encode(msg);
  assert.ok(bytes.length > 0, `${c.typeName} encodes to some bytes`);
  const back = c.decode(bytes);
  assert.deepStrictEqual(plain(back), plain(msg), `${c.typeName} round-trips`);
  // Re-encoding the decoded value gives the same bytes.
  assert.deepStrictEqual(plain(c.encode(back)), plain(bytes));
  return back;
}

test('Listener with an HttpConnectionManager (RDS over ADS) packed in Any round-trips', () => {
  const back = assertRoundTrip(listenerCodec, data.listener);
  const filter = back.filterChains?.[0]?.filters?.[0];
  assert.ok(filter?.typedConfig);
  const hcm = unpackAny(httpConnectionManagerCodec, filter.typedConfig);
  assert.deepStrictEqual(plain(hcm), plain(data.hcm));
  assert.equal(hcm.rds?.routeConfigName, '9080');
  assert.deepStrictEqual(hcm.rds.configSource?.ads, {});
  // The router config is empty: its Any carries a type URL and no value.
  const router = hcm.httpFilters?.[0]?.typedConfig;
  assert.deepStrictEqual(router, { typeUrl: typeUrlOf(routerCodec) });
  assert.deepStrictEqual(unpackAny(routerCodec, router), {});
});

test('RouteConfiguration with header matches, retries and weighted clusters round-trips', () => {
  const back = assertRoundTrip(routeConfigurationCodec, data.routeConfiguration);
  assert.equal(back.virtualHosts?.[0]?.routes?.[0]?.route?.retryPolicy?.hostSelectionRetryMaxAttempts, '5');
});

test('Cluster with EDS config and an UpstreamTlsContext transport socket round-trips', () => {
  const back = assertRoundTrip(clusterCodec, data.cluster);
  assert.equal(back.type, 'EDS');
  assert.equal(back.connectTimeout?.seconds, '10');
  assert.deepStrictEqual(back.outlierDetection?.consecutive_5xx, { value: 5 });
  const ts = back.transportSocket?.typedConfig;
  assert.ok(ts);
  assert.deepStrictEqual(unpackAny(upstreamTlsContextCodec, ts), data.upstreamTls);
});

test('ClusterLoadAssignment with two localities, metadata and weights round-trips', () => {
  const back = assertRoundTrip(clusterLoadAssignmentCodec, data.clusterLoadAssignment);
  assert.equal(back.endpoints?.length, 2);
  assert.deepStrictEqual(back.endpoints[1]?.loadBalancingWeight, { value: 4 });
  assert.equal(back.endpoints[1].lbEndpoints?.[1]?.healthStatus, 'DRAINING');
});

test('Secrets with inline certificate and CA bytes round-trip; decoded bytes are Buffers', () => {
  const back = assertRoundTrip(secretCodec, data.secret);
  const chain = back.tlsCertificate?.certificateChain?.inlineBytes;
  assert.ok(Buffer.isBuffer(chain));
  assert.match(chain.toString('utf8'), /BEGIN CERTIFICATE/);
  assertRoundTrip(secretCodec, data.rootSecret);
});

test('Node with a metadata Struct (nested, null, 0, empty string) round-trips', () => {
  const back = assertRoundTrip(nodeCodec, data.node);
  assert.deepStrictEqual(back.metadata?.fields?.ZERO, { numberValue: 0 });
  assert.deepStrictEqual(back.metadata.fields.EMPTY, { stringValue: '' });
  assert.deepStrictEqual(back.metadata.fields.NOTHING, { nullValue: 'NULL_VALUE' });
});

test('DiscoveryRequest (NACK with node metadata and error_detail) and DiscoveryResponse round-trip', () => {
  assertRoundTrip(discoveryRequestCodec, data.discoveryRequest);
  const resp = assertRoundTrip(discoveryResponseCodec, data.discoveryResponse);
  const first = resp.resources?.[0];
  assert.ok(first);
  assert.deepStrictEqual(unpackAny(clusterCodec, first), data.cluster);
});

test('Delta discovery request and response round-trip', () => {
  assertRoundTrip(deltaDiscoveryRequestCodec, data.deltaDiscoveryRequest);
  assertRoundTrip(deltaDiscoveryResponseCodec, data.deltaDiscoveryResponse);
});

test('ClientConfig with generic_xds_configs (status, timestamps, error state) round-trips', () => {
  const back = assertRoundTrip(clientConfigCodec, data.clientConfig);
  assert.deepStrictEqual(back.genericXdsConfigs?.[0]?.lastUpdated, { seconds: '1763985600', nanos: 123000000 });
  assert.equal(back.genericXdsConfigs[1]?.clientStatus, 'NACKED');
  const req: T.ClientStatusRequest = { node: { id: 'istioctl' }, nodeMatchers: [{ nodeId: { prefix: 'sidecar~' } }], excludeResourceContents: true };
  assertRoundTrip(clientStatusRequestCodec, req);
  assertRoundTrip(clientStatusResponseCodec, { config: [data.clientConfig] });
});

test('Istio CA request (Struct metadata, int64 validity) and a 3-certificate response round-trip', () => {
  const back = assertRoundTrip(istioCertificateRequestCodec, data.certificateRequest);
  assert.equal(back.validityDuration, '86400');
  assert.equal(assertRoundTrip(istioCertificateResponseCodec, data.certificateResponse).certChain?.length, 3);
});

test('filter configs, admin dump and well-known types round-trip', () => {
  assertRoundTrip(httpConnectionManagerCodec, data.hcm);
  assertRoundTrip(upstreamTlsContextCodec, data.upstreamTls);
  const downstream: T.DownstreamTlsContext = { commonTlsContext: { alpnProtocols: ['h2', 'http/1.1'] }, requireClientCertificate: { value: true } };
  assertRoundTrip(downstreamTlsContextCodec, downstream);
  const tcp: T.TcpProxy = {
    statPrefix: 'outbound|3306||mysql.db.svc.cluster.local',
    weightedClusters: { clusters: [{ name: 'a', weight: 70 }, { name: 'b', weight: 30 }] },
    idleTimeout: { seconds: '3600' },
    maxConnectAttempts: { value: 3 },
  };
  assertRoundTrip(tcpProxyCodec, tcp);
  assertRoundTrip(configDumpCodec, { configs: [packAny(clusterCodec, data.cluster), packAny(listenerCodec, data.listener)] });
  assertRoundTrip(anyCodec, { typeUrl: 'type.googleapis.com/google.protobuf.Empty-ish', value: new Uint8Array([8, 1]) });
  assertRoundTrip(structCodec, data.certificateRequest.metadata ?? {});
  assertRoundTrip(durationCodec, { seconds: '-1', nanos: -500000000 });
  assertRoundTrip(timestampCodec, { seconds: '253402300799', nanos: 999999999 });
});

test('int64 values decode as decimal strings, including ones above 2^53, whatever form was encoded', () => {
  const big = '9223372036854775807';
  assert.equal(istioCertificateRequestCodec.decode(istioCertificateRequestCodec.encode({ validityDuration: big })).validityDuration, big);
  const fromNumber = istioCertificateRequestCodec.encode({ validityDuration: 3600 });
  assert.equal(istioCertificateRequestCodec.decode(fromNumber).validityDuration, '3600');
});

test('defaults: peers omit them (read `x ?? default`), protobufjs writes explicit ones, empty lists vanish', () => {
  // What Envoy or Go send for Cluster{name: "x", per_connection_buffer_limit_bytes: {value: 0}}: 0a 01 78 2a 00
  assert.deepStrictEqual(clusterCodec.decode(Buffer.from('0a01782a00', 'hex')), { name: 'x', perConnectionBufferLimitBytes: {} });
  // protobufjs encodes a field that is set, even at its default, so it comes back.
  const explicit = clusterCodec.encode({ name: 'x', respectDnsTtl: false, perConnectionBufferLimitBytes: { value: 0 } });
  assert.deepStrictEqual(clusterCodec.decode(explicit), { name: 'x', respectDnsTtl: false, perConnectionBufferLimitBytes: { value: 0 } });
  // Empty repeated fields and maps are not written and do not come back.
  assert.deepStrictEqual(clusterCodec.decode(clusterCodec.encode({ name: 'x', filters: [], typedExtensionProtocolOptions: {} })), { name: 'x' });
});

test('type URL constants match the codecs', () => {
  assert.equal(typeUrlOf(listenerCodec), LISTENER_TYPE_URL);
  assert.equal(typeUrlOf(routeConfigurationCodec), ROUTE_CONFIGURATION_TYPE_URL);
  assert.equal(typeUrlOf(clusterCodec), CLUSTER_TYPE_URL);
  assert.equal(typeUrlOf(clusterLoadAssignmentCodec), CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
  assert.equal(typeUrlOf(secretCodec), SECRET_TYPE_URL);
});
