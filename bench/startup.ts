/**
 * CPU to sync of `isthmus discovery`, printed, not a test (issue 14):
 *
 *   node bench/startup.ts [--runs 5] [--endpoints 2000] [--per-service 10] [--no-build]
 *       [--against OTHER/bin/isthmus.mjs ...] [--timeout 900]
 *
 * Compiles dist/ (as bench/compare.ts does; --no-build keeps the present one) and measures this
 * checkout's bin/isthmus.mjs running dist/ (ISTHMUS_RUN_BUILT=1, as the control-plane image does), and
 * each --against script the same way (e.g. another checkout, built, for a before/after), interleaved
 * run by run (ABBA), so that drifting machine load does not favour one:
 *   - node boot: a node process that runs nothing;
 *   - modules: `isthmus discovery --help` (loads the modules discovery loads at start, starts nothing);
 *   - CPU to sync against an API-server-only test bed (cluster1, Istio's CRDs applied), first empty
 *     (synced = /debug/registryz shows kubernetes.default), then with bench/compare's workload (Services
 *     backed by Running Pods and one EndpointSlice each; synced = /debug/registryz and
 *     /debug/endpointShardz show every Service and endpoint, polled every 250 ms as bench/compare does).
 * CPU = user + system seconds of the process (its own report for the first two, /proc for discovery,
 * as bench/compare reads it), so a busy machine changes it less than wall time. The table shows the
 * median, min and max of --runs runs. BENCH_ISTHMUS_NODE_OPTIONS (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof`) is passed to the discovery processes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyIstioCrds } from '../src/testing/istiod/istiod-process.ts';
import { Testbed, type TestbedCluster } from '../src/testing/testbed/testbed.ts';
import { createWorkload } from './lib/compare-workload.ts';
import { endpointCount, serviceCount, startPlane, type Plane } from './lib/planes.ts';
import { cpuSeconds } from './lib/proc.ts';
import { Bench, bounded, intOption, load, pollUntil } from './lib/run.ts';
import { fmt, summarize } from './lib/stats.ts';

const USAGE = 'usage: node bench/startup.ts [--runs 5] [--endpoints 2000] [--per-service 10] [--no-build] [--against OTHER/bin/isthmus.mjs ...] [--timeout 900]';
const { values: opt } = parseArgs({ options: {
  runs: { type: 'string', default: '5' }, endpoints: { type: 'string', default: '2000' }, 'per-service': { type: 'string', default: '10' },
  'no-build': { type: 'boolean', default: false }, against: { type: 'string', multiple: true, default: [] },
  timeout: { type: 'string', default: '900' }, help: { type: 'boolean', default: false },
} });
if (opt.help) { console.log(USAGE); process.exit(0); }
const RUNS = intOption('runs', opt.runs, 1, 50, USAGE);
const E = intOption('endpoints', opt.endpoints, 1, 100_000, USAGE);
const PER = intOption('per-service', opt['per-service'], 1, 250, USAGE);
const S = Math.ceil(E / PER);
const BENCH_SUFFIX = '.bench.svc.cluster.local';
const THIS = fileURLToPath(new URL('../bin/isthmus.mjs', import.meta.url));
/** What is measured: this checkout first, then each --against script. */
const VARIANTS: readonly string[] = [THIS, ...opt.against.map((a) => resolve(a))];
const label = (script: string): string => (script === THIS ? 'this checkout' : script);

let plane: Plane | undefined;
const bench = new Bench({ name: 'startup', timeoutS: intOption('timeout', opt.timeout, 60, 24 * 3600, USAGE), teardown: async () => {
  if (plane) await bounded('stop isthmus', plane.stop(), 15_000);
} });
const { log, res } = bench;

