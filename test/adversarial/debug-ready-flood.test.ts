/**
 * Readiness under a connection flood: a real `isthmus discovery` process, attackers in other
 * processes holding 1,000 connections to its debug/readiness port (reconnecting whenever the
 * server closes one), either silent or sending headers a byte at a time (slowloris), from
 * loopback and from several source addresses in network namespaces. A kubelet-like probe (a new
 * connection per probe, 1 s timeout) must keep getting 200 from /ready. Prints the success rate
 * and latency of the probes, and what the attackers managed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { NetnsLab, ROOT, netnsSupported, stopChild, type Netns } from '../../src/testing/netns.ts';
import { freePort } from '../../src/testing/testbed/procs.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-readyflood-'));
let bed: Testbed;
let lab: NetnsLab | undefined;
const running: DiscoveryProcess[] = [];
const attackers = new Set<ChildProcess>();

/**
 * The attacker: keeps `count` connections to host:port open, opening a new one (after `gap` ms,
 * 100 here: thousands of connections a second once the server closes them) whenever one is closed. `mode` idle sends nothing; slowloris sends a request line, then one
 * header byte per second. Prints its counts as JSON when told to stop (SIGTERM).
 */
const ATTACKER = `
const net = require('node:net');
const [host, port, count, mode, gap] = process.argv.slice(1);
let opened = 0, closedByServer = 0, stopping = false;
const live = new Set();
function one() {
  if (stopping) return;
  const s = net.connect(Number(port), host);
  live.add(s); opened++;
  let drip;
  s.on('connect', () => {
    if (mode !== 'slowloris') return;
    s.write('GET /ready HTTP/1.1\\r\\nHost: x\\r\\nX-');
    drip = setInterval(() => { if (!s.destroyed) s.write('a'); }, 1000);
  });
  s.on('error', () => {});
  s.on('close', () => { clearInterval(drip); live.delete(s); if (!stopping) { closedByServer++; setTimeout(one, Number(gap)); } });
}
for (let i = 0; i < Number(count); i++) one();
process.on('SIGTERM', () => {
  stopping = true;
  process.stdout.write(JSON.stringify({ opened, closedByServer, openAtEnd: live.size }) + '\\n');
  for (const s of live) s.destroy();
  process.exit(0);
});
`;

interface AttackerStats { opened: number; closedByServer: number; openAtEnd: number }

function startAttacker(ns: Netns, host: string, port: number, count: number, mode: 'idle' | 'slowloris'): { child: ChildProcess; stats: () => Promise<AttackerStats> } {
  const args = ['-e', ATTACKER, host, String(port), String(count), mode, '100'];
  if (!lab) throw new Error('no network lab');
  const child = lab.spawn(ns, process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  attackers.add(child);
  let out = '';
  child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
  return {
    child,
    stats: async () => {
      await stopChild(child);
      attackers.delete(child);
      return JSON.parse(out.trim() || '{"opened":0,"closedByServer":0,"openAtEnd":0}') as AttackerStats;
    },
  };
}

/** One kubelet-like probe: a new connection, GET /ready, 1 s timeout. */
function probe(host: string, port: number): Promise<{ ok: boolean; ms: number; why: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/ready', agent: false, timeout: 1000, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => { resolve({ ok: res.statusCode === 200, ms: performance.now() - t0, why: `status ${res.statusCode}` }); });
    });
    req.on('timeout', () => { req.destroy(new Error('timeout after 1 s')); });
    req.on('error', (e) => { resolve({ ok: false, ms: performance.now() - t0, why: e.message }); });
    req.end();
  });
}

/** Probes every 100 ms for `ms`; returns the success rate, latencies and the longest failure run. */
async function probeFor(host: string, port: number, ms: number): Promise<{ n: number; ok: number; p50: number; p99: number; max: number; worstRun: number; whys: string[] }> {
  const results: { ok: boolean; ms: number; why: string }[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const started = Date.now();
    results.push(await probe(host, port));
    await sleep(Math.max(0, 100 - (Date.now() - started)));
  }
  const lat = results.filter((r) => r.ok).map((r) => r.ms).sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  let run = 0;
  let worstRun = 0;
  for (const r of results) { run = r.ok ? 0 : run + 1; worstRun = Math.max(worstRun, run); }
  return { n: results.length, ok: lat.length, p50: q(0.5), p99: q(0.99), max: lat.at(-1) ?? NaN, worstRun, whys: [...new Set(results.filter((r) => !r.ok).map((r) => r.why))].slice(0, 5) };
}

