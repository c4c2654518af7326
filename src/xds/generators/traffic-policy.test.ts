/** DestinationRule traffic policies on outbound and SNI-DNAT clusters, merged and applied as istiod does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DestinationRuleSubsets, PeerAuthentication, TrafficPolicy } from '../../model/mesh-view.ts';
import { hostname } from '../../model/ids.ts';
import { clusterCodec, unpackAny } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { ep, fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';
import { crossNetworkGateway } from '../../testing/mesh/fixtures.ts';
import { generate as cds } from './cds.ts';
import { generate as eds } from './eds.ts';
import { httpProtocolOptionsCodec, EXT } from './extra-codecs.ts';
import { effectiveTrafficPolicy } from './traffic-policy.ts';

const hw = svc({ name: 'helloworld', namespace: 'sample', ports: [[5000, 'HTTP'], [6000, 'TCP']] });
const HW = 'helloworld.sample.svc.cluster.local';
const policy = (p: Partial<TrafficPolicy>): TrafficPolicy => ({ portLevelSettings: [], ...p });
const rule = (trafficPolicy: TrafficPolicy | undefined, subsetPolicy?: TrafficPolicy): DestinationRuleSubsets => ({
  host: hostname(HW), namespace: 'sample',
  subsets: [{ name: 'v1', labels: { version: 'v1' }, ...(subsetPolicy ? { trafficPolicy: subsetPolicy } : {}) }],
  ...(trafficPolicy ? { trafficPolicy } : {}),
});
const view = (dr: DestinationRuleSubsets) => fakeMeshView({
  services: [hw], destinationRules: [dr], istioGateways: [crossNetworkGateway],
  endpoints: [
    ep({ service: hw, address: '10.1.0.1', labels: { app: 'helloworld', version: 'v1' }, serviceAccount: 'helloworld' }),
    ep({ service: hw, address: '10.1.0.2', labels: { app: 'helloworld', version: 'v1' }, serviceAccount: 'helloworld', healthy: false }),
  ],
});
const clusters = (v: ReturnType<typeof view>, p = proxy({ namespace: 'sample' })) => new Map(roundTrip(clusterCodec, cds(p, v, 'wildcard')).map((c) => [c.name ?? '', c]));

test('port-level settings replace the top level for their port; a subset replaces what it sets', () => {
  const dr = rule(
    policy({ loadBalancer: 'ROUND_ROBIN', connectionPool: { tcp: { maxConnections: 100 } }, portLevelSettings: [{ port: 6000, loadBalancer: 'RANDOM' }] }),
    policy({ outlierDetection: { consecutive5xxErrors: 3 } }),
  );
  const v = view(dr);
  assert.deepEqual(effectiveTrafficPolicy(v, HW, 5000, ''), { loadBalancer: 'ROUND_ROBIN', connectionPool: { tcp: { maxConnections: 100 } } });
  assert.deepEqual(effectiveTrafficPolicy(v, HW, 6000, ''), { loadBalancer: 'RANDOM' }, 'the port entry replaces every part, the pool too');
  assert.deepEqual(effectiveTrafficPolicy(v, HW, 5000, 'v1'), { loadBalancer: 'ROUND_ROBIN', connectionPool: { tcp: { maxConnections: 100 } }, outlierDetection: { consecutive5xxErrors: 3 } });
  assert.deepEqual(effectiveTrafficPolicy(fakeMeshView({ services: [hw] }), HW, 5000, ''), {});
});

test('the cluster gets the load balancer, limits, timeouts, outlier detection and panic threshold of its policy', () => {
  const v = view(rule(policy({
    loadBalancer: 'ROUND_ROBIN',
    connectionPool: { tcp: { maxConnections: 100, connectTimeout: { seconds: 3, nanos: 0 } }, http: { http1MaxPendingRequests: 10, http2MaxRequests: 200, maxRetries: 4, idleTimeout: { seconds: 30, nanos: 0 }, maxRequestsPerConnection: 5 } },
    outlierDetection: { consecutive5xxErrors: 5, interval: { seconds: 10, nanos: 0 }, baseEjectionTime: { seconds: 30, nanos: 0 }, maxEjectionPercent: 50, minHealthPercent: 20 },
  })));
  const c = clusters(v).get(`outbound|5000||${HW}`);
  assert.ok(c);
  assert.equal(c.lbPolicy, 'ROUND_ROBIN');
  assert.equal(Number(c.connectTimeout?.seconds), 3);
  const th = c.circuitBreakers?.thresholds?.[0];
  assert.deepEqual([th?.maxConnections?.value, th?.maxPendingRequests?.value, th?.maxRequests?.value, th?.maxRetries?.value], [100, 10, 200, 4]);
  assert.deepEqual(c.outlierDetection?.consecutive_5xx, { value: 5 });
  assert.deepEqual(c.outlierDetection.enforcingConsecutive_5xx, { value: 100 });
  assert.deepEqual(c.outlierDetection.enforcingSuccessRate, { value: 0 });
  assert.deepEqual(c.outlierDetection.maxEjectionPercent, { value: 50 });
  assert.deepEqual(c.commonLbConfig?.healthyPanicThreshold, { value: 20 });
  const opts = unpackAny(httpProtocolOptionsCodec, c.typedExtensionProtocolOptions?.[EXT.httpProtocolOptions] as T.Any);
  assert.equal(Number(opts.commonHttpProtocolOptions?.idleTimeout?.seconds), 30);
  assert.deepEqual(opts.explicitHttpConfig?.httpProtocolOptions, {}, 'an HTTP/1.1 port keeps HTTP/1.1 upstream');
  // With a minimum healthy share, the not-ready endpoint is left out of EDS, as istiod does.
  const [la] = eds(proxy({ namespace: 'sample' }), v, [`outbound|5000||${HW}`]);
  const addresses = (la?.resource.endpoints ?? []).flatMap((g) => (g.lbEndpoints ?? []).map((l) => l.endpoint?.address?.socketAddress?.address));
  assert.deepEqual(addresses, ['10.1.0.1']);
  const [plain] = eds(proxy({ namespace: 'sample' }), view(rule(undefined)), [`outbound|5000||${HW}`]);
  assert.equal((plain?.resource.endpoints ?? []).flatMap((g) => g.lbEndpoints ?? []).length, 2, 'without it, the not-ready endpoint is sent (marked unhealthy)');
});

test('tls DISABLE dials plaintext, ISTIO_MUTUAL mTLS to every endpoint; SNI-DNAT clusters take the policy but never its TLS', () => {
  const off = clusters(view(rule(policy({ tls: { mode: 'DISABLE' } })))).get(`outbound|5000||${HW}`);
  assert.equal(off?.transportSocket, undefined);
  assert.equal(off?.transportSocketMatches?.length ?? 0, 0);
  const on = clusters(view(rule(policy({ tls: { mode: 'ISTIO_MUTUAL' } })))).get(`outbound|5000||${HW}`);
  assert.equal(on?.transportSocket?.name, 'envoy.transport_sockets.tls');
  assert.equal(on.transportSocketMatches?.length ?? 0, 0);
  const gw = proxy({ type: 'router', namespace: 'istio-system', network: 'network1', networkView: 'network1', labels: { istio: 'eastwestgateway' } });
  const sni = clusters(view(rule(policy({ loadBalancer: 'RANDOM', tls: { mode: 'ISTIO_MUTUAL' } }))), gw).get(`outbound_.5000_._.${HW}`);
  assert.equal(sni?.lbPolicy, 'RANDOM');
  assert.equal(sni.transportSocket, undefined, 'the client\'s mTLS passes through the gateway untouched');
});

test('PASSTHROUGH dials the original destination', () => {
  const c = clusters(view(rule(policy({ loadBalancer: 'PASSTHROUGH' })))).get(`outbound|5000||${HW}`);
  assert.equal(c?.type, 'ORIGINAL_DST');
  assert.equal(c.lbPolicy, 'CLUSTER_PROVIDED');
  assert.equal(c.edsClusterConfig, undefined);
});

test('a namespace PeerAuthentication DISABLE turns auto mTLS off; a DestinationRule TLS mode overrides it for clusters and endpoints', () => {
  const disable: PeerAuthentication = { name: 'default', namespace: 'sample', inRootNamespace: false, selector: {}, mode: 'DISABLE', portLevelMtls: [], creationTimestamp: '' };
  const withPa = (dr: DestinationRuleSubsets) => ({ ...view(dr), peerAuthentications: () => [disable] });
  const auto = clusters(withPa(rule(undefined))).get(`outbound|5000||${HW}`);
  assert.equal(auto?.transportSocket, undefined);
  assert.equal(auto?.transportSocketMatches?.length ?? 0, 0, 'plaintext, as istiod infers DISABLE for the service');
  const forced = withPa(rule(policy({ tls: { mode: 'ISTIO_MUTUAL' } })));
  assert.equal(clusters(forced).get(`outbound|5000||${HW}`)?.transportSocket?.name, 'envoy.transport_sockets.tls');
  const [la] = eds(proxy({ namespace: 'sample' }), forced, [`outbound|5000||${HW}`]);
  const modes = (la?.resource.endpoints ?? []).flatMap((g) => (g.lbEndpoints ?? []).map((l) => l.metadata?.filterMetadata?.['envoy.transport_socket_match']?.fields?.['tlsMode']?.stringValue));
  assert.deepEqual(modes, ['istio', 'istio'], 'ISTIO_MUTUAL marks every endpoint for mTLS, whatever its own policy');
});
