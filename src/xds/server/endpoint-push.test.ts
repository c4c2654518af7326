/**
 * An endpoint-only change through the real AdsServer, generators and in-process grpc-js
 * (src/testing/pipeline.ts), with the debouncer holding the change until the test flushes it (no
 * wall clock): a proxy watching the changed service gets only EDS, and no CDS, LDS or RDS is
 * regenerated, neither for a proxy that asks while the change waits in the debouncer nor for one
 * that connects after the push.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MeshView } from '../../model/mesh-view.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, ROUTE_CONFIGURATION_TYPE_URL as RDS,
} from '../../model/type-urls.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../proto/codec.ts';
import type { DiscoveryResponse } from '../../proto/types.ts';
import { endpointPush, fullPush, servicePush } from '../../push/request.ts';
import type { AdsTestClient } from '../../testing/ads-client.ts';
import { Pipeline } from '../../testing/pipeline.ts';
import { ep, fakeMeshView, svc } from '../../testing/mesh/builders.ts';

const A = svc({ name: 'a', ports: [[80, 'HTTP']] });
const B = svc({ name: 'b', ports: [[80, 'HTTP']] });
const nA = `outbound|80||${A.hostname}`;
const C = svc({ name: 'c', ports: [[80, 'HTTP']] });
let services = [A, B];
const addresses = new Map<string, string>([[A.hostname, '10.0.0.1'], [B.hostname, '10.0.0.2'], [C.hostname, '10.0.0.3']]);
let version = 1;
let current: MeshView | undefined;
function view(): MeshView {
  if (current?.version !== `v${version}`) {
    current = fakeMeshView({ version: `v${version}`, services, endpoints: services.map((s) => ep({ service: s, address: addresses.get(s.hostname) ?? '', serviceAccount: 'default' })) });
  }
  return current;
}

let pipeline: Pipeline;
/** Generator calls by type URL (last segment), with the names asked for. */
let calls: string[] = [];

before(async () => {
  pipeline = await Pipeline.start(view);
  calls = pipeline.calls;
});

after(async () => {
  await pipeline.close();
});

const short = (t: string | undefined) => (t ?? '').split('.').pop() ?? '';
const addressesIn = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(clusterLoadAssignmentCodec, a))
  .map((la) => [la.clusterName, la.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.address]);

/** A sidecar (not an endpoint of anything) watching CDS, EDS of a, LDS and RDS `80`, as Envoy does, each ACKed. */
function sidecar(id: string): Promise<AdsTestClient> {
  return pipeline.sidecar(id, [[CDS, []], [EDS, [nA]], [LDS, []], [RDS, ['80']]]);
}

/** Every response that arrives within `ms` (ACKed), as `<type> <payload>`. */
async function received(c: AdsTestClient, ms = 300): Promise<string[]> {
  return (await pipeline.received(c, ms))
    .map((r) => `${short(r.typeUrl)} ${r.typeUrl === EDS ? JSON.stringify(addressesIn(r)) : String(r.resources?.length ?? 0)}`);
}

test('an endpoint-only change of a sends only EDS to a proxy watching a, and regenerates no CDS, LDS or RDS', async () => {
  const watching = await sidecar('11');
  pipeline.clearCalls();

  // a's endpoint moves; the change waits in the debouncer while another proxy of the same class connects.
  addresses.set(A.hostname, '10.0.9.1');
  version++;
  pipeline.push(endpointPush([A.hostname], Date.now()));
  const early = await sidecar('12');
  const duringWindow = [...calls];
  await pipeline.flush();

  const got = await received(watching);
  const gotEarly = await received(early);
  const late = await sidecar('13');
  console.log(`proxy watching a received: ${JSON.stringify(got)}; one that connected while the change waited: ${JSON.stringify(gotEarly)}`);
  console.log(`generator calls after the first proxy synced: ${JSON.stringify(calls)}`);
  assert.deepEqual(got, [`ClusterLoadAssignment ${JSON.stringify([[nA, '10.0.9.1']])}`], 'only the new load assignment of a: no CDS, LDS or RDS');
  assert.deepEqual(gotEarly, got, 'the proxy that connected during the debounce got the same single EDS push');
  assert.deepEqual(duringWindow, [`ClusterLoadAssignment ${nA}`], "a proxy asking while the change waits gets a's new assignment, everything else from the cache");
  assert.deepEqual(calls, duringWindow, "a's assignment regenerated once, and nothing else: not for the push, nor for the proxy connecting after it");
  assert.deepEqual(await received(late), [], 'nothing more for the late proxy');
});

test('a proxy whose own endpoint appears gets CDS and LDS again (its inbound clusters and listeners), once', async () => {
  const self = await sidecar('77');
  addresses.set(B.hostname, '10.1.0.77');
  version++;
  pipeline.push(endpointPush([B.hostname], Date.now()));
  await pipeline.flush();
  const got = await received(self);
  console.log(`proxy that became an endpoint of b received: ${JSON.stringify(got)}`);
  assert.deepEqual(got.map((g) => g.split(' ')[0]), ['Cluster', 'Listener'], 'CDS and LDS (it watches a, not b: no EDS)');
});

test('a new Service sends CDS, LDS and RDS but no load assignment of an unchanged service; a config change sends them all', async () => {
  const p = await sidecar('88');
  services = [A, B, C];
  version++;
  pipeline.push(servicePush([C.hostname], Date.now()));
  await pipeline.flush();
  const got = (await received(p)).map((g) => g.split(' ')[0]);
  console.log(`proxy watching a, after service c was added: ${JSON.stringify(got)}`);
  assert.deepEqual(got, ['Cluster', 'Listener', 'RouteConfiguration'], "no EDS: a's assignment did not change (the proxy asks for c's after CDS)");

  version++;
  pipeline.push(fullPush('config', Date.now()));
  await pipeline.flush();
  assert.deepEqual((await received(p)).map((g) => g.split(' ')[0]), ['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration'], 'a config change may change any assignment');
});
