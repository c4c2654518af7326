/**
 * Registry benchmark (issue 3), printed, not a test:
 *
 *   node_modules/.bin/node bench/registry.ts [--services 1000] [--endpoints 10] [--updates 200]
 *       [--http-updates 50] [--warmup 10] [--namespaces 10] [--concurrency 32] [--pods] [--timeout 900]
 *
 * 1. Starts two real test-bed clusters (cluster1, cluster2) and creates in each `--services` Services
 *    (spread over `--namespaces` namespaces, no selector) with one EndpointSlice each holding
 *    `--endpoints` ready IPv4 addresses (10.x.y.z, nothing dials them); `--concurrency` requests in
 *    flight. The same Service names exist in both clusters, as in a multi-primary mesh: the merged
 *    registry has `--services` hostnames, each with a VIP in both clusters and two endpoint shards.
 *    Pods are not created unless `--pods` (then one Pod per address, with status.podIP, referenced by
 *    the slices' targetRef); without pods every endpoint takes its cluster's network (docs/istio-compat.md §7).
 *    cluster2 is reached through a remote secret in cluster1 (reader service account bound to `view`).
 * 2. Cold sync: a real `isthmus discovery` process against cluster1. Time from the spawn to `/ready`
 *    200, and to both clusters synced with every service and endpoint visible (checked by counting
 *    /debug/registryz and /debug/endpointShardz); CPU seconds (/proc/<pid>/stat) and resident memory
 *    (/proc/<pid>/status) of that process when the sync is seen, before the heavy count check.
 * 3. Update latency, two ways, sequential updates of one address of one EndpointSlice in cluster2:
 *    a. HTTP-visible (`--http-updates`): from the PUT's response until a poll of
 *       /debug/endpointShardz (the whole registry as JSON) contains the new address. Coarse: the poll
 *       itself takes tens of milliseconds; its duration is printed.
 *    b. In-process (`--updates`, after `--warmup` unrecorded ones): discovery is stopped, then a
 *       ShardStore and one KubeRegistry per cluster run in this process against the same clusters; the
 *       latency runs from the PUT's response to the XdsUpdater `endpointsChanged` callback for that host
 *       whose shard holds the new address. The API server sends the watch event and the PUT's response
 *       concurrently, so the event often arrives first: those latencies are negative (kept, not
 *       clamped, so the percentiles stay honest); the latency from sending the PUT is printed too.
 * The run is bounded by `--timeout` seconds overall; the test bed, discovery and informers are torn
 * down on success, failure, timeout and SIGINT/SIGTERM.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeClient } from '../src/kube/client.ts';
import { errorMessage } from '../src/model/errors.ts';
import { clusterId, serviceHostname, type Hostname } from '../src/model/ids.ts';
import { KubeRegistry } from '../src/registry/kube/controller.ts';
import { ShardStore } from '../src/registry/shards.ts';
import { DiscoveryProcess } from '../src/testing/discovery-process.ts';
import { Testbed, type TestbedCluster } from '../src/testing/testbed/testbed.ts';
import { runPool } from './lib/pool.ts';
import { Bench, bounded, intOption, load } from './lib/run.ts';
import { cpuSeconds, memory, type Memory } from './lib/proc.ts';
import { fmt, round, summarize, table, type Summary } from './lib/stats.ts';
import { silentLogger, type Logger } from '../src/observability/log.ts';

// ---------------------------------------------------------------------------------------------
// Options

const { values: opt } = parseArgs({
  options: {
    services: { type: 'string', default: '1000' },
    endpoints: { type: 'string', default: '10' },
    updates: { type: 'string', default: '200' },
    'http-updates': { type: 'string', default: '50' },
    warmup: { type: 'string', default: '10' },
    namespaces: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    pods: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '900' },
    help: { type: 'boolean', default: false },
  },
});

if (opt.help) {
  console.log('usage: node bench/registry.ts [--services 1000] [--endpoints 10] [--updates 200] [--http-updates 50] [--warmup 10] [--namespaces 10] [--concurrency 32] [--pods] [--timeout 900]');
  process.exit(0);
}

const SERVICES = intOption('services', opt.services, 1, 50_000);
const ENDPOINTS = intOption('endpoints', opt.endpoints, 1, 1000);
const UPDATES = intOption('updates', opt.updates, 0, 10_000);
const HTTP_UPDATES = intOption('http-updates', opt['http-updates'], 0, 10_000);
const WARMUP = intOption('warmup', opt.warmup, 0, 1000);
const NAMESPACES = intOption('namespaces', opt.namespaces, 1, 1000);
const CONCURRENCY = intOption('concurrency', opt.concurrency, 1, 1000);
const TIMEOUT_S = intOption('timeout', opt.timeout, 10, 24 * 3600);
const PODS = opt.pods;
if (SERVICES * ENDPOINTS > 600_000) {
  console.error('at most 600,000 endpoints per cluster (address plan)');
  process.exit(64);
}

const CLUSTERS = ['cluster1', 'cluster2'] as const;
const C1 = clusterId('cluster1');
const C2 = clusterId('cluster2');
const SYSTEM_NS = 'istio-system';
const READER_SA = 'istio-reader-service-account';
const PORT = 8080;
const EVENT_TIMEOUT_MS = 15_000;
const SYNC_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------------------------------------
// Output and teardown, whatever happens

const registries: KubeRegistry[] = [];
const bench = new Bench({ name: 'registry', timeoutS: TIMEOUT_S, teardown: async () => { for (const r of registries) await bounded('stop registry', r.stop(), 10_000); } });
const { log, dir, res } = bench;

// ---------------------------------------------------------------------------------------------
// Object plan

const nsOf = (i: number) => `bench-${i % NAMESPACES}`;
const svcOf = (i: number) => `svc-${String(i).padStart(5, '0')}`;
const hostOf = (i: number): Hostname => serviceHostname(svcOf(i), nsOf(i));
const sliceName = (i: number) => `${svcOf(i)}-bench`;
const slicePath = (i: number) => `/apis/discovery.k8s.io/v1/namespaces/${nsOf(i)}/endpointslices/${sliceName(i)}`;

/** A unique seed address per (cluster, service, endpoint): 10.10.x.y in cluster1, 10.20.x.y in cluster2. */
function seedAddress(cluster: number, i: number, j: number): string {
  const n = i * ENDPOINTS + j + 1;
  return `10.${(cluster + 1) * 10 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

/** A unique address for update `k` (10.200.x.y), never a seed address. */
function updateAddress(k: number): string {
  const n = k + 1;
  return `10.${200 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

const podName = (i: number, j: number) => `${svcOf(i)}-${j}`;

interface SliceEndpoint { addresses: string[]; conditions: { ready: boolean }; targetRef?: { kind: string; name: string; namespace: string } }
type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

function sliceBody(cluster: number, i: number): unknown {
  const endpoints: SliceEndpoint[] = [];
  for (let j = 0; j < ENDPOINTS; j++) {
    endpoints.push({
      addresses: [seedAddress(cluster, i, j)], conditions: { ready: true },
      ...(PODS ? { targetRef: { kind: 'Pod', name: podName(i, j), namespace: nsOf(i) } } : {}),
    });
  }
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: sliceName(i), labels: { 'kubernetes.io/service-name': svcOf(i) } },
    addressType: 'IPv4', endpoints, ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
  };
}

