/** EDS under PeerAuthentication DISABLE: the workload's endpoints count as plaintext (docs/istio-compat.md §13). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerAuthentication } from '../../model/mesh-view.ts';
import { clusterLoadAssignmentCodec } from '../../proto/codec.ts';
import { generate } from './eds.ts';
import { ep, fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';

const web = svc({ name: 'web', namespace: 'shop', ports: [{ name: 'http-web', port: 80, protocol: 'HTTP' }] });

function disable(portLevel: boolean): PeerAuthentication {
  return {
    name: 'web', namespace: 'shop', inRootNamespace: false, selector: { app: 'web' },
    mode: portLevel ? 'UNSET' : 'DISABLE', portLevelMtls: portLevel ? [{ port: 9080, mode: 'DISABLE' }] : [], creationTimestamp: '2026-01-01T00:00:00Z',
  };
}

/** `<address> <tlsMode or plaintext>` of every endpoint of `name`. */
function endpoints(pas: PeerAuthentication[], name: string, targetPort = 9080): string[] {
  const view = fakeMeshView({
    services: [web],
    endpoints: [
      ep({ service: web, address: '10.4.0.5', port: targetPort, labels: { app: 'web' } }),
      ep({ service: web, address: '10.4.0.6', port: targetPort, labels: { app: 'api' } }),
    ],
    peerAuthentications: pas,
  });
  const [cla] = roundTrip(clusterLoadAssignmentCodec, generate(proxy({ namespace: 'shop' }), view, [name]));
  return (cla?.endpoints ?? []).flatMap((g) => g.lbEndpoints ?? []).map((e) =>
    `${e.endpoint?.address?.socketAddress?.address ?? ''} ${e.metadata?.filterMetadata?.['envoy.transport_socket_match']?.fields?.['tlsMode']?.stringValue ?? 'plaintext'}`).sort();
}

const OUT = 'outbound|80||web.shop.svc.cluster.local';
const SNI = 'outbound_.80_._.web.shop.svc.cluster.local';

test('a workload under DISABLE gets no tlsMode metadata (clients send plaintext) and no SNI-DNAT (gateway) endpoint', () => {
  assert.deepEqual(endpoints([], OUT), ['10.4.0.5 istio', '10.4.0.6 istio']);
  const got = endpoints([disable(false)], OUT);
  console.log('DISABLE on app=web:', got);
  assert.deepEqual(got, ['10.4.0.5 plaintext', '10.4.0.6 istio']);
  assert.deepEqual(endpoints([disable(false)], SNI), ['10.4.0.6 istio']);
});

test('a port-level DISABLE applies only to endpoints on that target port', () => {
  assert.deepEqual(endpoints([disable(true)], OUT, 9080), ['10.4.0.5 plaintext', '10.4.0.6 istio']);
  assert.deepEqual(endpoints([disable(true)], OUT, 9090), ['10.4.0.5 istio', '10.4.0.6 istio']);
});
