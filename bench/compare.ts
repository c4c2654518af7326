/**
 * Isthmus against istiod, side by side, printed, not a test (issue 14):
 *
 *   node bench/compare.ts [--proxies 200] [--endpoints 2000] [--per-service 10] [--updates 20]
 *       [--new-services 3] [--rounds 4] [--remote-services 300] [--remote-endpoints 4000]
 *       [--concurrency 32] [--timeout 1800]
 *   (larger: --proxies 1000 --endpoints 10000)
 *
 * One API-server-only test bed (no nodes): cluster1 holds the workload, namespace `bench`, with
 * endpoints/per-service Services, each backed by Running Pods labelled security.istio.io/tlsMode=istio
 * and one EndpointSlice referencing them; cluster2 holds the remote workload (namespace `remote`,
 * Pods too), joined only when a round adds its remote secret. Both control planes run against these
 * same objects, one at a time, in ABBA order (Isthmus, istiod, istiod, Isthmus, ...) so that drifting
 * machine load does not favour one. Each round:
 *   1. starts the control plane (Isthmus from dist/, compiled at the start of the run, as the
 *      control-plane image runs it); "CPU to sync" = its CPU seconds (/proc) when /debug/registryz and
 *      /debug/endpointShardz show every Service and endpoint; "idle RSS" 3 s later;
 *   2. connects P simulated sidecars (bench/lib/sim-proxy.ts: one TCP connection each, CDS, EDS,
 *      LDS, RDS, all ACKed); "CPU to sync P proxies" and "RSS per proxy" (growth / P, 2 s after);
 *   3. U EndpointSlice updates (one endpoint's `ready` flips): convergence = from the PUT to the last
 *      proxy receiving that load assignment; CPU and bytes per push; CDS/LDS/RDS responses seen;
 *   4. K new Services (Service, Pod, EndpointSlice): time until every proxy has the cluster and its
 *      load assignment, CPU for it;
 *   5. (between 1 and 2, no proxy connected) adds cluster2's remote secret: CPU and RSS growth until
 *      cluster2's Services and endpoints all show (memory per remote cluster, 3 s after), then
 *      removes it and waits until its Services are gone.
 * Both get PILOT_DEBOUNCE_AFTER=100ms and PILOT_PUSH_THROTTLE=100; istiod's new-request rate limit is
 * lifted (see lib/planes.ts). Figures are CPU and memory of the control-plane process only; the
 * bench, the API servers and the simulated proxies share the same cores, so they are noisy.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyIstioCrds, remoteSecret } from '../src/testing/istiod/istiod-process.ts';
import { Testbed, type TestbedCluster } from '../src/testing/testbed/testbed.ts';
import { endpointCount, serviceCount, startPlane, type Plane, type PlaneKind } from './lib/planes.ts';
import { runPool } from './lib/pool.ts';
import { cpuSeconds, memory } from './lib/proc.ts';
import { Bench, bounded, intOption, load, pollUntil } from './lib/run.ts';
import { SimProxy } from './lib/sim-proxy.ts';
import { type RoundResult, printReport } from './lib/compare-report.ts';
import { createRemoteWorkload, createWorkload, deleteService, newService, toggleReady } from './lib/compare-workload.ts';

const { values: opt } = parseArgs({ options: {
  proxies: { type: 'string', default: '200' }, endpoints: { type: 'string', default: '2000' }, 'per-service': { type: 'string', default: '10' },
  updates: { type: 'string', default: '20' }, 'new-services': { type: 'string', default: '3' }, rounds: { type: 'string', default: '4' },
  'remote-services': { type: 'string', default: '300' }, 'remote-endpoints': { type: 'string', default: '4000' },
  concurrency: { type: 'string', default: '32' }, timeout: { type: 'string', default: '1800' }, help: { type: 'boolean', default: false },
} });
const USAGE = 'usage: node bench/compare.ts [--proxies 200] [--endpoints 2000] [--per-service 10] [--updates 20] [--new-services 3] [--rounds 4] [--remote-services 300] [--remote-endpoints 4000] [--concurrency 32] [--timeout 1800]';
if (opt.help) { console.log(USAGE); process.exit(0); }
const P = intOption('proxies', opt.proxies, 1, 5000, USAGE);
const E = intOption('endpoints', opt.endpoints, 1, 200_000, USAGE);
const PER = intOption('per-service', opt['per-service'], 1, 250, USAGE);
const U = intOption('updates', opt.updates, 1, 1000, USAGE);
const K = intOption('new-services', opt['new-services'], 0, 100, USAGE);
const ROUNDS = intOption('rounds', opt.rounds, 2, 16, USAGE);
const RS = intOption('remote-services', opt['remote-services'], 0, 10_000, USAGE);
const RE = intOption('remote-endpoints', opt['remote-endpoints'], 0, 200_000, USAGE);
const CONCURRENCY = intOption('concurrency', opt.concurrency, 1, 256, USAGE);
const TIMEOUT_S = intOption('timeout', opt.timeout, 60, 24 * 3600, USAGE);
const S = Math.ceil(E / PER);
const BENCH_SUFFIX = '.bench.svc.cluster.local';
const REMOTE_SUFFIX = '.remote.svc.cluster.local';
const SECRET = 'istio-remote-secret-cluster2';

let sims: SimProxy[] = [];
let plane: Plane | undefined;
const bench = new Bench({ name: 'compare', timeoutS: TIMEOUT_S, teardown: async () => {
  for (const s of sims) s.close();
  if (plane) await bounded(`stop ${plane.kind}`, plane.stop(), 15_000);
} });
const { log, res } = bench;

const cpu = (p: Plane) => cpuSeconds(p.pid);
const rssMb = (p: Plane) => memory(p.pid).rssMb;

/** Polls `check` every `everyMs` until it is true; fails after `timeoutMs` naming `what`. */
function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  return pollUntil(what, check, timeoutMs, everyMs, () => (plane ? `\n${plane.logs()}` : ''));
}

