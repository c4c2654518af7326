/** bench/compare's figures per round, and the side-by-side table with a verdict per figure. */
import type { PlaneKind } from './planes.ts';
import { fmt, round, summarize, table } from './stats.ts';

export interface RoundResult {
  readonly kind: PlaneKind;
  /** Load average at the end of the round. */
  load: string;
  /** Endpoint change -> last proxy has the new load assignment, ms. */
  readonly conv: number[];
  /** New Service -> last proxy has its cluster and load assignment, ms. */
  readonly newConv: number[];
  cpuSync: number;
  syncS: number;
  idleRssMb: number;
  connectS: number;
  cpuConnect: number;
  kbPerProxy: number;
  cpuPerPushMs: number;
  kbPerPush: number;
  nonEdsPerUpdate: number;
  cpuNewServiceMs: number;
  /** Bytes of resources each proxy received per new Service, KB. */
  kbPerProxyNewService: number;
  remoteCpu: number;
  remoteMb: number;
  remoteS: number;
  /** Proxies whose stream the control plane ended by the end of the endpoint updates, and of the new Services. */
  droppedEds: number;
  dropped: number;
}

export interface Workload {
  readonly proxies: number;
  readonly endpoints: number;
  readonly services: number;
  readonly updates: number;
  readonly newServices: number;
  readonly remoteServices: number;
  readonly remoteEndpoints: number;
}

const mean = (xs: readonly number[]) => {
  const ok = xs.filter(Number.isFinite);
  return ok.length === 0 ? Number.NaN : ok.reduce((a, b) => a + b, 0) / ok.length;
};

interface Figure { readonly name: string; readonly unit: string; readonly digits: number; readonly of: (rs: readonly RoundResult[]) => number; readonly withProxies?: (r: RoundResult) => number }

function figures(w: Workload): Figure[] {
  const scalar = (name: string, unit: string, digits: number, f: (r: RoundResult) => number, withProxies?: (r: RoundResult) => number): Figure => ({ name, unit, digits, of: (rs) => mean(rs.map(f)), ...(withProxies ? { withProxies } : {}) });
  const [eds, svc] = [(r: RoundResult) => r.droppedEds, (r: RoundResult) => r.dropped];
  return [
    { name: `convergence p50, endpoint change -> all ${w.proxies} proxies`, unit: 'ms', digits: 0, of: (rs) => summarize(rs.flatMap((r) => r.conv)).p50, withProxies: eds },
    { name: `convergence p99, endpoint change -> all ${w.proxies} proxies`, unit: 'ms', digits: 0, of: (rs) => summarize(rs.flatMap((r) => r.conv)).p99, withProxies: eds },
    scalar('CPU per EDS push', 'ms', 0, (r) => r.cpuPerPushMs, eds),
    scalar('bytes per EDS push (all proxies)', 'KB', 0, (r) => r.kbPerPush, eds),
    scalar('CDS/LDS/RDS responses per endpoint update', '', 1, (r) => r.nonEdsPerUpdate),
    scalar('CPU for a new Service', 'ms', 0, (r) => r.cpuNewServiceMs, svc),
    scalar('bytes to each proxy per new Service', 'KB', 0, (r) => r.kbPerProxyNewService, svc),
    { name: `new Service -> all ${w.proxies} proxies, p50`, unit: 'ms', digits: 0, of: (rs) => summarize(rs.flatMap((r) => r.newConv)).p50, withProxies: svc },
    scalar('CPU to sync (start -> every object seen)', 's', 2, (r) => r.cpuSync),
    scalar(`CPU to sync ${w.proxies} proxies (CDS, EDS, LDS, RDS)`, 's', 2, (r) => r.cpuConnect),
    scalar('idle memory (RSS after sync)', 'MB', 0, (r) => r.idleRssMb),
    scalar('memory per connected proxy (RSS growth / proxies)', 'KB', 0, (r) => r.kbPerProxy),
    scalar(`memory per remote cluster (${w.remoteServices} services, ${w.remoteEndpoints} endpoints)`, 'MB', 0, (r) => r.remoteMb),
    scalar('CPU to sync the remote cluster', 's', 2, (r) => r.remoteCpu),
  ];
}

function verdict(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'no ratio';
  if (ratio < 0.95) return `Isthmus better (${fmt(ratio, 2)}x)`;
  if (ratio > 1.05) return `Isthmus WORSE (${fmt(ratio, 2)}x)`;
  return `about equal (${fmt(ratio, 2)}x)`;
}

export function printReport(results: readonly RoundResult[], w: Workload): void {
  const by = (k: PlaneKind) => results.filter((r) => r.kind === k);
  const [a, b] = [by('isthmus'), by('istiod')];
  console.log(`\nbench/compare: ${w.proxies} proxies, ${w.endpoints} endpoints in ${w.services} services, ${w.updates} endpoint updates and ${w.newServices} new services per round, rounds ${results.map((r) => r.kind).join(', ')}\n`);
  console.log(table([
    ['round', 'plane', 'sync CPU s', 'idle MB', 'KB/proxy', 'connect s', 'conv p50 ms', 'CPU/push ms', 'new svc CPU ms', 'new svc ms', 'dropped', 'remote MB', 'load (1/5/15 min)'],
    ...results.map((r, i) => [String(i + 1), r.kind, fmt(r.cpuSync, 2), fmt(r.idleRssMb, 0), fmt(r.kbPerProxy, 0), fmt(r.connectS, 1), fmt(summarize(r.conv).p50, 0),
      fmt(r.cpuPerPushMs, 0), fmt(r.cpuNewServiceMs, 0), r.newConv.map((x) => fmt(x, 0)).join('/'), String(r.dropped), fmt(r.remoteMb, 0), r.load]),
  ]));
  const rows: string[][] = [['figure (lower is better)', 'Isthmus', 'istiod', 'Isthmus / istiod', 'verdict']];
  const json: Record<string, { isthmus: number | null; istiod: number | null; ratio: number | null }> = {};
  for (const f of figures(w)) {
    const [x, y] = [f.of(a), f.of(b)];
    const ratio = y > 0 ? x / y : Number.NaN;
    const unit = f.unit === '' ? '' : ` ${f.unit}`;
    const d = f.withProxies;
    const lost = d ? [...a, ...b].reduce((m, r) => m + d(r), 0) : 0;
    const note = d && lost > 0 ? `; NOT COMPARABLE: ${a.map(d).join('+')} Isthmus / ${b.map(d).join('+')} istiod proxies disconnected` : '';
    rows.push([f.name, `${fmt(x, f.digits)}${unit}`, `${fmt(y, f.digits)}${unit}`, fmt(ratio, 2), `${verdict(ratio)}${note}`]);
    json[f.name] = { isthmus: round(x, 3), istiod: round(y, 3), ratio: round(ratio, 3) };
  }
  console.log(`\n${table(rows)}\n`);
  for (const r of rows.slice(1)) console.log(`${r[0] ?? ''}: ${r[4] ?? ''}`);
  console.log(`\n${JSON.stringify({ workload: w, figures: json })}`);
}
