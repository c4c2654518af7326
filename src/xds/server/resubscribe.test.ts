/**
 * A state-of-the-world subscription that changes its names, through the real AdsServer and generators
 * (src/testing/pipeline.ts): as istiod does, an EDS or RDS subscription that grows is answered with just
 * the new resources (Envoy keeps the others: these types are not state-of-the-world complete), one that
 * only shrinks is not answered, and a wildcard type is always answered in full.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshView } from '../../model/mesh-view.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, ROUTE_CONFIGURATION_TYPE_URL as RDS } from '../../model/type-urls.ts';
import { clusterCodec, clusterLoadAssignmentCodec, routeConfigurationCodec, unpackAny } from '../../proto/codec.ts';
import type { DiscoveryResponse } from '../../proto/types.ts';
import { Pipeline } from '../../testing/pipeline.ts';
import { ep, fakeMeshView, svc } from '../../testing/mesh/builders.ts';

const A = svc({ name: 'a', ports: [[80, 'HTTP']] });
const B = svc({ name: 'b', ports: [[80, 'HTTP']] });
const C = svc({ name: 'c', ports: [[8080, 'HTTP']] });
const [nA, nB, nC] = [A, B, C].map((s) => `outbound|${s.ports[0]?.port ?? 0}||${s.hostname}`) as [string, string, string];
const mesh: MeshView = fakeMeshView({
  version: 'v1', services: [A, B, C],
  endpoints: [A, B, C].map((s, i) => ep({ service: s, address: `10.0.0.${i + 1}`, serviceAccount: 'default' })),
});

let pipeline: Pipeline;
before(async () => { pipeline = await Pipeline.start(() => mesh); });
after(async () => { await pipeline.close(); });

const assignments = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(clusterLoadAssignmentCodec, a).clusterName);
const routes = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(routeConfigurationCodec, a).name);

test('an EDS subscription that grows is answered with only the new assignments; one that shrinks is not answered', async () => {
  const c = await pipeline.sidecar('21', [[CDS, []]]);
  const first = await c.request(EDS, [nA]);
  assert.deepEqual(assignments(first), [nA]);
  pipeline.clearCalls();
  c.ack(first, [nA, nB, nC]);
  const grown = await c.next();
  assert.equal(grown.typeUrl, EDS);
  assert.deepEqual(assignments(grown).sort(), [nB, nC].sort(), 'only the assignments the subscription added');
  assert.ok(!pipeline.calls.some((call) => call.includes(nA)), `a's assignment is not regenerated: ${pipeline.calls.join('; ')}`);
  c.ack(grown, [nB]);
  await assert.rejects(c.next(400), 'a subscription that only lost names gets no response');
  // The stream is still in sync: a later grown subscription is answered from the last nonce.
  c.ack(grown, [nA, nB]);
  assert.deepEqual(assignments(await c.next()), [nA]);
});

test('an RDS subscription that grows is answered with only the new route configuration', async () => {
  const c = await pipeline.sidecar('22', [[CDS, []]]);
  const first = await c.request(RDS, ['80']);
  assert.deepEqual(routes(first), ['80']);
  c.ack(first, ['80', '8080']);
  const grown = await c.next();
  assert.equal(grown.typeUrl, RDS);
  assert.deepEqual(routes(grown), ['8080']);
});

test('a wildcard type is answered in full when its subscription changes', async () => {
  const c = await pipeline.sidecar('23', []);
  const first = await c.request(CDS, [nA]);
  const names = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(clusterCodec, a).name).sort();
  assert.ok(names(first).includes(nA));
  c.ack(first, [nA, nB]);
  const grown = await c.next();
  assert.ok(names(grown).includes(nA) && names(grown).includes(nB), `CDS answered in full: ${names(grown).join(', ')}`);
});
