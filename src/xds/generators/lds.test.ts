/** Envoy LDS: sidecar listeners and the east-west gateway's AUTO_PASSTHROUGH listener (docs/istio-compat.md §3.4). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  downstreamTlsContextCodec, httpConnectionManagerCodec, listenerCodec, tcpProxyCodec, unpackAny,
} from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { ep, fakeMeshView, svc } from '../../testing/mesh/builders.ts';
import { crossNetworkGateway, helloworld, meshView } from '../../testing/mesh/fixtures.ts';
import { generate as generateGateway } from './lds-gateway.ts';
import { generate } from './lds.ts';
import { proxy, roundTrip } from '../../testing/mesh/builders.ts';

const HW = 'helloworld.sample.svc.cluster.local';
const ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

function tcpCluster(f: T.Filter | undefined): string | undefined {
  assert.equal(f?.name, 'envoy.filters.network.tcp_proxy');
  return f.typedConfig ? unpackAny(tcpProxyCodec, f.typedConfig).cluster : undefined;
}

function listeners(list: readonly { name: string; resource: T.Listener }[]): Map<string, T.Listener> {
  const decoded = roundTrip(listenerCodec, list);
  return new Map(decoded.map((l) => [l.name ?? '', l]));
}

test('lds sidecar: listener names (HTTP by port, TCP by VIP of the proxy cluster, virtual listeners)', () => {
  const got = listeners(generate(proxy({ namespace: 'sample', cluster: 'cluster1' }), meshView(), 'wildcard'));
  assert.deepEqual([...got.keys()].sort(), [
    // helloworld 5000 HTTP, echo 7070 GRPC -> HTTP listeners on 0.0.0.0
    '0.0.0.0_5000', '0.0.0.0_7070',
    // mysql TCP on its cluster1 VIP; ledger only exists in cluster2 -> its cluster2 VIP
    '10.96.0.30_3306', '10.97.0.50_6000',
    'virtualInbound', 'virtualOutbound',
  ].sort());
});

test('lds sidecar: HTTP listener = HCM with RDS route config named by port, router filter, not bound', () => {
  const l = listeners(generate(proxy(), meshView(), ['0.0.0.0_5000'])).get('0.0.0.0_5000');
  assert.deepEqual(l?.address, { socketAddress: { address: '0.0.0.0', portValue: 5000 } });
  assert.deepEqual(l.bindToPort, { value: false });
  const f = l.filterChains?.[0]?.filters?.[0];
  assert.equal(f?.name, 'envoy.filters.network.http_connection_manager');
  const hcm = unpackAny(httpConnectionManagerCodec, f.typedConfig ?? { typeUrl: '' });
  assert.equal(hcm.rds?.routeConfigName, '5000');
  assert.deepEqual(hcm.rds.configSource?.ads, {});
  assert.deepEqual(hcm.httpFilters?.map((h) => h.name), ['envoy.filters.http.router']);
  assert.equal(hcm.httpFilters[0]?.typedConfig?.typeUrl, 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router');
});

test('lds sidecar: HTTP listener takes plaintext HTTP only (http_inspector), the rest to PassthroughCluster; WebSocket, no idle cut', () => {
  const l = listeners(generate(proxy(), meshView(), ['0.0.0.0_5000'])).get('0.0.0.0_5000');
  assert.deepEqual(l?.listenerFilters?.map((f) => [f.name, f.typedConfig?.typeUrl]), [['envoy.filters.listener.http_inspector', 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector']]);
  assert.equal(l.continueOnListenerFiltersTimeout, true);
  assert.deepEqual(l.filterChains?.map((c) => c.filterChainMatch), [{ transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }]);
  assert.equal(tcpCluster(l.defaultFilterChain?.filters?.[0]), 'PassthroughCluster', 'TLS or other protocols on an HTTP port pass through');
  const hcm = unpackAny(httpConnectionManagerCodec, l.filterChains[0]?.filters?.[0]?.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(hcm.upgradeConfigs, [{ upgradeType: 'websocket' }]);
  assert.equal(hcm.streamIdleTimeout?.seconds ?? '0', '0', 'idle streams are never cut');
  assert.deepEqual(hcm.normalizePath, { value: true });
  assert.equal(hcm.pathWithEscapedSlashesAction, 'KEEP_UNCHANGED');
  assert.equal(hcm.proxy_100Continue, true);
});

test('lds sidecar: TCP listener proxies to the outbound cluster', () => {
  const l = listeners(generate(proxy(), meshView(), ['10.96.0.30_3306'])).get('10.96.0.30_3306');
  assert.equal(tcpCluster(l?.filterChains?.[0]?.filters?.[0]), 'outbound|3306||mysql.db.svc.cluster.local');
});

test('lds sidecar: virtualOutbound 15001 uses original dst and falls through to PassthroughCluster; 15001 itself is blackholed', () => {
  const l = listeners(generate(proxy(), meshView(), ['virtualOutbound'])).get('virtualOutbound');
  assert.deepEqual(l?.address, { socketAddress: { address: '0.0.0.0', portValue: 15001 } });
  assert.deepEqual(l.useOriginalDst, { value: true });
  const catchAll = l.filterChains?.find((c) => c.filterChainMatch === undefined);
  assert.equal(tcpCluster(catchAll?.filters?.[0]), 'PassthroughCluster');
  const guard = l.filterChains?.find((c) => c.filterChainMatch?.destinationPort?.value === 15001);
  assert.equal(tcpCluster(guard?.filters?.[0]), 'BlackHoleCluster', 'a connection to 15001 must not loop through the capture');
});

test('lds sidecar: virtualInbound 15006 terminates Istio mTLS (SDS default/ROOTCA, client cert of the trust domain required) per own port', () => {
  const l = listeners(generate(proxy({ ip: '10.1.0.7', cluster: 'cluster1', namespace: 'sample' }), meshView(), ['virtualInbound'])).get('virtualInbound');
  assert.deepEqual(l?.address, { socketAddress: { address: '0.0.0.0', portValue: 15006 } });
  assert.deepEqual(l.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
  const guard = l.filterChains?.find((c) => c.filterChainMatch?.destinationPort?.value === 15006);
  assert.equal(tcpCluster(guard?.filters?.[0]), 'BlackHoleCluster', 'a connection to 15006 must not loop through InboundPassthroughCluster');
  const mtls = l.filterChains?.find((c) => c.filterChainMatch?.transportProtocol === 'tls' && c.filterChainMatch.destinationPort !== undefined);
  assert.deepEqual(mtls?.filterChainMatch?.destinationPort, { value: 17070 });
  assert.equal(mtls.transportSocket?.name, 'envoy.transport_sockets.tls');
  const ctx = unpackAny(downstreamTlsContextCodec, mtls.transportSocket.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(ctx.requireClientCertificate, { value: true });
  assert.deepEqual(ctx.commonTlsContext?.tlsCertificateSdsSecretConfigs?.map((s) => s.name), ['default']);
  assert.equal(ctx.commonTlsContext.combinedValidationContext?.validationContextSdsSecretConfig?.name, 'ROOTCA');
  assert.deepEqual(ctx.commonTlsContext.combinedValidationContext.defaultValidationContext?.matchSubjectAltNames, [{ prefix: 'spiffe://cluster.local/' }], 'only callers of the mesh trust domain');
  // echo's 7070 is GRPC (target port 17070): HTTP on both chains; other ports through the passthrough chains.
  assert.equal(inboundHcm(mtls).routeConfig?.virtualHosts?.[0]?.routes?.[0]?.route?.cluster, 'inbound|17070||');
  const plain = l.filterChains?.find((c) => c.filterChainMatch?.transportProtocol === 'raw_buffer' && c.filterChainMatch.destinationPort !== undefined);
  assert.equal(inboundHcm(plain).routeConfig?.virtualHosts?.[0]?.routes?.[0]?.route?.cluster, 'inbound|17070||');
  const catchAll = l.filterChains?.find((c) => c.filterChainMatch?.destinationPort === undefined && c.filterChainMatch?.transportProtocol === 'raw_buffer' && c.filterChainMatch.applicationProtocols === undefined);
  assert.equal(tcpCluster(catchAll?.filters?.[0]), 'InboundPassthroughCluster');
});

/** A pod (10.4.0.5) serving HTTP on 9080 (service port 80) and MySQL on 3306, in trust domain example.org. */
function twoPortPod(): Map<string, T.Listener> {
  const web = svc({ name: 'web', namespace: 'shop', ports: [{ name: 'http-web', port: 80, protocol: 'HTTP' }] });
  const db = svc({ name: 'db', namespace: 'shop', ports: [[3306, 'TCP']] });
  const view = fakeMeshView({
    trustDomain: 'example.org',
    services: [web, db],
    endpoints: [
      ep({ service: web, address: '10.4.0.5', cluster: 'cluster1', serviceAccount: 'shop', port: 9080 }),
      ep({ service: db, address: '10.4.0.5', cluster: 'cluster1', serviceAccount: 'shop' }),
    ],
  });
  return listeners(generate(proxy({ ip: '10.4.0.5', cluster: 'cluster1', namespace: 'shop' }), view, ['virtualInbound']));
}

