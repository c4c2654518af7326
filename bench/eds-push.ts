/**
 * bench/eds-push: CPU per EDS push and convergence of Isthmus builds against each other, printed, not
 * a test. The EDS phase of bench/compare.ts (same objects, same simulated sidecars, same env), without
 * istiod, the remote cluster or new Services, so that a change to the push path is measured quickly:
 *
 *   node bench/eds-push.ts [--roots /path/a,/path/b] [--proxies 200] [--endpoints 2000]
 *       [--per-service 10] [--updates 20] [--rounds 4]
 *
 * `--roots`: Isthmus checkouts whose compiled `dist/` (npm run build) is run by their `bin/isthmus.mjs`
 * (default: this one); rounds alternate between them ABBA so drifting machine load favours none.
 * Each round starts the control plane, waits for the workload to show, connects the sidecars, then
 * flips one endpoint's `ready` `--updates` times: CPU per push (user + sys from /proc, so other
 * processes on the machine count little) and convergence (the PUT to the last sidecar receiving the
 * load assignment). BENCH_ISTHMUS_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) is passed
 * to every control plane.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DiscoveryProcess } from '../src/testing/discovery-process.ts';
import { Testbed } from '../src/testing/testbed/testbed.ts';
import { endpointCount, PLANE_ENV, serviceCount, type Plane } from './lib/planes.ts';
import { runPool } from './lib/pool.ts';
import { cpuSeconds } from './lib/proc.ts';
import { Bench, intOption, load } from './lib/run.ts';
import { SimProxy } from './lib/sim-proxy.ts';
import { fmt, summarize } from './lib/stats.ts';
import { createWorkload, toggleReady } from './lib/compare-workload.ts';

const { values: opt } = parseArgs({ options: {
  roots: { type: 'string', default: fileURLToPath(new URL('..', import.meta.url)) },
  proxies: { type: 'string', default: '200' }, endpoints: { type: 'string', default: '2000' }, 'per-service': { type: 'string', default: '10' },
  updates: { type: 'string', default: '20' }, rounds: { type: 'string', default: '4' },
} });
const USAGE = 'usage: node bench/eds-push.ts [--roots a,b] [--proxies 200] [--endpoints 2000] [--per-service 10] [--updates 20] [--rounds 4]';
// A root may carry node flags for its control plane after `#`, space-separated: `.#--max-semi-space-size=64`.
const ROOTS = opt.roots.split(',').filter((r) => r !== '').map((r) => (r.includes('#') ? `${resolve(r.slice(0, r.indexOf('#')))}${r.slice(r.indexOf('#'))}` : resolve(r)));
const P = intOption('proxies', opt.proxies, 1, 5000, USAGE);
const E = intOption('endpoints', opt.endpoints, 1, 200_000, USAGE);
const PER = intOption('per-service', opt['per-service'], 1, 250, USAGE);
const U = intOption('updates', opt.updates, 1, 1000, USAGE);
const ROUNDS = intOption('rounds', opt.rounds, 1, 32, USAGE);
const S = Math.ceil(E / PER);
const SUFFIX = '.bench.svc.cluster.local';

let sims: SimProxy[] = [];
let plane: Plane | undefined;
const bench = new Bench({ name: 'eds-push', timeoutS: 3600, teardown: async () => {
  for (const s of sims) s.close();
  await plane?.stop();
} });
const { log, res } = bench;

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { if (await check()) return; } catch { /* not answering yet */ }
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(250);
  }
}

async function start(root: string, kubeconfig: string): Promise<Plane> {
  const nodeOptions = process.env['BENCH_ISTHMUS_NODE_OPTIONS'];
  // BENCH_ISTHMUS_NODE_ARGS: V8 flags NODE_OPTIONS refuses (e.g. --trace-gc), before the script.
  const [dir = root, flags = ''] = root.split('#');
  const nodeArgs = `${process.env['BENCH_ISTHMUS_NODE_ARGS'] ?? ''} ${flags}`.split(' ').filter((a) => a !== '');
  const d = await DiscoveryProcess.start({ kubeconfig, clusterId: 'cluster1', command: [...nodeArgs, resolve(dir, 'bin/isthmus.mjs'), 'discovery'], env: {
    ...PLANE_ENV, POD_NAMESPACE: 'istio-system', ENABLE_DEBUG_ENDPOINT_AUTH: 'false', ISTHMUS_RUN_BUILT: '1', ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
  } });
  const pid = d.pid;
  if (pid === undefined) { await d.stop(); throw new Error(`${root}: discovery did not start`); }
  const p: Plane = { kind: 'isthmus', pid, grpcAddr: d.grpcAddr, json: (x) => d.json(x), logs: (n = 30) => d.logs().split('\n').slice(-n).join('\n'), stop: () => d.stop() };
  plane = p;
  await d.ready(180_000);
  return p;
}

/** The latest time every proxy saw `name` after `since`, or undefined. */
async function allSaw(name: string, since: number): Promise<number | undefined> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (sims.every((s) => s.closed !== undefined || (s.edsAt.get(name) ?? 0) >= since)) return Math.max(0, ...sims.map((s) => s.edsAt.get(name) ?? 0));
    await sleep(5);
  }
  return undefined;
}

