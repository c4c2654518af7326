/** Headless services, as istiod: original destination on sidecars, EDS on gateways, routes for pod names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCodec, routeConfigurationCodec, unpackAny, upstreamTlsContextCodec } from '../../proto/codec.ts';
import { generate as cds } from './cds.ts';
import { crossNetworkGateway } from '../../testing/mesh/fixtures.ts';
import { generate as rds } from './rds.ts';
import { ep, fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const hl = svc({ name: 'hl', namespace: 'sample', ports: [[8081, 'HTTP']], vips: {}, resolution: 'Passthrough' });
const view = () => fakeMeshView({ services: [hl], istioGateways: [crossNetworkGateway] });
const NAME = 'outbound|8081||hl.sample.svc.cluster.local';

test('headless: ORIGINAL_DST on a sidecar, EDS over ADS on an east-west gateway (it has no original destination)', () => {
  const [side] = roundTrip(clusterCodec, cds(proxy({ namespace: 'sample' }), view(), [NAME]));
  assert.equal(side?.type, 'ORIGINAL_DST');
  const gw = roundTrip(clusterCodec, cds(proxy({ type: 'router', namespace: 'istio-system', network: 'network1', networkView: 'network1', labels: { istio: 'eastwestgateway' } }), view(), [NAME]));
  assert.equal(gw[0]?.type, 'EDS');
  assert.equal(gw[0].edsClusterConfig?.serviceName, NAME);
  assert.equal(gw[0].lbPolicy, 'LEAST_REQUEST');
});

const pods = (...tlsModes: ('istio' | 'disabled')[]) => fakeMeshView({
  services: [hl], istioGateways: [crossNetworkGateway],
  endpoints: tlsModes.map((tlsMode, i) => ep({ service: hl, address: `10.1.0.${i + 1}`, tlsMode, serviceAccount: 'hl' })),
});

test('headless: a pod without a sidecar, or no pods at all, makes the sidecar dial plaintext (istiod infers DISABLE)', () => {
  for (const v of [pods('istio', 'disabled'), pods()]) {
    const [side] = roundTrip(clusterCodec, cds(proxy({ namespace: 'sample' }), v, [NAME]));
    assert.equal(side?.transportSocket, undefined);
    assert.equal(side?.transportSocketMatches?.length ?? 0, 0);
  }
});

test('headless: a sidecar dials sidecar pods with Istio mTLS unconditionally (no endpoint metadata to match on), as istiod', () => {
  const [side] = roundTrip(clusterCodec, cds(proxy({ namespace: 'sample' }), pods('istio', 'istio'), [NAME]));
  assert.ok(side);
  assert.equal(side.transportSocketMatches?.length ?? 0, 0, 'no transport socket matches: their empty match would pick plaintext');
  assert.equal(side.transportSocket?.name, 'envoy.transport_sockets.tls');
  assert.ok(side.transportSocket.typedConfig);
  const tls = unpackAny(upstreamTlsContextCodec, side.transportSocket.typedConfig);
  assert.equal(tls.sni, 'outbound_.8081_._.hl.sample.svc.cluster.local');
  const gw = roundTrip(clusterCodec, cds(proxy({ type: 'router', namespace: 'istio-system', network: 'network1', networkView: 'network1', labels: { istio: 'eastwestgateway' } }), view(), [NAME]));
  assert.equal(gw[0]?.transportSocket, undefined, 'a gateway keeps per-endpoint matching (EDS carries the metadata)');
  assert.equal(gw[0]?.transportSocketMatches?.length, 2);
});

test('headless: the virtual host also matches pod names under the service (*.hl.sample.svc.cluster.local)', () => {
  const [rc] = roundTrip(routeConfigurationCodec, rds(proxy({ namespace: 'sample' }), view(), ['8081']));
  const domains = rc?.virtualHosts?.find((v) => v.name === 'hl.sample.svc.cluster.local:8081')?.domains ?? [];
  for (const d of ['hl.sample.svc.cluster.local', '*.hl.sample.svc.cluster.local', '*.hl.sample.svc.cluster.local:8081', '*.hl']) assert.ok(domains.includes(d), `${d} in ${domains.join(' ')}`);
});
