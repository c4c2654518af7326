/**
 * An endpoint-only change through the in-process control plane (src/testing/fake-discovery.ts):
 * Kubernetes objects go through the real registry and config watcher, and the real AdsServer and
 * generators answer over grpc-js, with the debouncer holding the change until the test flushes it
 * (no wall clock): a proxy watching the changed service gets only EDS, and no CDS, LDS or RDS is
 * regenerated, neither for a proxy that asks while the change waits in the debouncer nor for one
 * that connects after the push.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, ROUTE_CONFIGURATION_TYPE_URL as RDS,
} from '../../model/type-urls.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../proto/codec.ts';
import type { DiscoveryResponse } from '../../proto/types.ts';
import type { AdsTestClient } from '../../testing/ads-client.ts';
import { FakeDiscovery } from '../../testing/fake-discovery.ts';
import { destinationRule, endpointSlice, pod, service } from '../../testing/kube-objects.ts';

const HTTP: readonly (readonly [number, string])[] = [[80, 'http']];
const nA = 'outbound|80||a.default.svc.cluster.local';
/** Service `name` with one endpoint, pod `<name>-<ip>` at `ip`. */
const backend = (name: string, vip: string, ip: string) => [
  service(name, 'default', vip, HTTP), pod(`${name}-${ip}`, 'default', ip), endpointSlice(name, 'default', [{ ip, pod: `${name}-${ip}` }], HTTP),
];

let d: FakeDiscovery;

before(async () => {
  d = await FakeDiscovery.start({ clusters: [{ id: 'cluster1', network: 'network1', objects: [...backend('a', '10.96.0.1', '10.0.0.1'), ...backend('b', '10.96.0.2', '10.0.0.2')] }] });
});

after(async () => {
  await d.close();
});

const short = (t: string | undefined) => (t ?? '').split('.').pop() ?? '';
const addressesIn = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(clusterLoadAssignmentCodec, a))
  .map((la) => [la.clusterName, la.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.address]);
const pushesSeen = () => d.pushes.map((p) => `${p.full ? 'full' : 'eds'} ${[...p.reasons].join('+')} ${[...p.hostnames].join(',')}`);

/** A sidecar (not an endpoint of anything) watching CDS, EDS of a, LDS and RDS `80`, as Envoy does, each ACKed. */
function sidecar(id: string): Promise<AdsTestClient> {
  return d.sidecar(id, [[CDS, []], [EDS, [nA]], [LDS, []], [RDS, ['80']]]);
}

/** Every response that arrives within `ms` (ACKed), as `<type> <payload>`. */
async function received(c: AdsTestClient, ms = 300): Promise<string[]> {
  return (await d.received(c, ms))
    .map((r) => `${short(r.typeUrl)} ${r.typeUrl === EDS ? JSON.stringify(addressesIn(r)) : String(r.resources?.length ?? 0)}`);
}

/** `name`'s endpoint moves to a new pod at `ip` (the pod first, then its slice: as the endpoints controller does). */
function move(name: string, ip: string): void {
  d.apply('cluster1', pod(`${name}-${ip}`, 'default', ip), endpointSlice(name, 'default', [{ ip, pod: `${name}-${ip}` }], HTTP));
}

test('an endpoint-only change of a sends only EDS to a proxy watching a, and regenerates no CDS, LDS or RDS', async () => {
  const watching = await sidecar('11');
  d.clearCalls();

  // a's endpoint moves; the change waits in the debouncer while another proxy of the same class connects.
  move('a', '10.0.9.1');
  assert.deepEqual(pushesSeen(), ['eds endpoint a.default.svc.cluster.local'], 'the slice update asks for an EDS push of a, the pod alone for nothing');
  const early = await sidecar('12');
  const duringWindow = [...d.calls];
  await d.flush();

  const got = await received(watching);
  const gotEarly = await received(early);
  const late = await sidecar('13');
  console.log(`proxy watching a received: ${JSON.stringify(got)}; one that connected while the change waited: ${JSON.stringify(gotEarly)}`);
  console.log(`generator calls after the first proxy synced: ${JSON.stringify(d.calls)}`);
  assert.deepEqual(got, [`ClusterLoadAssignment ${JSON.stringify([[nA, '10.0.9.1']])}`], 'only the new load assignment of a: no CDS, LDS or RDS');
  assert.deepEqual(gotEarly, got, 'the proxy that connected during the debounce got the same single EDS push');
  assert.deepEqual(duringWindow, [`ClusterLoadAssignment ${nA}`], "a proxy asking while the change waits gets a's new assignment, everything else from the cache");
  assert.deepEqual(d.calls, duringWindow, "a's assignment regenerated once, and nothing else: not for the push, nor for the proxy connecting after it");
  assert.deepEqual(await received(late), [], 'nothing more for the late proxy');
});

test('a proxy whose own endpoint appears gets CDS and LDS again (its inbound clusters and listeners), once', async () => {
  const self = await sidecar('77');
  move('b', '10.1.0.77');
  await d.flush();
  const got = await received(self);
  console.log(`proxy that became an endpoint of b received: ${JSON.stringify(got)}`);
  assert.deepEqual(got.map((g) => g.split(' ')[0]), ['Cluster', 'Listener'], 'CDS and LDS (it watches a, not b: no EDS)');
});

test('a new Service sends CDS, LDS and RDS but no load assignment of an unchanged service; a config change sends them all', async () => {
  const p = await sidecar('88');
  d.clearCalls();
  d.apply('cluster1', ...backend('c', '10.96.0.3', '10.0.0.3'));
  await d.flush();
  const got = (await received(p)).map((g) => g.split(' ')[0]);
  console.log(`proxy watching a, after service c was added: ${JSON.stringify(got)}; pushes asked for: ${JSON.stringify(pushesSeen())}`);
  assert.deepEqual(got, ['Cluster', 'Listener', 'RouteConfiguration'], "no EDS: a's assignment did not change (the proxy asks for c's after CDS)");

  d.apply('cluster1', destinationRule('b', 'default', 'b', {}));
  await d.flush();
  assert.deepEqual((await received(p)).map((g) => g.split(' ')[0]), ['Cluster', 'ClusterLoadAssignment', 'Listener', 'RouteConfiguration'], 'a config change may change any assignment');
});
