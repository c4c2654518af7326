/**
 * Slow but healthy readers against the xDS send timeout, printed (not a test):
 * `node bench/slow-readers.ts [proxies=1000] [timeouts=2s,10s,30s]`.
 *
 * The real AdsServer (in this process) answers every proxy's CDS request with about 1 MB, as a new
 * Service does in a large mesh; the simulated proxies are grpc-js clients, each on its own TCP
 * connection, all in ONE child process sharing the machine's cores, so they read slowly (decoding is
 * CPU-bound) but steadily. Per send timeout it prints how many streams the server ended as stuck
 * (`pilot_xds_write_timeout`) and how many proxies got their config, and when.
 */
import { fork } from 'node:child_process';
import { ServerCredentials } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { parseDuration } from '../src/model/duration.ts';
import type { MeshView } from '../src/model/mesh-view.ts';
import { CLUSTER_TYPE_URL as CDS } from '../src/model/type-urls.ts';
import { silentLogger } from '../src/observability/log.ts';
import { clusterCodec, encodeAnyRaw } from '../src/proto/codec.ts';
import { AdsTestClient } from '../src/testing/ads-client.ts';
import { AdsServer } from '../src/xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer } from '../src/xds/server/grpc.ts';
import { xdsMetrics } from '../src/xds/server/metrics.ts';
import type { PreparedGenerator } from '../src/xds/server/types.ts';

const CLUSTERS = 1000;

interface ClientResult { readonly ok: number; readonly failed: number; readonly p50: number; readonly max: number }

/** Child role: `n` proxies ask for CDS at once; reports how many got all of it and when. */
async function clients(port: number, n: number): Promise<ClientResult> {
  const t0 = Date.now();
  const times: number[] = [];
  let failed = 0;
  const cs: AdsTestClient[] = [];
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const c = new AdsTestClient({
      address: `127.0.0.1:${port}`, nodeId: `sidecar~10.2.${Math.floor(i / 250)}.${(i % 250) + 1}~p-${i}.ns~ns.svc.cluster.local`,
      metadata: { NAMESPACE: 'ns', CLUSTER_ID: 'c1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} }, channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    });
    cs.push(c);
    try {
      const r = await c.request(CDS, [], 300_000);
      if ((r.resources?.length ?? 0) === CLUSTERS) times.push(Date.now() - t0); else failed++;
    } catch {
      failed++;
    }
  }));
  for (const c of cs) c.close();
  times.sort((a, b) => a - b);
  return { ok: times.length, failed, p50: times[Math.floor(times.length / 2)] ?? NaN, max: times.at(-1) ?? NaN };
}

const view = (): MeshView => ({
  version: 'v1', mesh: { trustDomain: 'cluster.local', domainSuffix: 'cluster.local' },
  services: () => [], service: () => undefined, endpoints: () => [], gateways: () => [], istioGateways: () => [], destinationRules: () => [],
});
const pad = 'x'.repeat(1000);
const cds: PreparedGenerator = {
  typeUrl: CDS,
  cacheKey: () => 'all',
  generate: () => Array.from({ length: CLUSTERS }, (_, i) => {
    const name = `outbound|80||svc-${i}-${pad}.ns.svc.cluster.local`;
    return { name, any: encodeAnyRaw(CDS, clusterCodec.encode({ name, type: 'EDS' })) };
  }),
};

/** One round: a fresh server with `timeoutMs`, `n` proxies in a child process. */
async function round(n: number, timeoutMs: number): Promise<{ ended: number } & ClientResult> {
  const metrics = xdsMetrics(new Registry());
  const ads = new AdsServer({
    generators: (_p, t) => (t === CDS ? cds : undefined), view, controlPlaneId: 'bench', controlPlaneVersion: '0',
    systemNamespace: 'istio-system', debounceAfterMs: 0, debounceMaxMs: 0, pushThrottle: 100, log: silentLogger, metrics,
    debugAuth: false, identityCheck: true, sendTimeoutMs: timeoutMs,
  });
  const bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
  try {
    const child = fork(new URL(import.meta.url).pathname, ['--clients', String(bound.port), String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise<ClientResult>((resolve, reject) => {
      child.once('message', (m) => { resolve(m as ClientResult); });
      child.once('exit', (code) => { reject(new Error(`client process exited (${code})`)); });
    });
    const ended = (await metrics.writeTimeouts.get()).values[0]?.value ?? 0;
    return { ended, ...result };
  } finally {
    ads.close();
    await bound.close();
  }
}

if (process.argv[2] === '--clients') {
  const r = await clients(Number(process.argv[3]), Number(process.argv[4]));
  process.send?.(r, () => { process.exit(0); });
} else {
  const n = Number(process.argv[2] ?? 1000);
  const timeouts = (process.argv[3] ?? '2s,10s,30s').split(',').map((d) => parseDuration(d, 'timeouts'));
  console.log(`${n} proxies, ${CLUSTERS} clusters (about 1 MB) each, one client process`);
  console.log('| send timeout | streams ended | proxies with config | p50 / max (ms) |');
  console.log('| --- | --- | --- | --- |');
  for (const t of timeouts) {
    const r = await round(n, t);
    console.log(`| ${t / 1000}s | ${r.ended} | ${r.ok} of ${n} | ${r.p50} / ${r.max} |`);
  }
}
