/**
 * virtualInbound's passthrough chains (ports no Service declares) under PeerAuthentication: STRICT
 * must refuse plaintext there too, as istiod's sidecars do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MtlsMode, PeerAuthentication } from '../../model/mesh-view.ts';
import { httpConnectionManagerCodec, listenerCodec, tcpProxyCodec, unpackAny } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { cacheKey, generate } from './lds.ts';
import { ep, fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const PASSTHROUGH = 'InboundPassthroughCluster';

function pa(namespace: string, name: string, mode: MtlsMode, more: Partial<PeerAuthentication> = {}): PeerAuthentication {
  return { name, namespace, inRootNamespace: namespace === 'istio-system', selector: {}, mode, portLevelMtls: [], creationTimestamp: '2026-01-01T00:00:00Z', ...more };
}

/** A pod 10.4.0.5 (app=web) whose only declared port is HTTP 9080 (service port 80). */
function view(pas: PeerAuthentication[]) {
  const web = svc({ name: 'web', namespace: 'shop', ports: [{ name: 'http-web', port: 80, protocol: 'HTTP' }] });
  return fakeMeshView({ services: [web], endpoints: [ep({ service: web, address: '10.4.0.5', port: 9080 })], peerAuthentications: pas });
}

const web = proxy({ ip: '10.4.0.5', namespace: 'shop', labels: { app: 'web' } });

function inbound(pas: PeerAuthentication[], p = web): T.Listener {
  const [l] = roundTrip(listenerCodec, generate(p, view(pas), ['virtualInbound']));
  assert.ok(l, 'virtualInbound generated');
  return l;
}

/** The cluster a chain's tcp_proxy or inline HTTP route sends to. */
function target(c: T.FilterChain): string | undefined {
  for (const f of c.filters ?? []) {
    if (f.name === 'envoy.filters.network.tcp_proxy') return unpackAny(tcpProxyCodec, f.typedConfig ?? { typeUrl: '' }).cluster;
    if (f.name === 'envoy.filters.network.http_connection_manager') {
      return unpackAny(httpConnectionManagerCodec, f.typedConfig ?? { typeUrl: '' }).routeConfig?.virtualHosts?.[0]?.routes?.[0]?.route?.cluster;
    }
  }
  return undefined;
}

/** Each chain to InboundPassthroughCluster as `[port] <transport> [alpns] [+tls-socket] -> http|tcp`. */
function passthrough(l: T.Listener): string[] {
  return (l.filterChains ?? []).filter((c) => target(c) === PASSTHROUGH).map((c) => {
    const m = c.filterChainMatch ?? {};
    const http = c.filters?.some((f) => f.name === 'envoy.filters.network.http_connection_manager') === true;
    return [m.destinationPort?.value, m.transportProtocol ?? '*', m.applicationProtocols?.join(','), c.transportSocket === undefined ? undefined : '+tls-socket', `-> ${http ? 'http' : 'tcp'}`]
      .filter((x) => x !== undefined).join(' ');
  });
}

/** A chain a plaintext connection can land on: no TLS socket and a match that is not TLS-only. */
const acceptsPlaintext = (c: T.FilterChain): boolean => c.transportSocket === undefined && c.filterChainMatch?.transportProtocol !== 'tls';

