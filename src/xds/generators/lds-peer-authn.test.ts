/** virtualInbound under PeerAuthentication STRICT / PERMISSIVE / DISABLE, per port (docs/istio-compat.md §13). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MtlsMode, PeerAuthentication } from '../../model/mesh-view.ts';
import { listenerCodec } from '../../proto/codec.ts';
import { cacheKey, generate } from './lds.ts';
import { ep, fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];

function pa(namespace: string, name: string, mode: MtlsMode, more: Partial<PeerAuthentication> = {}): PeerAuthentication {
  return { name, namespace, inRootNamespace: namespace === 'istio-system', selector: {}, mode, portLevelMtls: [], creationTimestamp: '2026-01-01T00:00:00Z', ...more };
}

/** A pod 10.4.0.5 (labels app=web) serving HTTP on 9080 and MySQL on 3306. */
function view(pas: PeerAuthentication[]) {
  const web = svc({ name: 'web', namespace: 'shop', ports: [{ name: 'http-web', port: 80, protocol: 'HTTP' }] });
  const db = svc({ name: 'db', namespace: 'shop', ports: [[3306, 'TCP']] });
  return fakeMeshView({
    services: [web, db],
    endpoints: [ep({ service: web, address: '10.4.0.5', port: 9080 }), ep({ service: db, address: '10.4.0.5' })],
    peerAuthentications: pas,
  });
}

const web = proxy({ ip: '10.4.0.5', namespace: 'shop', labels: { app: 'web' } });

/** Each chain of a declared port as `<port> <transport> [alpns]`, in listener order. */
function chains(pas: PeerAuthentication[], p = web): string[] {
  const [l] = roundTrip(listenerCodec, generate(p, view(pas), ['virtualInbound']));
  const out = (l?.filterChains ?? []).filter((c) => c.filterChainMatch?.transportProtocol !== undefined && c.filterChainMatch.destinationPort !== undefined)
    .map((c) => `${c.filterChainMatch?.destinationPort?.value ?? ''} ${c.filterChainMatch?.transportProtocol ?? ''}${c.filterChainMatch?.applicationProtocols === undefined ? '' : ` ${c.filterChainMatch.applicationProtocols.join(',')}`}${c.transportSocket === undefined ? '' : ' +tls-socket'}`);
  return out;
}

test('PERMISSIVE (no policy, or explicit): mTLS (mesh ALPNs) and plaintext chains per port; other TLS to a TCP port passes through', () => {
  const want = [`3306 tls ${ALPNS.join(',')} +tls-socket`, '3306 tls', '3306 raw_buffer', `9080 tls ${ALPNS.join(',')} +tls-socket`, '9080 raw_buffer'];
  const none = chains([]);
  console.log('no policy:', none);
  assert.deepEqual(none, want);
  assert.deepEqual(chains([pa('istio-system', 'default', 'PERMISSIVE')]), want);
});

test('mesh-wide STRICT: no plaintext chain; the HTTP port\'s mTLS chain takes any ALPN (as istiod)', () => {
  const got = chains([pa('istio-system', 'default', 'STRICT')]);
  console.log('STRICT:', got);
  assert.deepEqual(got, ['3306 tls +tls-socket', '9080 tls +tls-socket']);
});

test('namespace DISABLE: only the plaintext chains', () => {
  assert.deepEqual(chains([pa('istio-system', 'default', 'STRICT'), pa('shop', 'default', 'DISABLE')]), ['3306 raw_buffer', '9080 raw_buffer']);
});

test('workload STRICT with a port-level PERMISSIVE: per port, only for the selected workload', () => {
  const wl = pa('shop', 'web', 'STRICT', { selector: { app: 'web' }, portLevelMtls: [{ port: 3306, mode: 'PERMISSIVE' }] });
  const got = chains([wl]);
  console.log('workload STRICT, 3306 PERMISSIVE:', got);
  assert.deepEqual(got, [`3306 tls ${ALPNS.join(',')} +tls-socket`, '3306 tls', '3306 raw_buffer', '9080 tls +tls-socket']);
  const other = proxy({ ip: '10.4.0.5', namespace: 'shop', labels: { app: 'api' } });
  assert.deepEqual(chains([wl], other), [`3306 tls ${ALPNS.join(',')} +tls-socket`, '3306 tls', '3306 raw_buffer', `9080 tls ${ALPNS.join(',')} +tls-socket`, '9080 raw_buffer']);
});

test('the LDS cache key follows the resolved modes, so proxies under different policies never share listeners', () => {
  const wl = pa('shop', 'web', 'STRICT', { selector: { app: 'web' } });
  const v = view([wl]);
  const other = proxy({ ip: '10.4.0.5', namespace: 'shop', labels: { app: 'api' } });
  assert.notEqual(cacheKey(web, v), cacheKey(other, v));
  assert.notEqual(cacheKey(web, v), cacheKey(web, view([])));
  assert.equal(cacheKey(other, v), cacheKey(other, view([])), 'a policy that does not select the proxy keeps its key');
});
