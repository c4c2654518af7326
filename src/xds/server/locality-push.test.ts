/**
 * Locality failover through the in-process control plane (src/testing/fake-discovery.ts): real
 * registry, config watcher, AdsServer and generators over grpc-js, pushes released by the test.
 * Load assignment priorities follow the proxy's place, which comes from its own pod's endpoint: when
 * an endpoint-only push moves that endpoint (another service's), every assignment the proxy watches
 * is sent again, and no CDS, LDS or RDS is regenerated for it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS } from '../../model/type-urls.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../proto/codec.ts';
import type { DiscoveryResponse } from '../../proto/types.ts';
import { FakeDiscovery } from '../../testing/fake-discovery.ts';
import { endpointSlice, pod, service } from '../../testing/kube-objects.ts';

/** A Kubernetes object as the harness takes it. */
type KubeObject = Parameters<FakeDiscovery['apply']>[1];

const HTTP: readonly (readonly [number, string])[] = [[80, 'http']];
const nA = 'outbound|80||a.default.svc.cluster.local';
const node = (name: string, region: string, zone: string): KubeObject =>
  ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'topology.kubernetes.io/region': region, 'topology.kubernetes.io/zone': zone } } });
/** Service `client` whose endpoint is the proxy's pod (`p77`, 10.1.0.77 by the harness's naming). */
const clientAt = (podName: string, nodeName: string): KubeObject[] => [
  pod(podName, 'default', '10.1.0.77', { nodeName }), endpointSlice('client', 'default', [{ ip: '10.1.0.77', pod: podName }], HTTP),
];

/** Outlier detection alone: the mesh-default locality failover applies to a. */
const outlierRule: KubeObject & { spec: unknown } = {
  apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'a', namespace: 'default' },
  spec: { host: 'a.default.svc.cluster.local', trafficPolicy: { outlierDetection: { consecutive5xxErrors: 3 } } },
};

let d: FakeDiscovery;

before(async () => {
  d = await FakeDiscovery.start({
    clusters: [{
      id: 'cluster1', network: 'network1',
      objects: [
        node('node-a', 'region1', 'zone1'), node('node-b', 'region2', 'zone1'),
        service('a', 'default', '10.96.0.1', HTTP), pod('a-1', 'default', '10.0.0.1', { nodeName: 'node-a' }), pod('a-2', 'default', '10.0.0.2', { nodeName: 'node-b' }),
        endpointSlice('a', 'default', [{ ip: '10.0.0.1', pod: 'a-1' }, { ip: '10.0.0.2', pod: 'a-2' }], HTTP),
        service('client', 'default', '10.96.0.9', HTTP), ...clientAt('p77', 'node-a'),
        outlierRule,
      ],
    }],
  });
});

after(async () => {
  await d.close();
});

/** `address:priority` of every endpoint of a's assignment in an EDS response. */
const priorities = (r: DiscoveryResponse | undefined): string[] => (r?.resources ?? []).map((x) => unpackAny(clusterLoadAssignmentCodec, x))
  .filter((la) => la.clusterName === nA)
  .flatMap((la) => (la.endpoints ?? []).flatMap((g) => (g.lbEndpoints ?? []).map((e) => `${e.endpoint?.address?.socketAddress?.address ?? ''}:${g.priority ?? 0}`)))
  .sort();

test('a proxy whose own pod moves to another region gets a\'s assignment again with priorities from its new place', async () => {
  const c = await d.sidecar('77', [[CDS, []], [LDS, []]]);
  d.resubscribe(c, EDS, [nA]);
  const first = (await d.received(c)).find((r) => r.typeUrl === EDS);
  console.log(`proxy in region1/zone1: ${JSON.stringify(priorities(first))}`);
  assert.deepEqual(priorities(first), ['10.0.0.1:0', '10.0.0.2:1'], 'same zone first, the other region next');

  // The pod is replaced by one on node-b (same IP): only service `client`'s endpoints change.
  d.clearCalls();
  d.apply('cluster1', ...clientAt('p77-new', 'node-b'));
  await d.flush();
  const got = await d.received(c);
  const types = got.map((r) => (r.typeUrl ?? '').split('.').pop());
  const eds = got.find((r) => r.typeUrl === EDS);
  console.log(`after the move: responses ${JSON.stringify(types)}, priorities ${JSON.stringify(priorities(eds))}; generator calls ${JSON.stringify(d.calls)}`);
  assert.deepEqual(priorities(eds), ['10.0.0.1:1', '10.0.0.2:0'], 'region2 first now, though a\'s endpoints did not change');
  assert.ok(types.every((t) => t === 'ClusterLoadAssignment'), 'only EDS: the move changed no cluster or listener of this proxy');
});
