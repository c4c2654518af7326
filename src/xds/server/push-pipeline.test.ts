/**
 * The push pipeline through the real AdsServer, the real generators and in-process grpc-js: an
 * endpoint change reaches only the proxies that watch the changed service, regenerates only that
 * service's load assignments (once per network view), a full push still reaches everyone, and delta
 * streams get only the changed resources.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, ServerCredentials, credentials, makeGenericClientConstructor, type ClientDuplexStream } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { MeshView } from '../../model/mesh-view.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';
import { silentLogger } from '../../observability/log.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../proto/codec.ts';
import { aggregatedDiscoveryService, ServiceNames } from '../../proto/services.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryResponse } from '../../proto/types.ts';
import { structFromJson } from '../../proto/wkt.ts';
import { endpointPush, fullPush } from '../../push/request.ts';
import { AdsTestClient } from '../../testing/ads-client.ts';
import { generatorLookup } from '../generators/prepared.ts';
import { ep, fakeMeshView, svc } from '../../testing/mesh/builders.ts';
import { AdsServer } from './ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from './grpc.ts';
import { xdsMetrics } from './metrics.ts';
import type { GeneratorLookup } from './types.ts';

const A = svc({ name: 'a', ports: [[80, 'HTTP']] });
const B = svc({ name: 'b', ports: [[80, 'HTTP']] });
const C = svc({ name: 'c', ports: [[80, 'HTTP']] });
const name = (h: string) => `outbound|80||${h}`;
const [nA, nB, nC] = [name(A.hostname), name(B.hostname), name(C.hostname)];

/** Endpoint address per service: what a test changes. */
const addresses = new Map<string, string>([[A.hostname, '10.0.0.1'], [B.hostname, '10.0.0.2'], [C.hostname, '10.0.0.3']]);
let version = 1;
let current: MeshView | undefined;
function view(): MeshView {
  if (current?.version !== `v${version}`) {
    current = fakeMeshView({ version: `v${version}`, services: [A, B, C], endpoints: [A, B, C].map((s) => ep({ service: s, address: addresses.get(s.hostname) ?? '' })) });
  }
  return current;
}
function moveEndpoint(host: string, address: string): void {
  addresses.set(host, address);
  version++;
  ads.push(endpointPush([host], Date.now()));
}

/** Every list of names the EDS generator was asked for, with the proxy's network. */
const edsCalls: { network: string; names: string[] }[] = [];
const real = generatorLookup();
const generators: GeneratorLookup = (proxy, t) => {
  const g = real(proxy, t);
  if (g === undefined || t !== EDS) return g;
  return { ...g, generate: (p, v, names) => { edsCalls.push({ network: p.network, names: names === 'wildcard' ? ['*'] : [...names] }); return g.generate(p, v, names); } };
};

let ads: AdsServer;
let bound: BoundServer;
let address = '';
const closers: (() => void)[] = [];

before(async () => {
  ads = new AdsServer({
    generators, view, controlPlaneId: 'istiod-test-0', controlPlaneVersion: '0.1.0', systemNamespace: 'istio-system',
    debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 10, log: silentLogger, metrics: xdsMetrics(new Registry()),
    debugAuth: false, identityCheck: false,
  });
  bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  address = `127.0.0.1:${bound.port}`;
});

after(async () => {
  for (const c of closers) c();
  ads.close();
  await bound.close();
});

function sotw(id: string, network = 'network1'): AdsTestClient {
  const c = new AdsTestClient({ address, nodeId: `sidecar~10.1.0.${id}~p${id}.default~default.svc.cluster.local`, metadata: { NAMESPACE: 'default', CLUSTER_ID: 'cluster1', NETWORK: network, PROXY_CONFIG: {} } });
  closers.push(() => { c.close(); });
  return c;
}

/** Subscribes to EDS `names` (after CDS, as Envoy does) and ACKs both answers. */
async function watch(c: AdsTestClient, names: readonly string[]): Promise<void> {
  c.ack(await c.request(CDS));
  const e = await c.request(EDS, names);
  assert.equal(e.typeUrl, EDS);
  c.ack(e, names);
}

const assignments = (r: DiscoveryResponse) => (r.resources ?? []).map((a) => unpackAny(clusterLoadAssignmentCodec, a));
const addressesIn = (r: DiscoveryResponse) => assignments(r).map((la) => [la.clusterName, la.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.address]);