function inboundHcm(c: T.FilterChain | undefined): T.HttpConnectionManager {
  assert.deepEqual(c?.filters?.map((f) => f.name), ['envoy.filters.network.http_connection_manager']);
  return unpackAny(httpConnectionManagerCodec, c.filters[0]?.typedConfig ?? { typeUrl: '' });
}

const chainsFor = (l: T.Listener | undefined, port: number): T.FilterChain[] => (l?.filterChains ?? []).filter((c) => c.filterChainMatch?.destinationPort?.value === port);

test('lds sidecar: an HTTP inbound port is served by a connection manager on its mTLS and plaintext chains', () => {
  const l = twoPortPod().get('virtualInbound');
  const chains = chainsFor(l, 9080);
  assert.deepEqual(chains.map((c) => c.filterChainMatch), [
    { destinationPort: { value: 9080 }, transportProtocol: 'tls', applicationProtocols: ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
    { destinationPort: { value: 9080 }, transportProtocol: 'raw_buffer' },
  ]);
  const [mtls, plain] = chains;
  const ctx = unpackAny(downstreamTlsContextCodec, mtls?.transportSocket?.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(ctx.commonTlsContext?.alpnProtocols, ['h2', 'http/1.1'], 'HTTP/2 or HTTP/1.1 inside the tunnel');
  assert.deepEqual(ctx.commonTlsContext.combinedValidationContext?.defaultValidationContext?.matchSubjectAltNames, [{ prefix: 'spiffe://example.org/' }]);
  assert.deepEqual(ctx.requireClientCertificate, { value: true });
  assert.equal(plain?.transportSocket, undefined, 'PERMISSIVE: plaintext HTTP accepted too');
  for (const c of [mtls, plain]) {
    const hcm = inboundHcm(c);
    assert.equal(hcm.statPrefix, 'inbound_0.0.0.0_9080');
    assert.equal(hcm.rds, undefined, 'inline routes, nothing to fetch');
    assert.equal(hcm.routeConfig?.name, 'inbound|9080||');
    assert.deepEqual(hcm.routeConfig.validateClusters, { value: false });
    const vh = hcm.routeConfig.virtualHosts ?? [];
    assert.deepEqual(vh.map((v) => [v.name, v.domains]), [['inbound|http|9080', ['*']]]);
    const routes = vh[0]?.routes ?? [];
    assert.deepEqual(routes.map((r) => [r.name, r.match?.prefix, r.route?.cluster]), [['default', '/', 'inbound|9080||']]);
    const action = routes[0]?.route;
    assert.ok(action?.timeout !== undefined && (action.timeout.seconds ?? '0') === '0', 'route timeout set to 0 (Envoy\'s default would cut at 15 s)');
    assert.deepEqual(action.retryPolicy, { retryOn: 'reset-before-request', numRetries: { value: 2 } });
    // The application learns who called: the caller's certificate goes into x-forwarded-client-cert.
    assert.equal(hcm.forwardClientCertDetails, 'APPEND_FORWARD');
    assert.deepEqual(hcm.setCurrentClientCertDetails, { subject: { value: true }, dns: true, uri: true });
    assert.deepEqual(hcm.useRemoteAddress, { value: false }, 'the peer address is not trusted for X-Forwarded-For');
    assert.ok(hcm.streamIdleTimeout !== undefined && (hcm.streamIdleTimeout.seconds ?? '0') === '0', 'idle streams are never cut');
    assert.deepEqual(hcm.normalizePath, { value: true });
    assert.equal(hcm.pathWithEscapedSlashesAction, 'KEEP_UNCHANGED');
    assert.deepEqual(hcm.upgradeConfigs, [{ upgradeType: 'websocket' }]);
    assert.equal(hcm.serverName, 'istio-envoy');
    assert.deepEqual(hcm.httpFilters?.map((h) => h.name), ['envoy.filters.http.router'], 'the router is the last (only) HTTP filter');
  }
});

test('lds sidecar: a TCP inbound port: Istio mTLS terminated, the application\'s own TLS and plaintext passed to it (as istiod)', () => {
  const l = twoPortPod().get('virtualInbound');
  const chains = chainsFor(l, 3306);
  assert.deepEqual(chains.map((c) => c.filterChainMatch), [
    { destinationPort: { value: 3306 }, transportProtocol: 'tls', applicationProtocols: ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
    { destinationPort: { value: 3306 }, transportProtocol: 'tls' },
    { destinationPort: { value: 3306 }, transportProtocol: 'raw_buffer' },
  ]);
  for (const c of chains) assert.equal(tcpCluster(c.filters?.[0]), 'inbound|3306||');
  const ctx = unpackAny(downstreamTlsContextCodec, chains[0]?.transportSocket?.typedConfig ?? { typeUrl: '' });
  assert.deepEqual(ctx.requireClientCertificate, { value: true });
  assert.deepEqual(ctx.commonTlsContext?.alpnProtocols, ['istio-peer-exchange', 'h2', 'http/1.1']);
  assert.equal(chains[1]?.transportSocket, undefined, 'TLS without a mesh ALPN is the application\'s: not terminated');
  assert.equal(chains[2]?.transportSocket, undefined);
  assert.ok(!(l?.filterChains ?? []).some((c) => c.filterChainMatch?.destinationPort?.value === 80), 'chains are keyed by the target port, not the service port');
});

test('lds sidecar: inspector exemptions list 15006 in port order, as istiod', () => {
  const db = svc({ name: 'mongo', namespace: 'shop', ports: [{ name: 'tcp-mongo', port: 27017, protocol: 'TCP' }] });
  const view = fakeMeshView({ services: [db], endpoints: [ep({ service: db, address: '10.4.0.6', cluster: 'cluster1' })] });
  const l = listeners(generate(proxy({ ip: '10.4.0.6', cluster: 'cluster1', namespace: 'shop' }), view, ['virtualInbound'])).get('virtualInbound');
  const http = l?.listenerFilters?.find((f) => f.name === 'envoy.filters.listener.http_inspector');
  assert.deepEqual(http?.filterDisabled?.orMatch?.rules?.map((r) => r.destinationPortRange?.start), [15006, 27017]);
});

test('lds gateway: 0.0.0.0_15443 with tls_inspector and one SNI chain per service port and subset', () => {
  const gwProxy = proxy({ type: 'router', namespace: 'istio-system', network: 'network2', networkView: 'network2', labels: { istio: 'eastwestgateway', app: 'istio-eastwestgateway' } });
  const got = generateGateway(gwProxy, meshView(), 'wildcard');
  assert.deepEqual(got.map((r) => r.name), ['0.0.0.0_15443']);
  const l = listeners(got).get('0.0.0.0_15443');
  assert.deepEqual(l?.address, { socketAddress: { address: '0.0.0.0', portValue: 15443 } });
  assert.deepEqual(l.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
  const chains = l.filterChains ?? [];
  const sni = chains.map((c) => c.filterChainMatch?.serverNames?.[0]).sort();
  assert.deepEqual(sni, [
    'outbound_.3306_._.mysql.db.svc.cluster.local',
    `outbound_.5000_._.${HW}`,
    `outbound_.5000_.v1_.${HW}`,
    `outbound_.5000_.v2_.${HW}`,
    'outbound_.6000_._.ledger.sample.svc.cluster.local',
    'outbound_.7070_._.echo.sample.svc.cluster.local',
  ]);
  for (const c of chains) {
    const name = c.filterChainMatch?.serverNames?.[0];
    assert.deepEqual(c.filterChainMatch?.serverNames, [name]);
    assert.deepEqual(c.filterChainMatch.applicationProtocols, ALPNS);
    assert.equal(c.transportSocket, undefined, 'passthrough: no TLS context');
    assert.equal(tcpCluster(c.filters?.[0]), name);
  }
});

test('lds gateway: host patterns and selectors decide what is exposed', () => {
  const only = (hosts: string[], selector: Record<string, string> = { istio: 'eastwestgateway' }): string[] => {
    const view = fakeMeshView({ services: [helloworld], istioGateways: [{ ...crossNetworkGateway, selector, servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts, tls: { mode: 'AUTO_PASSTHROUGH' } }] }] });
    const got = generateGateway(proxy({ type: 'router', labels: { istio: 'eastwestgateway' } }), view, 'wildcard');
    return (got[0]?.resource.filterChains ?? []).map((c) => c.filterChainMatch?.serverNames?.[0] ?? '');
  };
  assert.deepEqual(only(['*.local']), [`outbound_.5000_._.${HW}`]);
  assert.deepEqual(only(['sample/*']), [`outbound_.5000_._.${HW}`]);
  assert.deepEqual(only(['other/*']), []);
  assert.deepEqual(only(['*.example.com']), []);
  assert.deepEqual(only(['*.local'], { istio: 'ingressgateway' }), []);
});

test('lds gateway: sidecars never get gateway listeners and routers without AUTO_PASSTHROUGH get none', () => {
  assert.deepEqual(generateGateway(proxy({ labels: { istio: 'eastwestgateway' } }), meshView(), 'wildcard'), []);
  assert.deepEqual(generateGateway(proxy({ type: 'router', labels: { istio: 'ingressgateway' } }), meshView(), 'wildcard'), []);
});
