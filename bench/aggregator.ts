/**
 * bench/aggregator: one `istio.io/debug/syncz` through `isthmus xds-proxy` (a child process, TLS,
 * fan-out to every replica, merge) versus the same request to one replica directly, for 2 and 4
 * replicas with 1,000 simulated proxies each; and the proxy's memory (RSS of its process) during
 * the call.
 *
 *   node bench/aggregator.ts [--proxies 1000] [--replicas 2,4] [--iterations 15]
 *
 * Replicas are AdsServers in this process (plaintext, debug auth off: the figure is the proxy's cost,
 * not token review's). Each simulated proxy is a real ADS stream that subscribed to CDS and ACKed.
 * Bounded: the whole run stops after 5 minutes.
 */
import { readFileSync } from 'node:fs';
import { ServerCredentials, credentials } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { AdsServer } from '../src/xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../src/xds/server/grpc.ts';
import { xdsMetrics } from '../src/xds/server/metrics.ts';
import type { PreparedGenerator } from '../src/xds/server/types.ts';
import type { MeshView } from '../src/model/mesh-view.ts';
import { silentLogger } from '../src/observability/log.ts';
import { AdsTestClient } from '../src/testing/ads-client.ts';
import { clusterCodec, encodeAnyRaw } from '../src/proto/codec.ts';
import { CLUSTER_TYPE_URL as CDS, DEBUG_SYNCZ_TYPE_URL } from '../src/model/type-urls.ts';
import { XdsProxyProcess } from '../src/testing/aggregator/processes.ts';
import { SKIP_VERIFY } from '../src/xds/client/transport.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] ?? dflt : dflt; };
const PROXIES = Number(arg('proxies', '1000'));
const REPLICA_COUNTS = arg('replicas', '2,4').split(',').map(Number);
const ITERATIONS = Number(arg('iterations', '15'));
const STREAMS_PER_CONNECTION = 250;

setTimeout(() => { process.stderr.write('bench/aggregator: time limit (5 min) reached\n'); process.exit(2); }, 300_000).unref();

const view = (): MeshView => ({
  version: 'v1', mesh: { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' },
  services: () => [], service: () => undefined, endpoints: () => [], gateways: () => [], istioGateways: () => [], destinationRules: () => [],
});
const clusters = Array.from({ length: 5 }, (_, i) => ({ name: `outbound|80||svc-${i}.ns.svc.cluster.local`, any: encodeAnyRaw(CDS, clusterCodec.encode({ name: `outbound|80||svc-${i}.ns.svc.cluster.local`, type: 'EDS' })) }));
const cds: PreparedGenerator = { typeUrl: CDS, cacheKey: () => '', generate: () => clusters };

interface Replica { ads: AdsServer; bound: BoundServer; address: string }

async function startReplica(i: number): Promise<Replica> {
  const ads = new AdsServer({
    generators: (_p, t) => (t === CDS ? cds : undefined), view, controlPlaneId: `istiod-${i}`, controlPlaneVersion: 'bench',
    systemNamespace: 'istio-system', debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 100, log: silentLogger,
    metrics: xdsMetrics(new Registry()), debugAuth: false, identityCheck: false,
  });
  const bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  return { ads, bound, address: `127.0.0.1:${bound.port}` };
}

async function connectProxies(r: Replica, replicaIndex: number, n: number): Promise<AdsTestClient[]> {
  const out: AdsTestClient[] = [];
  for (let start = 0; start < n; start += 200) {
    const batch = Array.from({ length: Math.min(200, n - start) }, (_, k) => {
      const i = start + k;
      const c = new AdsTestClient({
        address: r.address, nodeId: `sidecar~10.${replicaIndex}.${Math.floor(i / 250)}.${i % 250}~app-${replicaIndex}-${i}.ns${i % 20}~ns${i % 20}.svc.cluster.local`,
        metadata: { NAMESPACE: `ns${i % 20}`, CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} },
        // Separate channel options make grpc-js open one connection per STREAMS_PER_CONNECTION streams.
        channelOptions: { 'isthmus.bench.shard': `${replicaIndex}-${Math.floor(i / STREAMS_PER_CONNECTION)}` },
      });
      out.push(c);
      return c;
    });
    await Promise.all(batch.map(async (c) => { c.ack(await c.request(CDS, [], 30_000)); }));
  }
  return out;
}

