/**
 * Proxyless gRPC generators: shapes istiod serves to grpc-js-xds, checked field by field and then
 * fed to @grpc/grpc-js-xds 1.14.1's own validators (what a real client accepts or NACKs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clusterCodec, clusterLoadAssignmentCodec, downstreamTlsContextCodec, httpConnectionManagerCodec, listenerCodec,
  routeConfigurationCodec, unpackAny, upstreamTlsContextCodec,
} from '../../../proto/codec.ts';
import { generate as eds } from '../eds.ts';
import type { MeshView, MtlsMode, PeerAuthentication, TrafficPolicy } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { convertVirtualService } from '../../../config/virtual-service.ts';
import { meshView } from '../../../testing/mesh/fixtures.ts';
import { fakeMeshView, proxy } from '../../../testing/mesh/builders.ts';
import { grpcJsXdsDecode } from '../../../testing/grpc-app/acceptance.ts';
import { generate as cds } from './cds.ts';
import { cacheKey, generate as lds } from './lds.ts';
import { generate as rds } from './rds.ts';

const HW = 'helloworld.sample.svc.cluster.local';
const client = proxy({ generator: 'grpc', namespace: 'sample', network: 'network1', cluster: 'cluster1' });

test('grpc lds: <host>:<port> -> api_listener HCM with RDS of the same name and the router filter', () => {
  for (const name of [`${HW}:5000`, 'helloworld:5000', 'helloworld.sample:5000', 'helloworld.sample.svc:5000']) {
    const [r] = lds(client, meshView(), [name]);
    assert.equal(r?.name, name);
    const hcm = unpackAny(httpConnectionManagerCodec, r.resource.apiListener?.apiListener ?? { typeUrl: '' });
    assert.equal(hcm.rds?.routeConfigName, name);
    assert.deepEqual(hcm.rds.configSource?.ads, {});
    assert.deepEqual(hcm.httpFilters?.map((f) => f.typedConfig?.typeUrl), ['type.googleapis.com/envoy.extensions.filters.http.router.v3.Router']);
    assert.equal(grpcJsXdsDecode(listenerCodec, r.resource).error, undefined);
  }
  assert.deepEqual(lds(client, meshView(), ['nope.sample.svc.cluster.local:5000', `${HW}:5001`, 'private.other:8080']), []);
});

test('grpc rds: one virtual host for the host as written and the FQDN, routing to outbound|port||fqdn', () => {
  const [r] = rds(client, meshView(), ['helloworld:5000']);
  const vh = r?.resource.virtualHosts?.[0];
  assert.deepEqual(vh?.domains, ['helloworld', 'helloworld:5000', HW, `${HW}:5000`]);
  assert.equal(vh.routes?.[0]?.route?.cluster, `outbound|5000||${HW}`);
  const decoded = grpcJsXdsDecode(routeConfigurationCodec, r?.resource ?? {});
  assert.equal(decoded.error, undefined);
});

test('grpc rds: the default retry policy (2 retries) and attempt count, accepted by grpc-js-xds', () => {
  const [r] = rds(client, meshView(), [`${HW}:5000`]);
  const vh = r?.resource.virtualHosts?.[0];
  assert.equal(vh?.includeRequestAttemptCount, true);
  const rp = vh.routes?.[0]?.route?.retryPolicy;
  assert.equal(rp?.retryOn, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  assert.deepEqual(rp.numRetries, { value: 2 });
  assert.equal(grpcJsXdsDecode(routeConfigurationCodec, r?.resource ?? {}).error, undefined);
});

/** The fixture mesh with helloworld's DestinationRule carrying `trafficPolicy`. */
function withPolicy(trafficPolicy: TrafficPolicy): MeshView {
  const base = meshView();
  return { ...base, destinationRules: () => base.destinationRules().map((d) => (d.host === HW ? { ...d, trafficPolicy } : d)) };
}

test('grpc cds: without a DestinationRule saying ISTIO_MUTUAL the client dials plaintext, ROUND_ROBIN (as istiod)', () => {
  const [r] = cds(client, meshView(), [`outbound|5000||${HW}`]);
  assert.ok(r);
  assert.equal(r.resource.transportSocket, undefined, 'every endpoint has a sidecar label, still no mTLS of our own accord');
  assert.equal(r.resource.lbPolicy, 'ROUND_ROBIN');
  assert.equal(r.resource.circuitBreakers, undefined);
});