test('an endpoint change reaches only the proxies watching that service, regenerating its assignment once per network view', async () => {
  const onlyA = sotw('11');
  const bc = sotw('12');
  const bcToo = sotw('13');
  const abcOther = sotw('14', 'network2');
  await watch(onlyA, [nA]);
  await watch(bc, [nB, nC]);
  await watch(bcToo, [nC, nB]);
  await watch(abcOther, [nA, nB, nC]);

  edsCalls.length = 0;
  moveEndpoint(C.hostname, '10.0.9.3');
  await ads.drained();
  for (const c of [bc, bcToo, abcOther]) {
    const r = await c.next();
    assert.equal(r.typeUrl, EDS);
    assert.deepEqual(addressesIn(r), [[nC, '10.0.9.3']], 'only the changed assignment is sent');
    c.ack(r, c === abcOther ? [nA, nB, nC] : [nB, nC]);
  }
  const calls = edsCalls.map((x) => `${x.network}:${x.names.join(',')}`).sort();
  console.log(`EDS generation for one changed service: ${JSON.stringify(calls)}`);
  assert.deepEqual(calls, [`network1:${nC}`, `network2:${nC}`], 'c is generated once per network view, nothing else is');

  // The proxy that watches only a got nothing: the next thing it receives is a's own change.
  moveEndpoint(A.hostname, '10.0.9.1');
  await ads.drained();
  const r = await onlyA.next();
  assert.deepEqual(addressesIn(r), [[nA, '10.0.9.1']], 'no response (empty or not) for the change of c came first');
  const other = await abcOther.next();
  assert.deepEqual(addressesIn(other), [[nA, '10.0.9.1']]);
  await assert.rejects(bc.next(300), /no DiscoveryResponse/, 'b and c watchers get nothing for a');
});

test('a full push still reaches every proxy with every type it watches', async () => {
  const one = sotw('21');
  const two = sotw('22', 'network2');
  await watch(one, [nA]);
  await watch(two, [nB]);
  version++;
  ads.push(fullPush('config', Date.now()));
  await ads.drained();
  for (const c of [one, two]) {
    const types = [(await c.next()).typeUrl, (await c.next()).typeUrl];
    assert.deepEqual(types, [CDS, EDS], 'CDS then EDS');
  }
});

const DeltaCtor = makeGenericClientConstructor(aggregatedDiscoveryService, ServiceNames.ads);

/** A minimal delta ADS client: sends requests, queues responses. */
function deltaClient(id: string): { send(r: DeltaDiscoveryRequest): void; next(ms?: number): Promise<DeltaDiscoveryResponse> } {
  const client = new DeltaCtor(address, credentials.createInsecure());
  const method = (client as unknown as Record<string, (md: Metadata) => ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>>)['DeltaAggregatedResources'];
  assert.ok(method);
  const stream = method.call(client, new Metadata());
  const queue: DeltaDiscoveryResponse[] = [];
  stream.on('data', (r: DeltaDiscoveryResponse) => { queue.push(r); });
  stream.on('error', () => undefined);
  closers.push(() => { stream.cancel(); client.close(); });
  let first = true;
  return {
    send(r) {
      stream.write(first ? { ...r, node: { id: `sidecar~10.1.0.${id}~d${id}.default~default.svc.cluster.local`, metadata: structFromJson({ NAMESPACE: 'default', CLUSTER_ID: 'cluster1', NETWORK: 'network1', PROXY_CONFIG: {} }) } } : r);
      first = false;
    },
    async next(ms = 5000) {
      const deadline = Date.now() + ms;
      while (queue.length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 5));
      const r = queue.shift();
      if (!r) throw new Error(`no DeltaDiscoveryResponse within ${ms} ms`);
      return r;
    },
  };
}

test('delta streams get only the changed load assignments, and nothing for a service they do not watch', async () => {
  const d = deltaClient('31');
  d.send({ typeUrl: EDS, resourceNamesSubscribe: [nA, nC] });
  const first = await d.next();
  assert.deepEqual((first.resources ?? []).map((r) => r.name).sort(), [nA, nC]);
  d.send({ typeUrl: EDS, responseNonce: first.nonce ?? '' });

  moveEndpoint(B.hostname, '10.0.8.2');
  moveEndpoint(C.hostname, '10.0.8.3');
  await ads.drained();
  const r = await d.next();
  assert.deepEqual((r.resources ?? []).map((x) => x.name), [nC], 'only c, not a, and nothing for b');
  assert.deepEqual(r.removedResources ?? [], []);
  const any = r.resources?.[0]?.resource;
  assert.ok(any);
  const la = unpackAny(clusterLoadAssignmentCodec, any);
  assert.equal(la.endpoints?.[0]?.lbEndpoints?.[0]?.endpoint?.address?.socketAddress?.address, '10.0.8.3');
  await assert.rejects(d.next(300), /no DeltaDiscoveryResponse/);
});