function rssKb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function timeSyncz(c: AdsTestClient, expected: number): Promise<number> {
  const t0 = performance.now();
  const r = await c.request(DEBUG_SYNCZ_TYPE_URL, [], 30_000);
  const ms = performance.now() - t0;
  const got = (r.resources ?? []).length;
  if (got !== expected) throw new Error(`syncz answered ${got} proxies, expected ${expected}`);
  return ms;
}

async function run(replicaCount: number): Promise<void> {
  const replicas = await Promise.all(Array.from({ length: replicaCount }, (_, i) => startReplica(i)));
  const t0 = Date.now();
  const proxies = (await Promise.all(replicas.map((r, i) => connectProxies(r, i, PROXIES)))).flat();
  const connectMs = Date.now() - t0;
  const proxy = await XdsProxyProcess.start(['--plaintext-upstream', '--replica-timeout', '30s', ...replicas.flatMap((r, i) => ['--replica', `istiod-${i}=${r.address}`])]);
  const node = { GENERATOR: 'event', NAMESPACE: 'istio-system', SERVICE_ACCOUNT: 'default' };
  const direct = new AdsTestClient({ address: replicas[0]?.address ?? '', nodeId: 'sidecar~10.9.9.9~test-1.default~default.svc.cluster.local', metadata: node });
  const via = new AdsTestClient({
    address: `127.0.0.1:${proxy.port}`, nodeId: 'sidecar~10.9.9.9~test-1.default~default.svc.cluster.local', metadata: node,
    credentials: credentials.createSsl(null, null, null, SKIP_VERIFY), channelOptions: { 'grpc.ssl_target_name_override': 'xds-proxy' },
    headers: { authorization: 'Bearer bench-token-not-checked-by-replicas' },
  });
  try {
    await timeSyncz(direct, PROXIES);
    await timeSyncz(via, PROXIES * replicaCount);
    const idleKb = rssKb(proxy.pid);
    const directMs: number[] = [];
    const viaMs: number[] = [];
    let peakKb = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      directMs.push(await timeSyncz(direct, PROXIES));
      const sampler = setInterval(() => { peakKb = Math.max(peakKb, rssKb(proxy.pid)); }, 2);
      try {
        viaMs.push(await timeSyncz(via, PROXIES * replicaCount));
      } finally {
        clearInterval(sampler);
      }
      peakKb = Math.max(peakKb, rssKb(proxy.pid));
    }
    const d = median(directMs);
    const v = median(viaMs);
    process.stdout.write(
      `${replicaCount} replicas x ${PROXIES} proxies (connected in ${connectMs} ms): ` +
      `syncz direct to one replica ${d.toFixed(1)} ms (${PROXIES} proxies), through xds-proxy ${v.toFixed(1)} ms (${PROXIES * replicaCount} proxies), ` +
      `ratio ${(v / d).toFixed(2)}; per proxy ${(d / PROXIES * 1000).toFixed(1)} us direct vs ${(v / (PROXIES * replicaCount) * 1000).toFixed(1)} us through the proxy; ` +
      `xds-proxy RSS idle ${(idleKb / 1024).toFixed(1)} MiB, peak during calls ${(peakKb / 1024).toFixed(1)} MiB (medians of ${ITERATIONS})\n`,
    );
  } finally {
    direct.close();
    via.close();
    await proxy.stop();
    for (const p of proxies) p.close();
    for (const r of replicas) { r.ads.close(); await r.bound.close(); }
  }
}

for (const n of REPLICA_COUNTS) await run(n);
process.exit(0);