test('grpc cds: a DestinationRule with ISTIO_MUTUAL and http2MaxRequests; mTLS through certificate provider instances with SANs; LEAST_REQUEST, which grpc-js-xds refuses, is not passed on', () => {
  const view = withPolicy({ loadBalancer: 'LEAST_REQUEST', connectionPool: { http: { http2MaxRequests: 200 } }, tls: { mode: 'ISTIO_MUTUAL' }, portLevelSettings: [] });
  const [r] = cds(client, view, [`outbound|5000||${HW}`]);
  const c = r?.resource;
  assert.equal(c?.type, 'EDS');
  assert.equal(c.lbPolicy, 'ROUND_ROBIN');
  assert.deepEqual(c.circuitBreakers, { thresholds: [{ maxRequests: { value: 200 } }] });
  assert.equal(c.edsClusterConfig?.serviceName, `outbound|5000||${HW}`);
  assert.equal(c.transportSocket?.name, 'envoy.transport_sockets.tls');
  const tls = unpackAny(upstreamTlsContextCodec, c.transportSocket.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(tls.commonTlsContext?.tlsCertificateProviderInstance, { instanceName: 'default', certificateName: 'default' });
  const validation = tls.commonTlsContext.combinedValidationContext?.defaultValidationContext;
  assert.deepEqual(validation?.caCertificateProviderInstance, { instanceName: 'default', certificateName: 'ROOTCA' });
  assert.deepEqual(validation.matchSubjectAltNames, [{ exact: 'spiffe://cluster.local/ns/sample/sa/helloworld' }]);
  const [off] = cds(client, withPolicy({ tls: { mode: 'DISABLE' }, portLevelSettings: [] }), [`outbound|5000||${HW}`]);
  assert.equal(off?.resource.transportSocket, undefined, 'DISABLE: plaintext');
  const decoded = grpcJsXdsDecode(clusterCodec, c);
  assert.equal(decoded.error, undefined);
  assert.deepEqual((decoded.value as { securityUpdate?: unknown }).securityUpdate, {
    caCertificateProviderInstance: 'default',
    identityCertificateProviderInstance: 'default',
    subjectAltNameMatchers: [{ exact: 'spiffe://cluster.local/ns/sample/sa/helloworld', ignore_case: false, match_pattern: 'exact' }],
  });
});

test('grpc cds: plaintext service gets no transport socket', () => {
  const [r] = cds(client, meshView(), ['outbound|3306||mysql.db.svc.cluster.local']);
  assert.equal(r?.resource.transportSocket, undefined);
  assert.equal(grpcJsXdsDecode(clusterCodec, r?.resource ?? {}).error, undefined);
});

test('grpc lds: server listener xds.istio.io/grpc/lds/inbound/<ip>:<port>, mTLS by the pod tlsMode label', () => {
  const name = 'xds.istio.io/grpc/lds/inbound/0.0.0.0:17070';
  const mtlsProxy = proxy({ generator: 'grpc', namespace: 'sample', labels: { 'security.istio.io/tlsMode': 'istio' } });
  const [r] = lds(mtlsProxy, meshView(), [name]);
  const l = r?.resource;
  assert.deepEqual(l?.address, { socketAddress: { address: '0.0.0.0', portValue: 17070 } });
  assert.equal(l.listenerFilters, undefined);
  const chain = l.filterChains?.[0];
  const ctx = unpackAny(downstreamTlsContextCodec, chain?.transportSocket?.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(ctx.requireClientCertificate, { value: true });
  assert.deepEqual(ctx.commonTlsContext?.tlsCertificateProviderInstance, { instanceName: 'default', certificateName: 'default' });
  const hcm = unpackAny(httpConnectionManagerCodec, chain?.filters?.[0]?.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(hcm.routeConfig?.virtualHosts?.[0]?.routes?.[0]?.nonForwardingAction, {});
  assert.equal(grpcJsXdsDecode(listenerCodec, l).error, undefined);

  const [plain] = lds(proxy({ generator: 'grpc' }), meshView(), ['xds.istio.io/grpc/lds/inbound/[::]:8080']);
  assert.deepEqual(plain?.resource.address, { socketAddress: { address: '::', portValue: 8080 } });
  assert.equal(plain.resource.filterChains?.[0]?.transportSocket, undefined);
  assert.equal(grpcJsXdsDecode(listenerCodec, plain.resource).error, undefined);
});

test('grpc lds: the server listener follows PeerAuthentication as istiod (STRICT mTLS even without tlsMode, DISABLE plaintext)', () => {
  const pa = (namespace: string, mode: MtlsMode, more: Partial<PeerAuthentication> = {}): PeerAuthentication =>
    ({ name: 'default', namespace, inRootNamespace: namespace === 'istio-system', selector: {}, mode, portLevelMtls: [], creationTimestamp: '2026-01-01T00:00:00Z', ...more });
  const view = (pas: PeerAuthentication[]) => fakeMeshView({ peerAuthentications: pas });
  const name = 'xds.istio.io/grpc/lds/inbound/10.1.0.9:17070';
  const tls = (p: Proxy, v: MeshView): boolean => lds(p, v, [name])[0]?.resource.filterChains?.[0]?.transportSocket !== undefined;
  const bare = proxy({ generator: 'grpc', namespace: 'sample', labels: { app: 'echo' } });
  const istio = proxy({ generator: 'grpc', namespace: 'sample', labels: { app: 'echo', 'security.istio.io/tlsMode': 'istio' } });
  const strict = view([pa('istio-system', 'STRICT')]);
  assert.equal(tls(bare, strict), true, 'STRICT: a server without the tlsMode label must not serve plaintext');
  assert.equal(tls(istio, view([pa('istio-system', 'STRICT'), pa('sample', 'DISABLE')])), false, 'namespace DISABLE: plaintext');
  assert.equal(tls(istio, view([])), true, 'PERMISSIVE with tlsMode: mTLS');
  assert.equal(tls(bare, view([])), false, 'PERMISSIVE without tlsMode: plaintext');
  const portLevel = view([pa('sample', 'DISABLE', { name: 'echo', selector: { app: 'echo' }, portLevelMtls: [{ port: 17070, mode: 'STRICT' }] })]);
  assert.equal(tls(bare, portLevel), true, 'port-level STRICT on the listener\'s port');
  assert.notEqual(cacheKey(bare, strict), cacheKey(bare, view([])), 'the policy is part of the cache key');
});

test('grpc eds: split horizon as for sidecars, every address once, accepted by grpc-js-xds', () => {
  const [r] = eds(client, meshView(), [`outbound|5000||${HW}`]);
  const addrs = (r?.resource.endpoints ?? []).flatMap((g) => (g.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address}:${e.endpoint?.address?.socketAddress?.portValue}=${e.loadBalancingWeight?.value}`));
  assert.deepEqual(addrs, ['10.1.0.1:5000=2', '10.1.0.2:5000=2', '198.51.100.2:15443=6', '203.0.113.31:15443=1', '203.0.113.32:15443=1']);
  assert.equal(grpcJsXdsDecode(clusterLoadAssignmentCodec, r?.resource ?? {}).error, undefined);
});

test('grpc rds: a mesh VirtualService routes proxyless gRPC too (80/20 subsets, retries, timeout), and grpc-js-xds accepts it', () => {
  const split = convertVirtualService({ metadata: { name: 'helloworld', namespace: 'sample' }, spec: {
    hosts: [HW], http: [{ route: [{ destination: { host: HW, subset: 'v1' }, weight: 80 }, { destination: { host: HW, subset: 'v2' }, weight: 20 }], retries: { attempts: 3, perTryTimeout: '2s' }, timeout: '5s' }],
  } });
  assert.ok(split.ok);
  const base = meshView();
  const view: MeshView = { ...base, virtualServices: () => [split.value] };
  const [r] = rds(client, view, [`${HW}:5000`]);
  const route = r?.resource.virtualHosts?.[0]?.routes?.[0]?.route;
  assert.deepEqual(route?.weightedClusters?.clusters?.map((c) => [c.name, c.weight?.value]), [[`outbound|5000|v1|${HW}`, 80], [`outbound|5000|v2|${HW}`, 20]]);
  assert.deepEqual(route.retryPolicy?.numRetries, { value: 3 });
  assert.equal(Number(route.maxStreamDuration?.maxStreamDuration?.seconds), 5, 'the 5s timeout is the stream\'s maximum duration, as istiod writes it for gRPC');
  assert.equal(route.maxGrpcTimeout, undefined);
  const decoded = grpcJsXdsDecode(routeConfigurationCodec, r?.resource ?? {});
  assert.equal(decoded.error, undefined, 'the real client accepts the routes');
  // The subset clusters the routes name are served to the client.
  const subsetClusters = cds(client, view, [`outbound|5000|v1|${HW}`, `outbound|5000|v2|${HW}`]).map((c) => c.name);
  assert.deepEqual(subsetClusters, [`outbound|5000|v1|${HW}`, `outbound|5000|v2|${HW}`]);
  const [plain] = rds(client, base, [`${HW}:5000`]);
  assert.equal(plain?.resource.virtualHosts?.[0]?.routes?.[0]?.route?.cluster, `outbound|5000||${HW}`, 'without one, the service\'s own cluster');
});
