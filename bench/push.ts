/**
 * bench/push: convergence of endpoint changes to many proxies, against real API servers and a real
 * `isthmus discovery` process. P simulated sidecars (half on network1, half on network2) subscribe
 * to CDS and EDS and ACK every response; E endpoints in S services are spread over two clusters on
 * two networks (an east-west gateway makes EDS split-horizon). Then U EndpointSlice updates are
 * written; for each, convergence = time from the API write to the last proxy receiving (and
 * ACKing) the new load assignment.
 *
 *   node bench/push.ts [--proxies 100] [--endpoints 1000] [--updates 20] [--per-service 10]
 *
 * Prints: time to connect, memory per connected proxy, convergence p50/p99/max, CPU ms per push.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed, type TestbedCluster } from '../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../src/testing/discovery-process.ts';
import { AdsTestClient } from '../src/testing/ads-client.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../src/model/type-urls.ts';
import { clusterCodec, clusterLoadAssignmentCodec, unpackAny } from '../src/proto/codec.ts';
import { runPool } from './lib/pool.ts';
import { load } from './lib/run.ts';
import { cpuSeconds, memory } from './lib/proc.ts';
import { summarize } from './lib/stats.ts';

const { values: args } = parseArgs({ options: {
  proxies: { type: 'string', default: '100' }, endpoints: { type: 'string', default: '1000' },
  updates: { type: 'string', default: '20' }, 'per-service': { type: 'string', default: '10' },
  'timeout-min': { type: 'string', default: '25' },
} });
const P = Number(args.proxies);
const E = Number(args.endpoints);
const U = Number(args.updates);
const PER = Number(args['per-service']);
const S = Math.ceil(E / PER);
const deadline = setTimeout(() => { console.error(`bench/push: overall timeout (${args['timeout-min']} min); stopping`); process.exit(2); }, Number(args['timeout-min']) * 60_000);
deadline.unref();

const log = (m: string) => { process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`); };

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  return { cpuMs: cpuSeconds(pid) * 1000, rssMb: memory(pid).rssMb };
}

async function setup(bed: Testbed): Promise<void> {
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  for (const [c, net] of [[c1, 'network1'], [c2, 'network2']] as const) {
    await c.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': net } } });
    await c.ensureNamespace('sample');
    await c.requestOk('POST', '/api/v1/namespaces/istio-system/services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-eastwestgateway', labels: { 'topology.istio.io/network': net } },
      spec: { type: 'LoadBalancer', selector: { istio: 'eastwestgateway' }, ports: [{ name: 'tls', port: 15443 }] },
    });
    const gw = await c.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as Record<string, unknown>;
    await c.requestOk('PUT', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway/status', { ...gw, status: { loadBalancer: { ingress: [{ ip: net === 'network1' ? '172.18.1.1' : '172.18.2.1' }] } } });
  }
  await c2.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader');
  const token = await c2.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 7200 });
  const kubeconfig = c2.tokenKubeconfig(token, 'cluster2');
  await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'istio-remote-secret-cluster2', labels: { 'istio/multiCluster': 'true' } },
    data: { cluster2: Buffer.from(kubeconfig).toString('base64') },
  });
  // Services exist in both clusters; each cluster holds half of every service's endpoints.
  const started = Date.now();
  const work: { c: TestbedCluster; i: number; side: number }[] = [];
  for (let i = 0; i < S; i++) for (const [side, c] of [c1, c2].entries()) work.push({ c, i, side });
  await runPool(work.map(({ c, i, side }) => async () => {
    await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` },
      spec: { selector: { app: `svc-${i}` }, ports: [{ name: 'http', port: 8080 }] },
    });
    const half = Math.ceil(PER / 2);
    const n = side === 0 ? half : PER - half;
    await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `svc-${i}-a`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: Array.from({ length: n }, (_, k) => ({ addresses: [`10.${10 + side * 10 + Math.floor(i / 250)}.${i % 250}.${k + 1}`], conditions: { ready: true } })),
    });
  }), 32, (done) => { if (done % 500 === 0) log(`created ${done}/${work.length} services+slices`); });
  log(`created ${S} services x 2 clusters, ${E} endpoints in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

interface Sim { client: AdsTestClient; edsAt: Map<string, number>; eds: string[] }

async function connect(addr: string, i: number): Promise<Sim> {
  const net = i % 2 === 0 ? 'network1' : 'network2';
  const client = new AdsTestClient({ address: addr, nodeId: `sidecar~10.${net === 'network1' ? 10 : 20}.250.${i % 250}~p-${i}.sample~sample.svc.cluster.local`, metadata: { NAMESPACE: 'sample', NETWORK: net, CLUSTER_ID: net === 'network1' ? 'cluster1' : 'cluster2', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} } });
  const cds = await client.request(CDS, [], 60_000);
  client.ack(cds);
  const eds = (cds.resources ?? []).map((a) => unpackAny(clusterCodec, a)).filter((c) => c.type === 'EDS').map((c) => c.name ?? '');
  client.send({ typeUrl: EDS, resourceNames: eds });
  const first = await client.next(60_000);
  client.ack(first, eds);
  const sim: Sim = { client, edsAt: new Map(), eds };
  void (async () => {
    for (;;) {
      let r;
      try { r = await client.next(3_600_000); } catch { return; }
      const now = Date.now();
      if (r.typeUrl === EDS) {
        for (const a of r.resources ?? []) sim.edsAt.set(unpackAny(clusterLoadAssignmentCodec, a).clusterName ?? '', now);
        client.ack(r, eds);
      } else {
        client.ack(r);
      }
    }
  })();
  return sim;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-push-'));
  let bed: Testbed | undefined;
  let disc: DiscoveryProcess | undefined;
  const sims: Sim[] = [];
  try {
    bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
    await setup(bed);
    disc = await DiscoveryProcess.start({ kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1', env: {
      PILOT_DEBOUNCE_AFTER: '100ms', POD_NAMESPACE: 'istio-system', ENABLE_DEBUG_ENDPOINT_AUTH: 'false',
      // The simulated proxies share one HTTP/2 connection (grpc-js reuses the channel), so the
      // per-connection stream cap (default 100) would refuse all but the first 100.
      ISTHMUS_XDS_MAX_STREAMS_PER_CONNECTION: String(Math.max(100, P + 10)),
      ...(process.env['BENCH_DISCOVERY_NODE_OPTIONS'] ? { NODE_OPTIONS: process.env['BENCH_DISCOVERY_NODE_OPTIONS'] } : {}) } });
    await disc.ready(120_000);
    const pid = disc.pid;
    if (pid === undefined) throw new Error('discovery has no pid');
    await sleep(1000);
    const base = procStat(pid);
    log(`discovery ready; RSS ${base.rssMb.toFixed(0)} MB before proxies`);
    const t0 = Date.now();
    const addr = disc.grpcAddr;
    await runPool(Array.from({ length: P }, (_, i) => async () => { sims.push(await connect(addr, i)); }), 20);
    const connectS = (Date.now() - t0) / 1000;
    await sleep(2000);
    const connected = procStat(pid);
    const perProxyKb = ((connected.rssMb - base.rssMb) * 1024) / P;
    log(`${P} proxies connected in ${connectS.toFixed(1)} s; RSS ${connected.rssMb.toFixed(0)} MB (${perProxyKb.toFixed(1)} KB per proxy)`);

    const c2 = bed.cluster('cluster2');
    const conv: number[] = [];
    const cpuBefore = procStat(pid).cpuMs;
    for (let u = 0; u < U; u++) {
      const i = (u * 7) % S;
      const name = `outbound|8080||svc-${i}.sample.svc.cluster.local`;
      const slice = await c2.requestOk('GET', `/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/svc-${i}-a`) as { endpoints: { addresses: string[] }[] } & Record<string, unknown>;
      const first = slice.endpoints[0];
      if (first) first.addresses = [`10.99.${u}.${1 + (u % 200)}`];
      for (const s of sims) s.edsAt.delete(name);
      const w0 = Date.now();
      await c2.requestOk('PUT', `/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/svc-${i}-a`, slice);
      const limit = Date.now() + 30_000;
      while (sims.some((s) => !s.edsAt.has(name)) && Date.now() < limit) await sleep(5);
      const missing = sims.filter((s) => !s.edsAt.has(name)).length;
      const last = Math.max(...sims.map((s) => s.edsAt.get(name) ?? Infinity));
      conv.push(last - w0);
      if (missing > 0) log(`update ${u}: ${missing} proxies never received ${name}`);
      await sleep(150);
    }
    const cpuMsPerPush = (procStat(pid).cpuMs - cpuBefore) / U;
    const loadAvg = load();
    const result = {
      proxies: P, endpoints: E, services: S, updates: U,
      connect_s: Number(connectS.toFixed(1)), rss_mb: Number(connected.rssMb.toFixed(0)), kb_per_proxy: Number(perProxyKb.toFixed(1)),
      convergence_ms: (({ p50, p99, max }) => ({ p50, p99, max }))(summarize(conv)), cpu_ms_per_push: Number(cpuMsPerPush.toFixed(1)), loadavg: loadAvg,
    };
    process.stdout.write(`\nbench/push  (${P} proxies x ${E} endpoints, ${S} services, 2 clusters / 2 networks, debounce 100 ms)\n`);
    process.stdout.write(`  connect all proxies        ${result.connect_s} s\n`);
    process.stdout.write(`  memory per proxy           ${result.kb_per_proxy} KB  (discovery RSS ${result.rss_mb} MB)\n`);
    process.stdout.write(`  convergence (write->last)  p50 ${result.convergence_ms.p50} ms  p99 ${result.convergence_ms.p99} ms  max ${result.convergence_ms.max} ms  over ${U} updates\n`);
    process.stdout.write(`  discovery CPU per push     ${result.cpu_ms_per_push} ms\n`);
    process.stdout.write(`  load average               ${loadAvg}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const s of sims) s.client.close();
    await disc?.stop();
    await bed?.down();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