/** User and system clock ticks per thread name (main thread `node`, V8's GC and compiler workers, libuv's pool). */
function threadTicks(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = out.get(name) ?? { user: 0, sys: 0 };
      out.set(name, { user: t.user + Number(f[11]), sys: t.sys + Number(f[12]) });
    } catch { /* thread ended */ }
  }
  return out;
}

/** `name user/sys` ms per push between two readings (10 ms ticks). */
function threadDiff(a: Map<string, { user: number; sys: number }>, b: Map<string, { user: number; sys: number }>): string {
  return [...b].map(([n, t]) => `${n} ${((t.user - (a.get(n)?.user ?? 0)) * 10) / U}/${((t.sys - (a.get(n)?.sys ?? 0)) * 10) / U}`).join(', ');
}

interface Round { readonly root: string; readonly cpuMs: number; readonly conv: number[] }

async function round(root: string, n: number, kubeconfig: string, c1: Parameters<typeof toggleReady>[0]): Promise<Round> {
  const p = await start(root, kubeconfig);
  await until('workload synced', async () => (await serviceCount(p, SUFFIX)) >= S && (await endpointCount(p, SUFFIX)) >= E, 300_000);
  sims = [];
  await runPool(Array.from({ length: P }, (_, i) => async () => {
    const s = new SimProxy({ address: p.grpcAddr, index: i, namespace: 'bench', clusterId: 'cluster1' });
    sims.push(s);
    await s.synced;
  }), 20);
  await sleep(2000);
  const cpu0 = cpuSeconds(p.pid);
  const ticks0 = threadTicks(p.pid);
  const t0 = process.hrtime.bigint() / 1000n;
  // BENCH_SIGNAL_WINDOW=1: SIGUSR2 to the control plane before and after the updates (a preloaded profiler may use it).
  const signal = process.env['BENCH_SIGNAL_WINDOW'] === '1';
  if (signal) process.kill(p.pid, 'SIGUSR2');
  const conv: number[] = [];
  for (let u = 0; u < U; u++) {
    const i = (u * 7 + n) % S;
    const w0 = Date.now();
    await toggleReady(c1, i);
    const last = await allSaw(`outbound|8080||svc-${i}${SUFFIX}`, w0);
    if (last !== undefined) conv.push(last - w0);
    await sleep(200);
  }
  const cpuMs = ((cpuSeconds(p.pid) - cpu0) * 1000) / U;
  if (signal) { process.kill(p.pid, 'SIGUSR2'); await sleep(1000); }
  log(`  per thread, user/sys ms per push: ${threadDiff(ticks0, threadTicks(p.pid))}`);
  // CLOCK_MONOTONIC microseconds, the clock of V8's .cpuprofile timestamps: a profile's push window.
  log(`updates from ${t0} to ${process.hrtime.bigint() / 1000n} (monotonic µs)`);
  for (let u = 0; u < U; u++) await toggleReady(c1, (u * 7 + n) % S, true);
  for (const s of sims) s.close();
  sims = [];
  // BENCH_LOG_FILE: the control plane's last log lines (e.g. with NODE_OPTIONS=--trace-gc) are appended there.
  const logFile = process.env['BENCH_LOG_FILE'];
  if (logFile !== undefined) appendFileSync(logFile, `${p.logs(2000)}\n`);
  await p.stop();
  plane = undefined;
  const c = summarize(conv);
  log(`round ${n + 1}: ${root}: CPU ${fmt(cpuMs)} ms per push, convergence p50 ${fmt(c.p50, 0)} p99 ${fmt(c.p99, 0)} ms (${conv.length}/${U}), load ${load()}`);
  return { root, cpuMs, conv };
}

async function main(): Promise<void> {
  log(`eds-push: ${P} proxies, ${E} endpoints (${S} services x ${PER}), ${U} updates, ${ROUNDS} rounds; roots ${ROOTS.join(', ')}`);
  res.bedUp = Testbed.up({ dir: bench.dir, clusters: ['cluster1'] });
  const bed = await res.bedUp;
  const c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');
  await createWorkload(c1, S, PER, E, 32, log);
  const results: Round[] = [];
  for (let n = 0; n < ROUNDS; n++) {
    // ABBA: a, b, b, a, a, b, ...
    const k = ROOTS.length === 2 ? [0, 1, 1, 0][n % 4] ?? 0 : n % ROOTS.length;
    results.push(await round(ROOTS[k] ?? '', n, c1.kubeconfigPath, c1));
  }
  console.log('\nroot | CPU per push ms (median, rounds) | convergence p50 / p99 ms (all updates)');
  for (const root of ROOTS) {
    const rs = results.filter((r) => r.root === root);
    const cpu = summarize(rs.map((r) => r.cpuMs));
    const conv = summarize(rs.flatMap((r) => r.conv));
    console.log(`${root} | ${fmt(cpu.p50)} (${rs.map((r) => fmt(r.cpuMs)).join(', ')}) | ${fmt(conv.p50, 0)} / ${fmt(conv.p99, 0)}`);
  }
}

await bench.run(main);