/**
 * POST, retried a few times (slow API server); an object already there (an earlier attempt) is fine.
 * Answers the created object, or undefined when it already existed.
 */
async function create(c: TestbedCluster, path: string, body: unknown): Promise<Obj | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await c.requestOk('POST', path, body, true) as Obj | undefined;
      return created?.['kind'] === 'Status' ? undefined : created;
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(250 * attempt);
    }
  }
}

async function createPod(c: TestbedCluster, cluster: number, i: number, j: number): Promise<void> {
  const ns = nsOf(i);
  const name = podName(i, j);
  let pod = await create(c, `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app: svcOf(i), 'security.istio.io/tlsMode': 'istio' } },
    spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'example.invalid/bench:1' }] },
  });
  const ip = seedAddress(cluster, i, j);
  for (let attempt = 1; ; attempt++) {
    try {
      pod ??= await c.requestOk('GET', `/api/v1/namespaces/${ns}/pods/${name}`) as Obj;
      await c.requestOk('PUT', `/api/v1/namespaces/${ns}/pods/${name}/status`, { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
      return;
    } catch (err) {
      if (attempt >= 5) throw err;
      pod = undefined; // e.g. a conflict: read it again
      await sleep(250 * attempt);
    }
  }
}

async function waitDefaultServiceAccounts(c: TestbedCluster): Promise<void> {
  for (let n = 0; n < NAMESPACES; n++) {
    const deadline = Date.now() + 60_000;
    while ((await c.request('GET', `/api/v1/namespaces/bench-${n}/serviceaccounts/default`)).status !== 200) {
      if (Date.now() > deadline) throw new Error(`${c.name}: no default service account in bench-${n} after 60 s`);
      await sleep(100);
    }
  }
}

async function seed(bed: Testbed): Promise<{ objects: number; seconds: number }> {
  const clusters = CLUSTERS.map((n) => bed.cluster(n));
  await Promise.all(clusters.map(async (c) => { for (let n = 0; n < NAMESPACES; n++) await c.ensureNamespace(`bench-${n}`); }));
  if (PODS) await Promise.all(clusters.map(waitDefaultServiceAccounts));
  // Tasks interleaved across clusters, so both fill at the same pace; per service: Service, pods, slice.
  const tasks: (() => Promise<void>)[] = [];
  let objects = 0;
  for (let i = 0; i < SERVICES; i++) {
    clusters.forEach((c, ci) => {
      tasks.push(async () => { await create(c, `/api/v1/namespaces/${nsOf(i)}/services`, {
        apiVersion: 'v1', kind: 'Service', metadata: { name: svcOf(i), labels: { app: svcOf(i) } },
        spec: { ports: [{ name: 'http', port: PORT, protocol: 'TCP' }] },
      }); });
      if (PODS) for (let j = 0; j < ENDPOINTS; j++) tasks.push(() => createPod(c, ci, i, j));
      tasks.push(async () => { await create(c, `/apis/discovery.k8s.io/v1/namespaces/${nsOf(i)}/endpointslices`, sliceBody(ci, i)); });
      objects += 2 + (PODS ? ENDPOINTS : 0);
    });
  }
  const t = performance.now();
  let done = 0;
  const progress = setInterval(() => {
    const s = (performance.now() - t) / 1000;
    log(`  seeding: ${done}/${tasks.length} tasks (${fmt(done / s, 0)}/s), load ${load()}`);
  }, 3000);
  try {
    await runPool(tasks, CONCURRENCY, (d) => { done = d; });
  } finally {
    clearInterval(progress);
  }
  return { objects, seconds: (performance.now() - t) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Remote secret for cluster2, in cluster1

/** System namespaces with network labels, the reader account and its binding, the remote secret. */
async function meshSetup(bed: Testbed): Promise<string> {
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  for (const [c, net] of [[c1, 'network1'], [c2, 'network2']] as const) {
    await c.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SYSTEM_NS, labels: { 'topology.istio.io/network': net } } });
  }
  await c2.bindClusterRole(SYSTEM_NS, READER_SA, 'view', 'istio-reader-bench');
  const token = await c2.mintToken(SYSTEM_NS, READER_SA, { expirationSeconds: 4 * 3600 });
  const kubeconfig = c2.tokenKubeconfig(token, 'cluster2');
  await c1.requestOk('POST', `/api/v1/namespaces/${SYSTEM_NS}/secrets`, {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: 'istio-remote-secret-cluster2', labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': 'cluster2' } },
    data: { cluster2: Buffer.from(kubeconfig).toString('base64') },
  });
  return kubeconfig;
}

// ---------------------------------------------------------------------------------------------
// Updates

/** Service (spread by a prime stride) and endpoint index that update `k` changes. */
function updateTarget(k: number): { i: number; j: number } {
  return { i: (k * 7919 + 13) % SERVICES, j: k % ENDPOINTS };
}

interface Write { readonly sentAt: number; readonly respondedAt: number; readonly host: Hostname; readonly address: string }

/**
 * Changes one address of one slice in cluster2 (`before` runs between the untimed GET and the PUT).
 * The endpoint loses its targetRef: the new address belongs to no pod.
 */
async function writeUpdate(c2: TestbedCluster, k: number, before?: (host: Hostname, address: string) => void): Promise<Write> {
  const { i, j } = updateTarget(k);
  const slice = await c2.requestOk('GET', slicePath(i)) as Obj & { endpoints: SliceEndpoint[] };
  const address = updateAddress(k);
  const endpoints = slice.endpoints.map((e, n) => (n === j ? { addresses: [address], conditions: { ready: true } } : e));
  const host = hostOf(i);
  before?.(host, address);
  const sentAt = performance.now();
  await c2.requestOk('PUT', slicePath(i), { ...slice, endpoints });
  return { sentAt, respondedAt: performance.now(), host, address };
}

// ---------------------------------------------------------------------------------------------
// Phase 2: cold sync of a real discovery process

interface RegistryzEntry { hostname: string; namespace: string; clusterVIPs: Record<string, string[]> }
type Shardz = Record<string, Record<string, { Shards: Record<string, unknown[]> }>>;
interface ClusterzEntry { id: string; syncStatus: string }

interface Counts { services: number; endpoints: number }

async function countVisible(disc: DiscoveryProcess): Promise<Counts> {
  const reg = await disc.json<RegistryzEntry[]>('/debug/registryz');
  const services = reg.filter((s) => s.namespace.startsWith('bench-') && CLUSTERS.every((c) => (s.clusterVIPs[c]?.length ?? 0) > 0)).length;
  const shardz = await disc.json<Shardz>('/debug/endpointShardz');
  let endpoints = 0;
  for (const byNs of Object.values(shardz)) {
    for (const [ns, entry] of Object.entries(byNs)) {
      if (!ns.startsWith('bench-')) continue;
      for (const c of CLUSTERS) endpoints += entry.Shards[c]?.length ?? 0;
    }
  }
  return { services, endpoints };
}

interface ColdSync {
  listeningMs: number;
  readyMs: number;
  syncedMs: number;
  fullMs: number;
  countsFirstCheck: boolean;
  cpuAtReady: number;
  cpuAtSync: number;
  mem: Memory;
  counts: Counts;
}

function isExit(err: unknown): boolean {
  return errorMessage(err).startsWith('discovery exited');
}

async function coldSync(c1: TestbedCluster): Promise<{ disc: DiscoveryProcess; sync: ColdSync }> {
  const disc = await DiscoveryProcess.start({
    kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1',
    env: { POD_NAMESPACE: SYSTEM_NS },
  });
  const start = performance.now(); // spawn() has just returned
  res.disc = disc;
  const pid = disc.pid;
  if (pid === undefined) throw new Error('discovery did not start (no pid)');
  log(`discovery started (pid ${pid}), waiting for /ready and both clusters synced`);
  let listeningMs: number | undefined;
  let readyMs: number | undefined;
  let syncedMs: number | undefined;
  let cpuAtReady = Number.NaN;
  let cpuAtSync = Number.NaN;
  let mem: Memory = { rssMb: Number.NaN, hwmMb: Number.NaN };
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (readyMs === undefined || syncedMs === undefined) {
    if (Date.now() > deadline) throw new Error(`discovery not synced after ${SYNC_TIMEOUT_MS} ms:\n${disc.logs().split('\n').slice(-20).join('\n')}`);
    try {
      if (readyMs === undefined) {
        const status = (await disc.get('/ready')).status;
        listeningMs ??= performance.now() - start;
        if (status === 200) {
          readyMs = performance.now() - start;
          cpuAtReady = cpuSeconds(pid);
        }
      }
      if (syncedMs === undefined) {
        const cz = await disc.json<ClusterzEntry[]>('/debug/clusterz');
        if (CLUSTERS.every((id) => cz.some((c) => c.id === id && c.syncStatus === 'synced'))) {
          syncedMs = performance.now() - start;
          cpuAtSync = cpuSeconds(pid);
          mem = memory(pid);
        }
      }
    } catch (err) {
      if (isExit(err)) throw err; // otherwise: not listening yet
    }
    await sleep(20);
  }
  // Both clusters report synced; confirm every object is visible (heavy: the whole registry as JSON).
  const want: Counts = { services: SERVICES, endpoints: 2 * SERVICES * ENDPOINTS };
  let counts = await countVisible(disc);
  let fullMs = syncedMs;
  const countsFirstCheck = counts.services === want.services && counts.endpoints === want.endpoints;
  while (counts.services !== want.services || counts.endpoints !== want.endpoints) {
    if (Date.now() > deadline) throw new Error(`visible ${JSON.stringify(counts)}, want ${JSON.stringify(want)}`);
    await sleep(250);
    counts = await countVisible(disc);
    fullMs = performance.now() - start;
  }
  return { disc, sync: { listeningMs: listeningMs ?? readyMs, readyMs, syncedMs, fullMs, countsFirstCheck, cpuAtReady, cpuAtSync, mem, counts } };
}

// ---------------------------------------------------------------------------------------------
// Phase 3a: HTTP-visible update latency

interface HttpLatency { latency: Summary; poll: Summary; bodyMb: number; cpuSeconds: number }

async function httpUpdates(disc: DiscoveryProcess, c2: TestbedCluster): Promise<HttpLatency> {
  const pid = disc.pid ?? 0;
  const cpu0 = cpuSeconds(pid);
  const lat: number[] = [];
  const polls: number[] = [];
  let bodyBytes = 0;
  for (let k = 0; k < HTTP_UPDATES; k++) {
    const w = await writeUpdate(c2, k);
    const needle = `"${w.address}"`;
    for (;;) {
      const p0 = performance.now();
      const r = await disc.get('/debug/endpointShardz');
      const p1 = performance.now();
      polls.push(p1 - p0);
      bodyBytes = r.body.length;
      if (r.status === 200 && r.body.includes(needle)) {
        lat.push(p1 - w.respondedAt);
        break;
      }
      if (p1 - w.respondedAt > EVENT_TIMEOUT_MS) throw new Error(`update ${k} (${w.address} in ${w.host}) not visible in /debug/endpointShardz after ${EVENT_TIMEOUT_MS} ms`);
    }
  }
  return { latency: summarize(lat), poll: summarize(polls), bodyMb: bodyBytes / 1024 / 1024, cpuSeconds: cpuSeconds(pid) - cpu0 };
}

// ---------------------------------------------------------------------------------------------
// Phase 3b: in-process registry-event latency

interface InProcess {
  syncMs: number;
  syncCpuSeconds: number;
  fromResponse: Summary;
  fromSend: Summary;
  writeRtt: Summary;
  eventBeforeResponse: number;
  warnings: number;
}

async function inProcess(bed: Testbed, remoteKubeconfig: string): Promise<InProcess> {
  let pending: { host: Hostname; address: string; at: number | undefined; resolve: () => void } | undefined;
  const store = new ShardStore({
    serviceChanged() { /* not measured */ },
    networksChanged() { /* not measured */ },
    endpointsChanged(host) {
      const now = performance.now();
      const p = pending;
      if (p?.at !== undefined || p?.host !== host) return;
      if (store.shardsFor(host).some((s) => s.cluster === C2 && s.endpoints.some((e) => e.address === p.address))) {
        p.at = now;
        p.resolve();
      }
    },
  });
  store.addCluster(C1);
  let warnings = 0;
  const registryLog: Logger = { ...silentLogger, warn: (m) => { if (warnings++ < 5) log(`  registry warning: ${m}`); } };
  const common = { sink: store, systemNamespace: SYSTEM_NS, log: registryLog };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const regs = [
    new KubeRegistry({ cluster: C1, source: KubeClient.fromFile(bed.cluster('cluster1').kubeconfigPath), ...common }),
    new KubeRegistry({ cluster: C2, source: KubeClient.fromString(remoteKubeconfig, 'remote secret istio-remote-secret-cluster2'), ...common }),
  ];
  registries.push(...regs);
  for (const r of regs) r.start();
  await bounded('in-process registries sync', Promise.all(regs.map((r) => r.synced)), SYNC_TIMEOUT_MS);
  if (!regs.every((r) => r.hasSynced())) throw new Error('in-process registries did not sync');
  const syncMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const eps = store.snapshot().endpointHostnames().reduce((n, h) => n + store.endpoints(h).length, 0);
  log(`  in-process registries synced in ${fmt(syncMs, 0)} ms (${store.services().length} merged services, ${eps} endpoints)`);

  const c2 = bed.cluster('cluster2');
  const fromResponse: number[] = [];
  const fromSend: number[] = [];
  const rtt: number[] = [];
  let early = 0;
  for (let n = 0; n < WARMUP + UPDATES; n++) {
    const k = HTTP_UPDATES + n; // addresses not used by the HTTP phase
    let resolve: () => void = () => undefined;
    const seen = new Promise<void>((r) => { resolve = r; });
    const w = await writeUpdate(c2, k, (host, address) => { pending = { host, address, at: undefined, resolve }; });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([seen, new Promise((_, reject) => {
      timer = setTimeout(() => { reject(new Error(`update ${k} (${w.address} in ${w.host}): no endpointsChanged within ${EVENT_TIMEOUT_MS} ms`)); }, EVENT_TIMEOUT_MS);
    })]).finally(() => { clearTimeout(timer); });
    const at = pending?.at ?? Number.NaN;
    pending = undefined;
    if (n < WARMUP) continue;
    if (at < w.respondedAt) early++;
    fromResponse.push(at - w.respondedAt); // negative when the watch event overtook the PUT's response
    fromSend.push(at - w.sentAt);
    rtt.push(w.respondedAt - w.sentAt);
  }
  return {
    syncMs, syncCpuSeconds: (cpu.user + cpu.system) / 1e6,
    fromResponse: summarize(fromResponse), fromSend: summarize(fromSend), writeRtt: summarize(rtt), eventBeforeResponse: early, warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const loadStart = load();
  log(`registry bench: 2 clusters x ${SERVICES} services x ${ENDPOINTS} endpoints${PODS ? ' (+ pods)' : ' (no pods)'}; load average ${loadStart}`);
  const bedUp = Testbed.up({ dir, clusters: [...CLUSTERS], log: (l) => { log(`  ${l}`); } });
  res.bedUp = bedUp;
  const bed = await bedUp;
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  const remoteKubeconfig = await meshSetup(bed);
  log('remote secret for cluster2 written in cluster1; seeding');
  const seeded = await seed(bed);
  log(`seeded ${seeded.objects} objects in ${fmt(seeded.seconds, 1)} s (${fmt(seeded.objects / seeded.seconds, 0)}/s); load average ${load()}`);
  await sleep(2000); // let the API servers settle after the write burst

  const loadBeforeSync = load();
  const { disc, sync } = await coldSync(c1);
  log(`ready after ${fmt(sync.readyMs, 0)} ms, both clusters synced after ${fmt(sync.syncedMs, 0)} ms, all visible after ${fmt(sync.fullMs, 0)} ms `
    + `(${sync.counts.services} services, ${sync.counts.endpoints} endpoints); CPU ${fmt(sync.cpuAtSync, 2)} s, RSS ${fmt(sync.mem.rssMb, 0)} MiB`);

  let http: HttpLatency | undefined;
  if (HTTP_UPDATES > 0) {
    log(`HTTP-visible latency: ${HTTP_UPDATES} updates, polling /debug/endpointShardz`);
    http = await httpUpdates(disc, c2);
    log(`  p50 ${fmt(http.latency.p50)} ms, p99 ${fmt(http.latency.p99)} ms (one poll: p50 ${fmt(http.poll.p50)} ms, ${fmt(http.bodyMb, 1)} MiB)`);
  }
  const discCpuTotal = cpuSeconds(disc.pid ?? 0);
  const discMemEnd = memory(disc.pid ?? 0);
  await disc.stop();
  delete res.disc;

  log(`in-process latency: ShardStore + 2 KubeRegistry in this process, ${WARMUP} warm-up + ${UPDATES} updates`);
  const loadBeforeInproc = load();
  const ip = await inProcess(bed, remoteKubeconfig);
  const loadEnd = load();

  const ms = (v: number) => `${fmt(v, 1)} ms`;
  const rows: string[][] = [
    ['figure', 'value'],
    ['clusters x services x endpoints', `2 x ${SERVICES} x ${ENDPOINTS}${PODS ? ' (with pods)' : ' (no pods)'}`],
    ['merged services / endpoints visible', `${sync.counts.services} (each in both clusters) / ${sync.counts.endpoints}`],
    ['seeding', `${seeded.objects} objects in ${fmt(seeded.seconds, 1)} s, ${CONCURRENCY} in flight`],
    ['discovery: spawn -> debug HTTP answers', ms(sync.listeningMs)],
    ['discovery: spawn -> /ready 200', ms(sync.readyMs)],
    ['discovery: spawn -> both clusters synced', ms(sync.syncedMs)],
    ['discovery: spawn -> all visible (counted)', `${ms(sync.fullMs)}${sync.countsFirstCheck ? ' (complete at the first check)' : ''}`],
    ['discovery CPU at /ready', `${fmt(sync.cpuAtReady, 2)} s`],
    ['discovery CPU at full sync', `${fmt(sync.cpuAtSync, 2)} s`],
    ['discovery RSS at full sync (peak)', `${fmt(sync.mem.rssMb, 0)} MiB (${fmt(sync.mem.hwmMb, 0)} MiB)`],
  ];
  if (http) {
    rows.push(
      [`HTTP-visible update latency (n=${http.latency.n})`, `p50 ${ms(http.latency.p50)}, p99 ${ms(http.latency.p99)}, max ${ms(http.latency.max)}`],
      ['  one /debug/endpointShardz poll', `p50 ${ms(http.poll.p50)}, max ${ms(http.poll.max)}, ${fmt(http.bodyMb, 1)} MiB`],
    );
  }
  rows.push(
    ['discovery CPU total / RSS at stop', `${fmt(discCpuTotal, 2)} s / ${fmt(discMemEnd.rssMb, 0)} MiB (peak ${fmt(discMemEnd.hwmMb, 0)} MiB)`],
    ['in-process: 2 registries synced', `${ms(ip.syncMs)}, ${fmt(ip.syncCpuSeconds, 2)} CPU s`],
    [`in-process: write response -> endpointsChanged (n=${ip.fromResponse.n})`, `p50 ${ms(ip.fromResponse.p50)}, p99 ${ms(ip.fromResponse.p99)}, max ${ms(ip.fromResponse.max)}`],
    ['in-process: write sent -> endpointsChanged', `p50 ${ms(ip.fromSend.p50)}, p99 ${ms(ip.fromSend.p99)}, max ${ms(ip.fromSend.max)}`],
    ['  PUT round trip', `p50 ${ms(ip.writeRtt.p50)}, p99 ${ms(ip.writeRtt.p99)}`],
    ['  events before the PUT response (negative)', `${ip.eventBeforeResponse} of ${ip.fromResponse.n}`],
    ['load average (1/5/15 min)', `start ${loadStart}; before sync ${loadBeforeSync}; before in-process ${loadBeforeInproc}; end ${loadEnd}`],
  );
  if (ip.warnings > 0) rows.push(['registry warnings (in-process)', String(ip.warnings)]);
  console.log(`\n${table(rows)}\n`);
  console.log(JSON.stringify({
    bench: 'registry', clusters: 2, services: SERVICES, endpointsPerService: ENDPOINTS, pods: PODS,
    visibleServices: sync.counts.services, visibleEndpoints: sync.counts.endpoints,
    listeningMs: round(sync.listeningMs, 0), readyMs: round(sync.readyMs, 0), fullSyncMs: round(sync.fullMs, 0), cpuSeconds: round(sync.cpuAtSync, 2),
    rssMb: round(sync.mem.rssMb, 0), peakRssMb: round(sync.mem.hwmMb, 0),
    httpLatencyMs: http ? { n: http.latency.n, p50: round(http.latency.p50), p99: round(http.latency.p99), max: round(http.latency.max), pollP50: round(http.poll.p50) } : null,
    eventLatencyMs: { n: ip.fromResponse.n, p50: round(ip.fromResponse.p50), p99: round(ip.fromResponse.p99), max: round(ip.fromResponse.max), fromSendP50: round(ip.fromSend.p50), fromSendP99: round(ip.fromSend.p99) },
    inProcessSyncMs: round(ip.syncMs, 0),
    loadavg: { start: loadStart, beforeSync: loadBeforeSync, end: loadEnd }, cpus: availableParallelism(),
  }));
}

await bench.run(main);
