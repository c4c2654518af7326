/** Ports declared without a protocol are sniffed on sidecars (CDS, LDS, RDS together), as istiod does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterCodec, httpConnectionManagerCodec, listenerCodec, routeConfigurationCodec, tcpProxyCodec, unpackAny } from '../../proto/codec.ts';
import { generate as cds } from './cds.ts';
import { httpProtocolOptionsCodec } from './extra-codecs.ts';
import { generate as lds } from './lds.ts';
import { generate as rds } from './rds.ts';
import { fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const web = svc({ name: 'web', namespace: 'sample', ports: [{ name: 'web', port: 9001, protocol: 'UnsupportedProtocol' }], vips: { cluster1: ['10.96.0.77'] } });
const view = () => fakeMeshView({ services: [web] });
const HOST = 'web.sample.svc.cluster.local';

test('sniffed port: <vip>_<port> listener with http_inspector, an HTTP chain routing by <host>:<port>, TCP otherwise', () => {
  const [l] = roundTrip(listenerCodec, lds(proxy({ namespace: 'sample' }), view(), ['10.96.0.77_9001']));
  assert.deepEqual(l?.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.http_inspector']);
  assert.deepEqual(l.filterChains?.map((c) => c.filterChainMatch), [{ transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] }]);
  const hcm = unpackAny(httpConnectionManagerCodec, l.filterChains[0]?.filters?.[0]?.typedConfig ?? { typeUrl: '' });
  assert.equal(hcm.rds?.routeConfigName, `${HOST}:9001`);
  const tcp = unpackAny(tcpProxyCodec, l.defaultFilterChain?.filters?.[0]?.typedConfig ?? { typeUrl: '' });
  assert.equal(tcp.cluster, `outbound|9001||${HOST}`, 'non-HTTP bytes still reach the service');
});

test('sniffed port: route configuration <host>:<port> (also in a wildcard request), one host for any authority', () => {
  const all = rds(proxy({ namespace: 'sample' }), view(), 'wildcard');
  assert.deepEqual(all.map((r) => r.name), [`${HOST}:9001`]);
  const [rc] = roundTrip(routeConfigurationCodec, all);
  assert.deepEqual(rc?.virtualHosts?.map((v) => [v.name, v.domains]), [[`${HOST}:9001`, ['*']]]);
  const r = rc.virtualHosts[0]?.routes?.[0]?.route;
  assert.equal(r?.cluster, `outbound|9001||${HOST}`);
  assert.deepEqual(r.retryPolicy?.numRetries, { value: 2 });
});

test('sniffed port: the sidecar cluster keeps the downstream HTTP version', () => {
  const [c] = roundTrip(clusterCodec, cds(proxy({ namespace: 'sample' }), view(), [`outbound|9001||${HOST}`]));
  const opts = c?.typedExtensionProtocolOptions?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'];
  assert.ok(opts, 'protocol options present');
  assert.deepEqual(unpackAny(httpProtocolOptionsCodec, opts).useDownstreamProtocolConfig, { httpProtocolOptions: {}, http2ProtocolOptions: {} });
});
