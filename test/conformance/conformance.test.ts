/**
 * Issue 13: the differential conformance suite. The same objects on the same two API servers, the
 * same simulated proxies (sidecars on both networks, sni-dnat east-west gateways, a proxyless gRPC
 * client), the real istiod and a real `isthmus discovery`; every CDS/EDS/LDS/RDS resource compared
 * field by field. A difference not in accepted-differences.ts fails, printing istiod's value and ours.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACCEPTED } from './accepted-differences.ts';
import { EnvoyJudges } from './lib/envoy-judges.ts';
import { compare, settled, World, type NodeResult } from './lib/runner.ts';
import { PROXIES, SCENARIOS } from './scenarios.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-conformance-'));
let world: World | undefined;
let judges: EnvoyJudges | undefined;

before(async () => {
  world = await World.up(dir, (s) => { console.log(s); });
  judges = await EnvoyJudges.start(dir, world.isthmus.grpcAddr, PROXIES);
});

after(async () => {
  await judges?.stop();
  await world?.down();
  rmSync(dir, { recursive: true, force: true });
});

const show = (v: unknown): string => (v === undefined ? '(absent)' : JSON.stringify(v)).slice(0, 400);

test('istiod and Isthmus answer every simulated proxy alike, scenario by scenario', async (t) => {
  const w = world;
  const envoys = judges;
  assert.ok(w && envoys, 'world and Envoy judges are up');
  const rejected: string[] = [];
  const rows: { scenario: string; resources: number; identical: number; equivalent: number; knownGaps: number; accepted: number; failures: number }[] = [];
  const used = new Map<string, number>();
  const failures: string[] = [];
  const dump: unknown[] = [];
  for (const s of SCENARIOS) {
    await w.apply(s);
    const results: NodeResult[] = [];
    for (const p of PROXIES) {
      const expect = s.expect?.[p.role] ?? [];
      const [a, b] = await Promise.all([settled(w.istiod.grpcAddr, p, expect), settled(w.isthmus.grpcAddr, p, expect)]);
      results.push(compare(p.role, a, b, ACCEPTED.filter((e) => e.scenarios === undefined || e.scenarios.includes(s.name))));
    }
    // Isthmus has settled on the scenario: real Envoy must have taken all of it.
    const verdicts = await envoys.verdicts();
    for (const v of verdicts) for (const problem of v.problems) rejected.push(`[${s.name}] ${v.role}: ${problem}`);
    console.log(`real Envoy after "${s.name}": ${verdicts.map((v) => `${v.role} ${v.accepted} updates accepted, ${v.problems.length === 0 ? '0 rejected' : 'REJECTED'}`).join('; ')}`);
    for (const r of results) {
      for (const { reason } of r.accepted) used.set(reason, (used.get(reason) ?? 0) + 1);
      for (const f of r.failures) dump.push({ scenario: s.name, role: r.role, ...f });
      for (const a of r.accepted) dump.push({ scenario: s.name, role: r.role, ...a.d, accepted: a.reason });
      for (const f of r.failures) failures.push(`[${s.name}] ${r.role} ${f.path}\n    istiod:  ${show(f.istiod)}\n    isthmus: ${show(f.isthmus)}`);
    }
    rows.push({
      scenario: s.name,
      resources: results.reduce((n, r) => n + r.resources, 0),
      identical: results.reduce((n, r) => n + r.identical, 0),
      equivalent: results.reduce((n, r) => n + r.equivalent, 0),
      knownGaps: results.reduce((n, r) => n + r.knownGaps, 0),
      accepted: results.reduce((n, r) => n + r.accepted.length, 0),
      failures: results.reduce((n, r) => n + r.failures.length, 0),
    });
  }
  const zero = { scenario: 'TOTAL', resources: 0, identical: 0, equivalent: 0, knownGaps: 0, accepted: 0, failures: 0 };
  const total = rows.reduce((a, r) => ({
    scenario: 'TOTAL', resources: a.resources + r.resources, identical: a.identical + r.identical, equivalent: a.equivalent + r.equivalent,
    knownGaps: a.knownGaps + r.knownGaps, accepted: a.accepted + r.accepted, failures: a.failures + r.failures,
  }), zero);
  console.log('| scenario | resources compared | identical | equivalent (only harmless differences) | with known gaps | accepted differences | failures |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [...rows, total]) console.log(`| ${r.scenario} | ${r.resources} | ${r.identical} | ${r.equivalent} | ${r.knownGaps} | ${r.accepted} | ${r.failures} |`);
  const gaps = [...used.entries()].filter(([reason]) => reason.startsWith('NOT YET FIXED'));
  console.log(`\naccepted differences by reason (${used.size} reasons used, ${gaps.length} of them known gaps):`);
  for (const [reason, n] of [...used.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${reason}`);
  const unused = ACCEPTED.filter((e) => !used.has(e.reason));
  for (const e of unused) t.diagnostic(`accepted entry never used: ${e.path} (${e.reason})`);
  // CONFORMANCE_DUMP=<file>: every difference as JSON (accepted ones with their reason), for triage.
  const dumpFile = process.env['CONFORMANCE_DUMP'];
  if (dumpFile !== undefined && dumpFile !== '') writeFileSync(dumpFile, JSON.stringify(dump, null, 1));
  if (rejected.length > 0) console.log(`\nreal Envoy rejected:\n${rejected.join('\n')}`);
  if (failures.length > 0) console.log(`\n${failures.length} unexplained differences:\n${failures.slice(0, 300).join('\n')}`);
  assert.equal(failures.length, 0, `${failures.length} differences are not in test/conformance/accepted-differences.ts (listed above)`);
  assert.deepEqual(rejected, [], 'real Envoy rejected none of the scenarios\' resources');
});