/**
 * The latest time every connected proxy saw `name` in `which` after `since`, or undefined if some did
 * not within `timeoutMs`. Proxies whose stream the control plane ended are left out (and counted).
 */
async function allSaw(which: 'cdsAt' | 'edsAt', name: string, since: number, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  const missing = () => sims.filter((s) => s.closed === undefined && (s[which].get(name) ?? 0) < since).length;
  while (Date.now() < deadline) {
    if (missing() === 0) return Math.max(0, ...sims.filter((s) => s.closed === undefined).map((s) => s[which].get(name) ?? 0));
    await sleep(5);
  }
  log(`  ${missing()}/${sims.length} proxies never saw ${name} (${which})`);
  return undefined;
}

/** Proxies whose stream the control plane ended (logged once per phase). */
function dropped(phase: string): number {
  const gone = sims.filter((s) => s.closed !== undefined);
  if (gone.length > 0) {
    log(`  after ${phase}: ${gone.length} proxies disconnected by the control plane, e.g. ${gone[0]?.closed ?? ''}`);
    const why = (plane?.logs(3000) ?? '').split('\n').filter((l) => /timeout|closing|disconnect/i.test(l)).slice(-3);
    for (const l of why) log(`    ${plane?.kind ?? ''}: ${l.slice(0, 300)}`);
  }
  return gone.length;
}