/** CPU seconds a fresh node process reports when it exits, having run `script` with `args` (its output dropped); no script: node alone. */
function selfCpu(script?: string, args: readonly string[] = []): number {
  const report = "import { writeSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String((u.user + u.system) / 1e6)); });";
  const run = script === undefined ? '' : `process.argv.splice(1, Infinity, ${JSON.stringify(script)}, ...${JSON.stringify(args)}); await import(${JSON.stringify(script)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `${report}\n${run}`],
    { encoding: 'utf8', env: { ...process.env, ISTHMUS_RUN_BUILT: '1' }, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  const cpu = Number((r.output[3] ?? '').trim());
  if (!Number.isFinite(cpu) || cpu <= 0) throw new Error(`${script ?? 'node'} ${args.join(' ')} exited ${String(r.status ?? r.signal)} without reporting its CPU`);
  return cpu;
}

/** Polls `check` every 250 ms (as bench/compare does) until true; fails after `timeoutMs` naming `what`. */
function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  return pollUntil(what, check, timeoutMs, everyMs, () => (plane ? `\n${plane.logs()}` : ''));
}

/** One start of `script` discovery until `synced`: its CPU seconds and wall seconds then. */
async function syncOnce(script: string, c1: TestbedCluster, what: string, synced: (p: Plane) => Promise<boolean>): Promise<{ cpu: number; wall: number }> {
  const t0 = Date.now();
  plane = await startPlane('isthmus', { kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', dir: bench.dir, readyTimeoutMs: 120_000, ...(script === THIS ? {} : { isthmusScript: script }) });
  const p = plane;
  await until(what, () => synced(p), 120_000);
  const r = { cpu: cpuSeconds(p.pid), wall: (Date.now() - t0) / 1000 };
  await p.stop();
  plane = undefined;
  return r;
}

interface Row { readonly figure: string; readonly variant: string; readonly cpu: number[]; readonly wall: number[] }
const rows: Row[] = [];
function row(figure: string, variant: string): Row {
  let r = rows.find((x) => x.figure === figure && x.variant === variant);
  if (!r) { r = { figure, variant, cpu: [], wall: [] }; rows.push(r); }
  return r;
}

/** The variants in run `i`'s order: ABBA... so each is first as often as the other. */
const order = (i: number): readonly string[] => (i % 2 === 0 ? VARIANTS : [...VARIANTS].reverse());

async function syncRuns(figure: string, c1: TestbedCluster, what: string, synced: (p: Plane) => Promise<boolean>): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    for (const v of order(i)) {
      const r = await syncOnce(v, c1, what, synced);
      const x = row(figure, label(v));
      x.cpu.push(r.cpu); x.wall.push(r.wall);
      log(`  ${figure} ${i + 1}/${RUNS} (${label(v)}): CPU ${fmt(r.cpu, 3)} s, ${fmt(r.wall, 2)} s (load ${load()})`);
    }
  }
}

function printTable(): void {
  console.log(`\nCPU seconds (user+sys), ${RUNS} runs each, load ${load()}`);
  const w = Math.max(...rows.map((r) => r.figure.length));
  const v = Math.max(...rows.map((r) => r.variant.length));
  console.log(`| ${'figure'.padEnd(w)} | ${'variant'.padEnd(v)} | median |   min  |   max  | wall median |`);
  console.log(`| ${'-'.repeat(w)} | ${'-'.repeat(v)} | -----: | -----: | -----: | ----------: |`);
  for (const r of rows) {
    const c = summarize(r.cpu);
    const wall = r.wall.length > 0 ? `${fmt(summarize(r.wall).p50, 2)} s` : '-';
    console.log(`| ${r.figure.padEnd(w)} | ${r.variant.padEnd(v)} | ${fmt(c.p50, 3).padStart(6)} | ${fmt(c.min, 3).padStart(6)} | ${fmt(c.max, 3).padStart(6)} | ${wall.padStart(11)} |`);
  }
}

async function main(): Promise<void> {
  log(`startup: ${RUNS} runs, ${E} endpoints (${S} services x ${PER}), variants: ${VARIANTS.map(label).join(', ')}; load ${load()}`);
  if (!opt['no-build']) execFileSync(process.execPath, [fileURLToPath(new URL('../scripts/build.ts', import.meta.url))], { stdio: 'inherit' });
  for (let i = 0; i < RUNS; i++) {
    row('node boot', '-').cpu.push(selfCpu());
    for (const v of order(i)) row('modules (discovery --help)', label(v)).cpu.push(selfCpu(v, ['discovery', '--help']));
  }

  res.bedUp = Testbed.up({ dir: bench.dir, clusters: ['cluster1'] });
  const c1 = (await res.bedUp).cluster('cluster1');
  log(`Istio CRDs: ${await applyIstioCrds(c1)}`);
  await c1.ensureNamespace('istio-system');
  await syncRuns('CPU to sync, empty cluster', c1, 'kubernetes.default in /debug/registryz',
    async (p) => (await serviceCount(p, '.default.svc.cluster.local')) >= 1);
  await createWorkload(c1, S, PER, E, 32, log);
  await syncRuns(`CPU to sync, ${S} services / ${E} endpoints`, c1, `${S} services and ${E} endpoints`,
    async (p) => (await serviceCount(p, BENCH_SUFFIX)) >= S && (await endpointCount(p, BENCH_SUFFIX)) >= E);
  printTable();
}

await bench.run(main);