function report(what: string, r: Awaited<ReturnType<typeof probeFor>>, a: AttackerStats[]): void {
  const sum = (k: keyof AttackerStats) => a.reduce((s, x) => s + x[k], 0);
  console.log(`${what}: /ready ${r.ok}/${r.n} = ${(100 * r.ok / r.n).toFixed(1)}% 200s, latency p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms max ${r.max.toFixed(1)} ms, longest failure run ${r.worstRun}` +
    `${r.whys.length ? ` (${r.whys.join('; ')})` : ''}; attackers opened ${sum('opened')} connections, ${sum('closedByServer')} closed by the server, ${sum('openAtEnd')} open at the end`);
}

function assertHealthy(what: string, r: Awaited<ReturnType<typeof probeFor>>): void {
  // Kubernetes marks a pod unready after failureThreshold (3) consecutive failures.
  assert.ok(r.worstRun < 3, `${what}: ${r.worstRun} consecutive probe failures (${r.whys.join('; ')})`);
  assert.ok(r.ok / r.n >= 0.95, `${what}: only ${r.ok}/${r.n} probes answered 200 (${r.whys.join('; ')})`);
}

before(async () => {
  const why = netnsSupported();
  if (why !== undefined) throw new Error(`cannot run the readiness flood test: ${why}`);
  lab = await NetnsLab.create('isthmus-rdyflood');
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  await bed.cluster('cluster1').ensureNamespace('istio-system');
});

after(async () => {
  for (const a of attackers) await stopChild(a);
  for (const d of running) await d.stop();
  await bed.down();
  await lab?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function discovery(httpAddr: string): Promise<DiscoveryProcess> {
  const d = await DiscoveryProcess.start({ kubeconfig: bed.cluster('cluster1').kubeconfigPath, clusterId: 'cluster1', httpAddr, env: { POD_NAMESPACE: 'istio-system' } });
  running.push(d);
  await d.ready();
  return d;
}

test('1,000 idle and then 1,000 slowloris connections from loopback do not starve /ready', async () => {
  const port = await freePort();
  const d = await discovery(`127.0.0.1:${port}`);
  const base = await probeFor('127.0.0.1', port, 2_000);
  report('baseline (no attack)', base, []);

  const idle = startAttacker(ROOT, '127.0.0.1', port, 1000, 'idle');
  await sleep(2_000);
  const r1 = await probeFor('127.0.0.1', port, 10_000);
  const s1 = await idle.stats();
  report('1,000 idle connections from 127.0.0.1', r1, [s1]);

  const slow = startAttacker(ROOT, '127.0.0.1', port, 1000, 'slowloris');
  await sleep(2_000);
  const r2 = await probeFor('127.0.0.1', port, 10_000);
  const s2 = await slow.stats();
  report('1,000 slowloris connections from 127.0.0.1', r2, [s2]);

  assertHealthy('idle flood', r1);
  assertHealthy('slowloris flood', r2);
  assert.ok(s1.closedByServer >= 800, 'the server closed the idle connections it could not keep');
  assert.ok((await d.get('/ready')).status === 200, 'process healthy afterwards');
  await d.stop();
});

test('1,000 idle connections from four source addresses (network namespaces) do not starve /ready', async () => {
  if (!lab) throw new Error('no lab');
  const nets: Netns[] = [];
  for (let i = 0; i < 4; i++) {
    const ns = lab.namespace(`a${i}`);
    lab.link({ a: ROOT, b: ns, aAddr: `198.18.${40 + i}.1/24`, bAddr: `198.18.${40 + i}.2/24` });
    if (i > 0) lab.route(ns, '198.18.40.1/32', `198.18.${40 + i}.1`);
    nets.push(ns);
  }
  const port = await freePort();
  const host = '198.18.40.1';
  const d = await discovery(`${host}:${port}`);
  const attacks = nets.map((ns) => startAttacker(ns, host, port, 250, 'idle'));
  await sleep(2_000);
  const r = await probeFor(host, port, 10_000);
  const stats = await Promise.all(attacks.map((a) => a.stats()));
  report('4 sources x 250 idle connections', r, stats);
  assertHealthy('multi-source idle flood', r);
  for (const [i, s] of stats.entries()) assert.ok(s.opened >= 250, `attacker ${i} connected (${JSON.stringify(s)})`);
  assert.ok((await d.get('/ready')).status === 200, 'process healthy afterwards');
  await d.stop();
});
