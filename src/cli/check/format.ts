/** Output of `isthmus check`: a readable report, or JSON whose shape scripts can rely on. Pure. */
import type { Finding } from './types.ts';

export interface Report {
  readonly findings: readonly Finding[];
  readonly clusters: readonly string[];
  /** The debug address read, or undefined when none was given. */
  readonly controlPlane?: string;
  readonly durationMs: number;
}

export function counts(findings: readonly Finding[]): { errors: number; warnings: number } {
  return { errors: findings.filter((f) => f.severity === 'error').length, warnings: findings.filter((f) => f.severity === 'warning').length };
}

function whereText(f: Finding): string {
  const w = f.where;
  return [w.cluster, w.namespace ? `namespace ${w.namespace}` : '', w.object ?? '', w.field ? `field ${w.field}` : ''].filter(Boolean).join(', ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function formatTable(r: Report): string {
  const scope = `${plural(r.clusters.length, 'cluster')} (${r.clusters.join(', ')})${r.controlPlane ? ` and the control plane at ${r.controlPlane}` : ''}`;
  const secs = (r.durationMs / 1000).toFixed(1);
  if (r.findings.length === 0) return `No problems found in ${scope} (${secs} s).\n`;
  const blocks = r.findings.map((f) => [
    `${f.severity.toUpperCase().padEnd(7)} ${f.rule}: ${f.message}`,
    `  where: ${whereText(f)}`,
    `  why:   ${f.why}`,
    `  fix:   ${f.fix}`,
  ].join('\n'));
  const c = counts(r.findings);
  return `${blocks.join('\n\n')}\n\n${plural(c.errors, 'error')}, ${plural(c.warnings, 'warning')} in ${scope} (${secs} s).\n`;
}

/** Stable JSON: `findings` (sorted), `summary` with counts, clusters and the control plane read. */
export function formatJson(r: Report): string {
  const c = counts(r.findings);
  return `${JSON.stringify({
    findings: r.findings.map((f) => ({ severity: f.severity, rule: f.rule, message: f.message, where: f.where, why: f.why, fix: f.fix })),
    summary: { errors: c.errors, warnings: c.warnings, clusters: r.clusters, controlPlane: r.controlPlane ?? null, durationMs: Math.round(r.durationMs) },
  }, null, 2)}\n`;
}