test('mesh-wide STRICT: no plaintext chain reaches InboundPassthroughCluster (undeclared ports refuse plaintext)', () => {
  const l = inbound([pa('istio-system', 'default', 'STRICT')]);
  const plain = (l.filterChains ?? []).filter((c) => acceptsPlaintext(c) && target(c) === PASSTHROUGH);
  console.log('STRICT passthrough chains:', passthrough(l));
  assert.deepEqual(plain.map((c) => c.name), [], 'a plaintext connection to an undeclared port must match no chain');
  assert.deepEqual(passthrough(l), [`tls istio-http/1.0,istio-http/1.1,istio-h2 +tls-socket -> http`, 'tls +tls-socket -> tcp']);
  assert.deepEqual(l.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.tls_inspector'], 'nothing to sniff under STRICT');
});

test('PERMISSIVE: mTLS (HTTP by istio-http ALPN, TCP by istio ALPN), sniffed plaintext HTTP, plaintext TCP and foreign TLS', () => {
  const l = inbound([]);
  console.log('PERMISSIVE passthrough chains:', passthrough(l));
  assert.deepEqual(passthrough(l), [
    'tls istio-http/1.0,istio-http/1.1,istio-h2 +tls-socket -> http',
    'raw_buffer http/1.1,h2c -> http',
    'tls istio-peer-exchange,istio +tls-socket -> tcp',
    'raw_buffer -> tcp',
    'tls -> tcp',
  ]);
  const http = l.listenerFilters?.find((f) => f.name === 'envoy.filters.listener.http_inspector');
  assert.deepEqual(http?.filterDisabled, { orMatch: { rules: [{ destinationPortRange: { start: 9080, end: 9081 } }, { destinationPortRange: { start: 15006, end: 15007 } }] } }, 'sniffing off on the declared HTTP port and on 15006');
});

test('namespace DISABLE: plaintext only, no TLS inspection at all', () => {
  const l = inbound([pa('istio-system', 'default', 'STRICT'), pa('shop', 'default', 'DISABLE')]);
  assert.deepEqual(passthrough(l), ['raw_buffer http/1.1,h2c -> http', 'raw_buffer -> tcp']);
  assert.deepEqual(l.listenerFilters?.map((f) => f.name), ['envoy.filters.listener.original_dst', 'envoy.filters.listener.http_inspector']);
});

test('workload STRICT with port-level modes on undeclared ports: those ports get their own chains', () => {
  const wl = pa('shop', 'web', 'STRICT', { selector: { app: 'web' }, portLevelMtls: [{ port: 9090, mode: 'PERMISSIVE' }, { port: 9091, mode: 'DISABLE' }] });
  const l = inbound([wl]);
  const got = passthrough(l);
  console.log('workload STRICT, 9090 PERMISSIVE, 9091 DISABLE:', got);
  assert.deepEqual(got.filter((c) => c.startsWith('9091 ')), ['9091 raw_buffer http/1.1,h2c -> http', '9091 raw_buffer -> tcp']);
  assert.equal(got.filter((c) => c.startsWith('9090 ')).length, 5, 'PERMISSIVE chains on 9090');
  assert.deepEqual(got.filter((c) => !/^\d/.test(c)), ['tls istio-http/1.0,istio-http/1.1,istio-h2 +tls-socket -> http', 'tls +tls-socket -> tcp'], 'STRICT for every other port');
  const tls = l.listenerFilters?.find((f) => f.name === 'envoy.filters.listener.tls_inspector');
  assert.deepEqual(tls?.filterDisabled, { orMatch: { rules: [{ destinationPortRange: { start: 9091, end: 9092 } }, { destinationPortRange: { start: 15006, end: 15007 } }] } });
  // Another workload of the namespace is not selected: PERMISSIVE, no port chains, another cache key.
  const api = proxy({ ip: '10.4.0.5', namespace: 'shop', labels: { app: 'api' } });
  assert.equal(passthrough(inbound([wl], api)).filter((c) => /^\d/.test(c)).length, 0);
  assert.notEqual(cacheKey(web, view([wl])), cacheKey(api, view([wl])));
  assert.notEqual(cacheKey(web, view([pa('shop', 'web', 'STRICT', { selector: { app: 'web' } })])), cacheKey(web, view([wl])), 'port-level modes of undeclared ports are part of the key');
});

test('the cache key follows the workload mode, which only the passthrough chains show when no port is declared', () => {
  const bare = proxy({ ip: '10.4.0.99', namespace: 'shop', labels: { app: 'bare' } });
  assert.notEqual(cacheKey(bare, view([pa('istio-system', 'default', 'STRICT')])), cacheKey(bare, view([])));
});
