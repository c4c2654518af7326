import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint } from '../../model/endpoint.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import type { Service } from '../../model/service.ts';
import { ep, fakeMeshView, svc } from '../../testing/mesh/builders.ts';
import { buildInboundIndex, inboundIndexStats, inboundKey, type InboundPort } from './inbound-index.ts';

/** The index as a walk over every endpoint of every service builds it (what it must always equal). */
function reference(view: MeshView): Map<string, InboundPort[]> {
  const byKey = new Map<string, Map<number, InboundPort>>();
  for (const s of view.services()) {
    for (const e of view.endpoints(s.hostname)) {
      for (const sp of s.ports) {
        const port = e.ports[sp.name];
        if (port === undefined || sp.protocol === 'UDP') continue;
        for (const key of [inboundKey(e.address, e.cluster), inboundKey(e.address, '')]) {
          let m = byKey.get(key);
          if (m === undefined) byKey.set(key, m = new Map<number, InboundPort>());
          if (!m.has(port)) m.set(port, { port, protocol: sp.protocol });
        }
      }
    }
  }
  return new Map([...byKey].map(([k, m]) => [k, [...m.values()].sort((a, b) => a.port - b.port)]));
}

/** A view whose endpoint lists are the given arrays (a registry snapshot shares unchanged ones). */
function view(services: readonly Service[], endpoints: ReadonlyMap<string, readonly Endpoint[]>, version: string): MeshView {
  const base = fakeMeshView({ services, version });
  return { ...base, endpoints: (h) => endpoints.get(h) ?? [] };
}

const plain = (e: ReturnType<typeof ep>): Endpoint => {
  const { service: _s, ...rest } = e;
  return rest;
};

test('the inbound index of each new view equals a full walk, and is shared while only readiness changes', () => {
  const a = svc({ name: 'a', ports: [{ name: 'web', port: 80, protocol: 'HTTP' }, [3306, 'TCP']] });
  const b = svc({ name: 'b', ports: [[8080, 'GRPC'], [53, 'UDP']] });
  const aEps = [plain(ep({ service: a, address: '10.0.0.1' })), plain(ep({ service: a, address: '10.0.0.2', port: 9080 }))];
  const bEps = [plain(ep({ service: b, address: '10.0.0.1', cluster: 'cluster2' })), plain(ep({ service: b, address: '10.0.0.3' }))];
  const v1 = view([a, b], new Map([[a.hostname, aEps], [b.hostname, bEps]]), 'v1');
  const i1 = buildInboundIndex(v1);
  assert.deepStrictEqual(i1, reference(v1));

  // 10.0.0.2 is no longer ready: new endpoint objects for a, the same ports: the same index.
  const aNotReady = [aEps[0] as Endpoint, { ...(aEps[1] as Endpoint), healthy: false }];
  const v2 = view([a, b], new Map([[a.hostname, aNotReady], [b.hostname, bEps]]), 'v2');
  const reused = inboundIndexStats.reused;
  const i2 = buildInboundIndex(v2);
  assert.equal(i2, i1, 'a readiness change keeps the index');
  assert.equal(inboundIndexStats.reused, reused + 1);

  // b gets an endpoint at 10.0.0.2: that address now serves a's and b's ports.
  const bMore = [...bEps, plain(ep({ service: b, address: '10.0.0.2' }))];
  const v3 = view([a, b], new Map([[a.hostname, aNotReady], [b.hostname, bMore]]), 'v3');
  const i3 = buildInboundIndex(v3);
  assert.notEqual(i3, i2);
  assert.deepStrictEqual(i3, reference(v3));
  assert.deepStrictEqual(i3.get(inboundKey('10.0.0.2', 'cluster1'))?.map((p) => `${p.port}/${p.protocol}`), ['8080/GRPC', '9080/HTTP']);

  // Another registry's view in between, then a changed Service (port 80 is now TCP), then a host gone.
  const other = fakeMeshView({ services: [a], endpoints: [ep({ service: a, address: '10.0.0.2', port: 7000 })], version: 'x' });
  assert.deepStrictEqual(buildInboundIndex(other), reference(other));
  const aTcp = svc({ name: 'a', ports: [{ name: 'web', port: 80, protocol: 'TCP' }, [3306, 'TCP']] });
  const v4 = view([aTcp, b], new Map([[a.hostname, aNotReady], [b.hostname, bMore]]), 'v4');
  const i4 = buildInboundIndex(v4);
  assert.deepStrictEqual(i4, reference(v4));
  assert.equal(i4.get(inboundKey('10.0.0.1', ''))?.find((p) => p.port === 80)?.protocol, 'TCP');
  const v5 = view([b], new Map([[b.hostname, bMore]]), 'v5');
  assert.deepStrictEqual(buildInboundIndex(v5), reference(v5));
  assert.equal(buildInboundIndex(v5).get(inboundKey('10.0.0.1', 'cluster1')), undefined, 'a\'s address in cluster1 serves nothing now');
  console.log(`inbound index: ${inboundIndexStats.merged} merged, ${inboundIndexStats.reused} reused`);
});
