/** Router LDS for the guide's `istiod-gateway` (TLS PASSTHROUGH + VirtualService tls routes, docs/istio-compat.md §3.3). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IstioGateway, VirtualService } from '../../model/mesh-view.ts';
import { hostname } from '../../model/ids.ts';
import { listenerCodec, tcpProxyCodec, unpackAny, upstreamTlsContextCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { generate as generateCds } from './cds.ts';
import { crossNetworkGateway, helloworld, meshView } from '../../testing/mesh/fixtures.ts';
import { generate } from './lds-gateway.ts';
import { fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const istiod = svc({ name: 'istiod', namespace: 'istio-system', ports: [{ name: 'grpc-xds', port: 15012, protocol: 'GRPC' }, { name: 'https-webhook', port: 443, protocol: 'HTTPS' }] });
const ISTIOD = 'istiod.istio-system.svc.cluster.local';

const istiodGateway: IstioGateway = {
  name: 'istiod-gateway', namespace: 'istio-system', selector: { istio: 'eastwestgateway' },
  servers: [
    { port: { number: 15012, name: 'tls-istiod', protocol: 'TLS' }, hosts: ['*'], tls: { mode: 'PASSTHROUGH' } },
    { port: { number: 15017, name: 'tls-istiodwebhook', protocol: 'TLS' }, hosts: ['*'], tls: { mode: 'PASSTHROUGH' } },
  ],
};
const route = (port: number, to: number, sniHosts = ['*']) => ({ match: [{ sniHosts, port, gateways: [] }], route: [{ host: hostname(ISTIOD), port: to, subset: '', weight: 100 }] });
const istiodVs: VirtualService = {
  name: 'istiod-vs', namespace: 'istio-system', hosts: ['*'], gateways: ['istio-system/istiod-gateway'], tls: [route(15012, 15012), route(15017, 443)],
};
const router = proxy({ type: 'router', labels: { istio: 'eastwestgateway' } });

function tcp(f: T.Filter | undefined): T.TcpProxy {
  assert.equal(f?.name, 'envoy.filters.network.tcp_proxy');
  assert.ok(f.typedConfig);
  return unpackAny(tcpProxyCodec, f.typedConfig);
}

function listeners(gateways: IstioGateway[], vss: VirtualService[], services = [istiod, helloworld]): Map<string, T.Listener> {
  const view = fakeMeshView({ services, istioGateways: gateways, virtualServices: vss });
  return new Map(roundTrip(listenerCodec, generate(router, view, 'wildcard')).map((l) => [l.name ?? '', l]));
}

test('istiod-gateway: 15012 and 15017 pass TLS through to istiod\'s 15012 and 443 (any SNI), beside 15443', () => {
  const got = listeners([crossNetworkGateway, istiodGateway], [istiodVs]);
  assert.deepEqual([...got.keys()], ['0.0.0.0_15012', '0.0.0.0_15017', '0.0.0.0_15443']);
  for (const [port, cluster] of [[15012, `outbound|15012||${ISTIOD}`], [15017, `outbound|443||${ISTIOD}`]] as const) {
    const l = got.get(`0.0.0.0_${port}`);
    assert.ok(l);
    assert.equal(l.address?.socketAddress?.portValue, port);
    assert.deepEqual(l.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.tls_inspector']);
    assert.equal(l.filterChains?.length, 1);
    const chain = l.filterChains[0];
    assert.equal(chain?.filterChainMatch?.serverNames, undefined, 'sniHosts * matches any SNI');
    assert.equal(chain?.transportSocket, undefined, 'passthrough: no TLS context of the gateway');
    assert.equal(tcp(chain?.filters?.[0]).cluster, cluster);
  }
});

test('istiod-gateway with a revision: SNI-matched chains; the first route claiming an SNI wins', () => {
  const sni = ['istiod-canary.istio-system.svc', 'istiod-canary.istio-system.svc.cluster.local'];
  const canary: VirtualService = { ...istiodVs, name: 'istiod-vs-canary', tls: [route(15012, 15012, sni)] };
  const again: VirtualService = { ...istiodVs, name: 'zz-later', tls: [route(15012, 443, [sni[0] ?? '', 'other.example'])] };
  const l = listeners([istiodGateway], [canary, again]).get('0.0.0.0_15012');
  assert.ok(l);
  assert.deepEqual(l.filterChains?.map((c) => [c.filterChainMatch?.serverNames, tcp(c.filters?.[0]).cluster]), [
    [sni, `outbound|15012||${ISTIOD}`],
    [['other.example'], `outbound|443||${ISTIOD}`],
  ]);
});

test('tls routes: weighted destinations, port restrictions, unbound VirtualServices and unknown ports', () => {
  const weighted: VirtualService = {
    ...istiodVs, name: 'w', tls: [{ match: [{ sniHosts: ['a.example'], gateways: [] }], route: [
      { host: hostname(ISTIOD), port: 15012, subset: '', weight: 80 }, { host: hostname(ISTIOD), port: 443, subset: 'v2', weight: 20 }, { host: hostname(ISTIOD), port: 443, subset: 'v3', weight: 0 }] }],
  };
  const l = listeners([istiodGateway], [weighted]);
  // No match.port: the route applies to both servers.
  assert.deepEqual([...l.keys()], ['0.0.0.0_15012', '0.0.0.0_15017']);
  assert.deepEqual(tcp(l.get('0.0.0.0_15017')?.filterChains?.[0]?.filters?.[0]).weightedClusters?.clusters,
    [{ name: `outbound|15012||${ISTIOD}`, weight: 80 }, { name: `outbound|443|v2|${ISTIOD}`, weight: 20 }]);
  // Bound to another gateway, or to `mesh` only: nothing.
  assert.deepEqual([...listeners([istiodGateway], [{ ...istiodVs, gateways: ['istio-system/other'] }]).keys()], []);
  assert.deepEqual([...listeners([istiodGateway], [{ ...istiodVs, gateways: ['mesh'] }]).keys()], []);
  // A destination without a port on a service with two ports cannot be routed: no chain, no listener.
  const noPort: VirtualService = { ...istiodVs, tls: [{ match: [{ sniHosts: ['*'], gateways: [] }], route: [{ host: hostname(ISTIOD), subset: '', weight: 100 }] }] };
  assert.deepEqual([...listeners([istiodGateway], [noPort]).keys()], []);
  // ... but on a one-port service the port is the service's.
  const one: VirtualService = { ...noPort, tls: [{ match: [{ sniHosts: ['*'], gateways: [] }], route: [{ host: helloworld.hostname, subset: '', weight: 100 }] }] };
  assert.equal(tcp(listeners([istiodGateway], [one]).get('0.0.0.0_15012')?.filterChains?.[0]?.filters?.[0]).cluster, `outbound|5000||${helloworld.hostname}`);
});

test('a router the Gateways do not select gets no passthrough listeners; sidecars never do', () => {
  const view = fakeMeshView({ services: [istiod], istioGateways: [istiodGateway], virtualServices: [istiodVs] });
  assert.deepEqual(generate(proxy({ type: 'router', labels: { istio: 'ingressgateway' } }), view, 'wildcard'), []);
  assert.deepEqual(generate(proxy({ labels: { istio: 'eastwestgateway' } }), view, 'wildcard'), []);
});

test('every sidecar mTLS cluster\'s SNI and ALPN land on a chain of the AUTO_PASSTHROUGH gateway (docs/istio-compat.md §9.4)', () => {
  const view = meshView();
  const chains = generate(router, view, 'wildcard').find((l) => l.name === '0.0.0.0_15443')?.resource.filterChains ?? [];
  const bySni = new Map(chains.map((c) => [c.filterChainMatch?.serverNames?.[0] ?? '', c.filterChainMatch?.applicationProtocols ?? []]));
  let checked = 0;
  for (const { name, resource } of generateCds(proxy({ namespace: 'sample' }), view, 'wildcard')) {
    const m = resource.transportSocketMatches?.find((x) => x.name === 'tlsMode-istio')?.transportSocket?.typedConfig;
    if (m === undefined || !name.startsWith('outbound|')) continue;
    const tls = unpackAny(upstreamTlsContextCodec, m);
    const [, port, subset, host] = name.split('|');
    assert.equal(tls.sni, `outbound_.${port ?? ''}_.${subset ?? ''}_.${host ?? ''}`, name);
    assert.deepEqual(tls.commonTlsContext?.alpnProtocols?.slice(0, 2), ['istio-peer-exchange', 'istio'], name);
    const alpns = bySni.get(tls.sni ?? '');
    if (host?.endsWith('.local') !== true || name.includes('kube-dns')) continue;
    assert.ok(alpns, `the gateway has a chain for ${tls.sni ?? ''}`);
    assert.ok(tls.commonTlsContext.alpnProtocols.some((a) => alpns.includes(a)), `${name}: an offered ALPN is one the chain matches`);
    checked++;
  }
  console.log(`sidecar mTLS clusters checked against the gateway's chains: ${checked}`);
  assert.ok(checked >= 4);
});

test('15443 has no chain for a namespace-private service (exportTo ".") of another namespace', () => {
  const sni = (ns: string) => (generate(proxy({ type: 'router', namespace: ns, labels: { istio: 'eastwestgateway' } }), meshView(), 'wildcard')
    .find((l) => l.name === '0.0.0.0_15443')?.resource.filterChains ?? []).map((c) => c.filterChainMatch?.serverNames?.[0] ?? '');
  const system = sni('istio-system');
  assert.ok(system.includes(`outbound_.5000_._.${helloworld.hostname}`), 'exported services have chains');
  assert.ok(!system.some((n) => n.includes('private.other')), `no chain exposes private.other: ${system.join(', ')}`);
  assert.ok(sni('other').includes('outbound_.8080_._.private.other.svc.cluster.local'), 'a gateway in its own namespace may expose it');
});