async function round(kind: PlaneKind, n: number, c1: TestbedCluster, secret: Record<string, unknown>): Promise<RoundResult> {
  const r: RoundResult = { kind, load: '', conv: [], newConv: [], cpuSync: NaN, syncS: NaN, idleRssMb: NaN, connectS: NaN, cpuConnect: NaN, kbPerProxy: NaN, cpuPerPushMs: NaN, kbPerPush: NaN, nonEdsPerUpdate: NaN, cpuNewServiceMs: NaN, remoteCpu: NaN, remoteMb: NaN, remoteS: NaN, droppedEds: 0, dropped: 0, kbPerProxyNewService: NaN };
  log(`round ${n + 1}/${ROUNDS}: ${kind} (load ${load()})`);
  const t0 = Date.now();
  plane = await startPlane(kind, { kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', dir: bench.dir, readyTimeoutMs: 180_000 });
  const p = plane;
  await until(`${kind}: ${S} services and ${E} endpoints`, async () => (await serviceCount(p, BENCH_SUFFIX)) >= S && (await endpointCount(p, BENCH_SUFFIX)) >= E, 300_000);
  r.cpuSync = cpu(p);
  r.syncS = (Date.now() - t0) / 1000;
  await sleep(3000);
  r.idleRssMb = rssMb(p);
  log(`  synced in ${r.syncS.toFixed(1)} s, CPU ${r.cpuSync.toFixed(2)} s, idle RSS ${r.idleRssMb.toFixed(0)} MB`);

  if (RS > 0) {
    // Measured on the idle control plane, before any proxy connects: what the remote cluster's
    // registry costs (with proxies, the full pushes it causes would be counted too).
    const [rss0, cpuR] = [rssMb(p), cpu(p)];
    const tr = Date.now();
    await c1.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', secret);
    await until(`${kind}: cluster2's ${RS} services and ${RE} endpoints`, async () => (await serviceCount(p, REMOTE_SUFFIX)) >= RS && (await endpointCount(p, REMOTE_SUFFIX, 'cluster2')) >= RE, 300_000, 1000);
    r.remoteS = (Date.now() - tr) / 1000;
    r.remoteCpu = cpu(p) - cpuR;
    await sleep(3000);
    r.remoteMb = rssMb(p) - rss0;
    log(`  remote cluster (${RS} services, ${RE} endpoints) synced in ${r.remoteS.toFixed(1)} s, CPU ${r.remoteCpu.toFixed(2)} s, RSS +${r.remoteMb.toFixed(0)} MB`);
    await c1.requestOk('DELETE', `/api/v1/namespaces/istio-system/secrets/${SECRET}`);
    await until(`${kind}: cluster2's services gone`, async () => (await serviceCount(p, REMOTE_SUFFIX)) === 0, 120_000, 500);
  }

  const [cpu0, rssBefore] = [cpu(p), rssMb(p)];
  const tc = Date.now();
  sims = [];
  await runPool(Array.from({ length: P }, (_, i) => async () => {
    const s = new SimProxy({ address: p.grpcAddr, index: i, namespace: 'bench', clusterId: 'cluster1' });
    sims.push(s);
    await Promise.race([s.synced, sleep(120_000).then(() => { throw new Error(`${kind}: proxy ${i} not synced within 120 s\n${p.logs()}`); })]);
  }), 20);
  r.connectS = (Date.now() - tc) / 1000;
  await sleep(2000);
  r.cpuConnect = cpu(p) - cpu0;
  r.kbPerProxy = ((rssMb(p) - rssBefore) * 1024) / P;
  log(`  ${P} proxies synced (CDS ${sims[0]?.edsNames.length ?? 0} EDS clusters, LDS, RDS) in ${r.connectS.toFixed(1)} s, CPU ${r.cpuConnect.toFixed(2)} s, ${r.kbPerProxy.toFixed(0)} KB per proxy`);

  for (const s of sims) s.resetCounts();
  const cpuU = cpu(p);
  const unready = new Set<number>();
  for (let u = 0; u < U; u++) {
    const i = (u * 7 + n) % S;
    const name = `outbound|8080||svc-${i}${BENCH_SUFFIX}`;
    const w0 = Date.now();
    if (await toggleReady(c1, i)) unready.delete(i);
    else unready.add(i);
    const last = await allSaw('edsAt', name, w0, 30_000);
    if (last !== undefined) r.conv.push(last - w0);
    await sleep(200);
  }
  r.cpuPerPushMs = ((cpu(p) - cpuU) * 1000) / U;
  r.kbPerPush = sims.reduce((a, s) => a + s.bytes, 0) / 1024 / U;
  r.nonEdsPerUpdate = sims.reduce((a, s) => a + s.responses.cds + s.responses.lds + s.responses.rds, 0) / U;
  for (const i of unready) await toggleReady(c1, i, true);
  r.droppedEds = r.dropped = dropped('endpoint updates');
  log(`  ${U} endpoint updates: ${r.conv.length} converged, CPU ${r.cpuPerPushMs.toFixed(0)} ms per push, ${r.kbPerPush.toFixed(0)} KB sent per push, ${r.nonEdsPerUpdate.toFixed(1)} CDS/LDS/RDS responses per update`);

  for (const s of sims) s.resetCounts();
  const cpuN = cpu(p);
  for (let k = 0; k < K; k++) {
    const svcName = `new-${n}-${k}`;
    const cluster = `outbound|8080||${svcName}${BENCH_SUFFIX}`;
    const w0 = Date.now();
    await newService(c1, svcName, `10.250.${n}.${k + 1}`);
    const cdsLast = await allSaw('cdsAt', cluster, w0, 60_000);
    const edsLast = await allSaw('edsAt', cluster, w0, 60_000);
    if (cdsLast !== undefined && edsLast !== undefined) r.newConv.push(Math.max(cdsLast, edsLast) - w0);
    await sleep(500);
  }
  if (K > 0) {
    r.cpuNewServiceMs = ((cpu(p) - cpuN) * 1000) / K;
    r.kbPerProxyNewService = sims.reduce((a, s) => a + s.bytes, 0) / 1024 / K / P;
  }
  r.dropped = dropped('new services');
  log(`  ${K} new services: CPU ${r.cpuNewServiceMs.toFixed(0)} ms each, ${r.kbPerProxyNewService.toFixed(0)} KB to each proxy each, converged in ${r.newConv.map((x) => x.toFixed(0)).join(', ')} ms`);

  for (const s of sims) s.close();
  sims = [];
  r.load = load();
  await p.stop();
  plane = undefined;
  for (let k = 0; k < K; k++) await deleteService(c1, `new-${n}-${k}`);
  return r;
}

async function main(): Promise<void> {
  log(`compare: ${P} proxies, ${E} endpoints (${S} services x ${PER}), ${U} updates, ${K} new services, ${ROUNDS} rounds; remote ${RS} services / ${RE} endpoints; load ${load()}`);
  // Isthmus runs from dist/, as the control-plane image runs it: compiled now, from these sources.
  const t0 = Date.now();
  execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.ts', import.meta.url))], { stdio: 'inherit' });
  log(`compiled to dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  res.bedUp = Testbed.up({ dir: bench.dir, clusters: ['cluster1', 'cluster2'] });
  const bed = await res.bedUp;
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  const crds = await Promise.all([applyIstioCrds(c1), applyIstioCrds(c2)]);
  log(`Istio CRDs: ${crds.join(' + ')}`);
  for (const c of [c1, c2]) await c.ensureNamespace('istio-system');
  const t = Date.now();
  await createWorkload(c1, S, PER, E, CONCURRENCY, log);
  if (RS > 0) await createRemoteWorkload(c2, RS, RE, CONCURRENCY, log);
  log(`objects created in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  const secret = await remoteSecret(c2, SECRET);
  const order: PlaneKind[] = ['isthmus', 'istiod', 'istiod', 'isthmus'];
  const results: RoundResult[] = [];
  for (let n = 0; n < ROUNDS; n++) results.push(await round(order[n % 4] ?? 'isthmus', n, c1, secret));
  printReport(results, { proxies: P, endpoints: E, services: S, updates: U, newServices: K, remoteServices: RS, remoteEndpoints: RE });
}

await bench.run(main);
