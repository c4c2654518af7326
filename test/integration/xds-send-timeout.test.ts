/**
 * Issue 14: the send timeout ends stuck xDS streams, never a slow reader that is making progress.
 * The real AdsServer over real grpc-js (loopback HTTP/2) with a 2 s PILOT_XDS_SEND_TIMEOUT; a CDS
 * generator answers "big-" proxies with about 3 MB in one response, others with a few clusters. Raw
 * node:http2 clients, each on its own connection as each Envoy is: one reads that response slowly
 * (about 3 timeouts in all, never pausing long), one never reads; a grpc-js sidecar measures how long
 * a small request takes before and while they run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { ServerCredentials, status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { AdsServer } from '../../src/xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../../src/xds/server/grpc.ts';
import { xdsMetrics } from '../../src/xds/server/metrics.ts';
import type { PreparedGenerator } from '../../src/xds/server/types.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { silentLogger } from '../../src/observability/log.ts';
import { clusterCodec, discoveryResponseCodec, encodeAnyRaw } from '../../src/proto/codec.ts';
import { structFromJson } from '../../src/proto/wkt.ts';
import { CLUSTER_TYPE_URL as CDS } from '../../src/model/type-urls.ts';
import type { MeshView } from '../../src/model/mesh-view.ts';
import { ADS_PATH, grpcFrame, stuckStream } from '../adversarial/xds-h2.ts';

const TIMEOUT_MS = 2000;
const GRACE_MS = 1000;
const BIG_CLUSTERS = 3000;
const SLOW_RATE = 500 * 1024; // bytes per second the slow reader takes
const pad = 'x'.repeat(1000);

const view = (): MeshView => ({
  version: 'v1', mesh: { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' },
  services: () => [], service: () => undefined, endpoints: () => [], gateways: () => [], istioGateways: () => [], destinationRules: () => [],
});
const big = (pod: string) => pod.startsWith('big-');
const cds: PreparedGenerator = {
  typeUrl: CDS,
  cacheKey: (p) => (big(p.podName) ? 'big' : 'small'),
  generate: (p) => Array.from({ length: big(p.podName) ? BIG_CLUSTERS : 3 }, (_, i) => {
    const name = `outbound|80||svc-${i}-${big(p.podName) ? pad : ''}.ns.svc.cluster.local`;
    return { name, any: encodeAnyRaw(CDS, clusterCodec.encode({ name, type: 'EDS' })) };
  }),
};

const registry = new Registry();
const metrics = xdsMetrics(registry);
let bound: BoundServer;
let address = '';
const sessions: ClientHttp2Session[] = [];
const clients: AdsTestClient[] = [];

async function session(): Promise<ClientHttp2Session> {
  const s = connect(`http://${address}`);
  sessions.push(s);
  await new Promise<void>((resolve, reject) => { s.once('connect', () => { resolve(); }); s.once('error', reject); });
  s.on('error', () => undefined);
  return s;
}

const nodeOf = (pod: string, ip: string) => ({
  id: `sidecar~${ip}~${pod}.sample~sample.svc.cluster.local`,
  metadata: structFromJson({ NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} }),
});

interface SlowRead {
  readonly bytes: number;
  readonly ms: number;
  readonly longestPauseMs: number;
  readonly clusters: number;
  readonly grpcStatus: string | undefined;
  readonly rstCode: number | undefined;
}

/** Asks for CDS and reads the answer at `rate` bytes/s (pausing the stream, so HTTP/2 flow control holds the server back) until one whole gRPC message arrived. */
async function slowRead(s: ClientHttp2Session, pod: string, rate: number): Promise<SlowRead> {
  const stream = s.request({ [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  stream.write(grpcFrame({ node: nodeOf(pod, '10.1.0.9'), typeUrl: CDS }));
  const t0 = Date.now();
  const chunks: Buffer[] = [];
  let received = 0;
  let longestPauseMs = 0;
  let grpcStatus: string | undefined;
  const seen = (h: Record<string, unknown>) => { const v = h['grpc-status']; if (typeof v === 'string') grpcStatus = v; };
  stream.on('trailers', seen);
  stream.on('response', seen);
  return new Promise<SlowRead>((resolve) => {
    const finish = (clusters: number) => {
      resolve({ bytes: received, ms: Date.now() - t0, longestPauseMs, clusters, grpcStatus, rstCode: stream.closed ? stream.rstCode : undefined });
      stream.close();
    };
    stream.on('data', (d: Buffer) => {
      chunks.push(d);
      received += d.length;
      const all = Buffer.concat(chunks);
      if (all.length >= 5 && all.length >= 5 + all.readUInt32BE(1)) {
        finish(discoveryResponseCodec.decode(all.subarray(5, 5 + all.readUInt32BE(1))).resources?.length ?? 0);
        return;
      }
      const ahead = t0 + (received / rate) * 1000 - Date.now();
      if (ahead > 0) {
        longestPauseMs = Math.max(longestPauseMs, ahead);
        stream.pause();
        setTimeout(() => { stream.resume(); }, ahead);
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => { finish(-1); });
  });
}

let smallCount = 0;
/** How long a new small sidecar (its own connection) waits for its CDS (ms). */
async function smallRequest(): Promise<number> {
  const n = ++smallCount;
  const c = new AdsTestClient({ address, nodeId: nodeOf(`small-${n}`, `10.1.1.${n}`).id, metadata: { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} }, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
  clients.push(c);
  const t0 = Date.now();
  const r = await c.request(CDS);
  c.ack(r);
  return Date.now() - t0;
}

before(async () => {
  const ads = new AdsServer({
    generators: (_p, t) => (t === CDS ? cds : undefined),
    view, controlPlaneId: 'istiod-test-0', controlPlaneVersion: '0.1.0', systemNamespace: 'istio-system',
    debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 10, log: silentLogger, metrics,
    debugAuth: false, identityCheck: true, sendTimeoutMs: TIMEOUT_MS,
  });
  bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  address = `127.0.0.1:${bound.port}`;
});

after(async () => {
  for (const c of clients) c.close();
  for (const s of sessions) s.destroy();
  await bound.close();
});

test('a proxy reading a 3 MB response slowly but steadily is not ended; one that stops reading is; a small proxy is not slowed', async (t) => {
  const baseline = [await smallRequest(), await smallRequest(), await smallRequest()];

  const stuck = stuckStream(await session(), {}, [{ node: nodeOf('big-stuck', '10.1.0.8'), typeUrl: CDS }]);
  const stuckStart = Date.now();
  let stuckEndedAfter = Infinity;
  stuck.stream.on('close', () => { stuckEndedAfter = Date.now() - stuckStart; });
  const slow = slowRead(await session(), 'big-slow', SLOW_RATE);

  await new Promise((r) => setTimeout(r, TIMEOUT_MS / 2));
  const during = [await smallRequest(), await smallRequest(), await smallRequest()];
  const read = await slow;
  t.diagnostic(`slow reader: ${read.bytes} bytes, ${read.clusters} clusters in ${read.ms} ms (send timeout ${TIMEOUT_MS} ms, longest pause ${Math.round(read.longestPauseMs)} ms); grpc-status ${read.grpcStatus ?? 'none'}, rst ${read.rstCode ?? 'none'}`);
  assert.equal(read.clusters, BIG_CLUSTERS, 'the slow reader receives the whole response');
  assert.ok(read.bytes > 3_000_000);
  assert.ok(read.ms > 2 * TIMEOUT_MS, 'reading it took longer than the send timeout (else this test proves nothing)');
  assert.equal(read.grpcStatus, undefined, 'and its stream was not ended');

  while (!stuck.closed && Date.now() - stuckStart < 30_000) await new Promise((r) => setTimeout(r, 20));
  t.diagnostic(`stuck reader ended ${stuckEndedAfter} ms after its request (timeout ${TIMEOUT_MS} ms, grace ${GRACE_MS} ms): grpc-status ${stuck.grpcStatus ?? 'none'}, rst ${stuck.rstCode ?? 'none'}`);
  assert.ok(stuck.closed, 'a proxy that reads nothing is ended');
  assert.ok(stuck.grpcStatus === status.DEADLINE_EXCEEDED || stuck.rstCode === constants.NGHTTP2_CANCEL, 'with DEADLINE_EXCEEDED, or reset when the status cannot get through');
  // Load-tolerant: 1.25 timeouts between progress checks, the grace, and slack for a busy machine.
  assert.ok(stuckEndedAfter >= TIMEOUT_MS && stuckEndedAfter <= 1.25 * TIMEOUT_MS + GRACE_MS + 5000, `ended within the timeout plus grace (${stuckEndedAfter} ms)`);
  const timeouts = (await metrics.writeTimeouts.get()).values[0]?.value ?? 0;
  t.diagnostic(`pilot_xds_write_timeout ${timeouts}`);
  assert.equal(timeouts, 1, 'only the stuck stream counts as a write timeout');

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? Infinity;
  t.diagnostic(`small proxy's CDS request (ms): baseline ${baseline.join(', ')}; while the big ones read slowly or not at all ${during.join(', ')}`);
  assert.ok(med(during) <= Math.max(5 * med(baseline), med(baseline) + 1000), 'other proxies are not slowed');
});
