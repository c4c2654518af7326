/**
 * proxy-status output (docs/istio-compat.md §14.8), pure:
 *
 * - default (istioctl 1.27+): `NAME CLUSTER ISTIOD VERSION SUBSCRIBED TYPES`, the last column
 *   `N (CDS,LDS,EDS,RDS,<others sorted>)` over the types that are not IGNORED, or `0`;
 * - `-v 1`: `NAME CLUSTER <a column per type seen, plus CDS LDS EDS RDS ECDS, ordered by type URL> ISTIOD VERSION`;
 * - `-o json|yaml`: the rows as data.
 *
 * Alignment is Go's text/tabwriter as istioctl configures it (minwidth 0, tabwidth 8, padding 5,
 * pad with spaces, no flags): every tab-terminated cell is padded to the widest cell of its column
 * plus 5; the text after a line's last tab is not aligned. Widths count UTF-16 units (names are ASCII).
 */
import { stringify } from 'yaml';
import { SHORT_NAMES, shortName, statusText, type ProxyRow, type TypeStatus } from './status.ts';

const PADDING = 5;

/** Go tabwriter over rows of cells; the last cell of each row is the unaligned trailing text. */
export function tabwrite(rows: readonly (readonly string[])[], padding = PADDING): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++) widths[i] = Math.max(widths[i] ?? 0, (r[i] ?? '').length + padding);
  }
  return rows.map((r) => `${r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - c.length))).join('')}\n`).join('');
}

const PRIMARY = ['CDS', 'LDS', 'EDS', 'RDS'];

/** `4 (CDS,LDS,EDS,RDS)`: subscribed (not IGNORED) types, the four classic ones first, then the others sorted. */
export function subscribedTypes(types: readonly TypeStatus[]): string {
  const names = [...new Set(types.filter((t) => t.status !== 'UNKNOWN').map((t) => t.type))];
  if (names.length === 0) return '0';
  const primary = PRIMARY.filter((p) => names.includes(p));
  const others = names.filter((n) => !PRIMARY.includes(n)).sort();
  const all = [...primary, ...others];
  return `${all.length} (${all.join(',')})`;
}

export function defaultTable(rows: readonly ProxyRow[]): string {
  return tabwrite([
    ['NAME', 'CLUSTER', 'ISTIOD', 'VERSION', 'SUBSCRIBED TYPES'],
    ...rows.map((r) => [r.name, r.cluster, r.istiod, r.version, subscribedTypes(r.types)]),
  ]);
}

const FIXED_URLS = [...SHORT_NAMES.entries()].filter(([, s]) => ['CDS', 'LDS', 'EDS', 'RDS', 'ECDS'].includes(s)).map(([u]) => u);

/** The per-type columns of `-v 1`: every type seen plus the five classic ones, ordered by full type URL. */
export function verboseColumns(rows: readonly ProxyRow[]): string[] {
  const urls = new Set(FIXED_URLS);
  for (const r of rows) for (const t of r.types) if (t.typeUrl) urls.add(t.typeUrl);
  return [...urls].sort();
}

export function verboseTable(rows: readonly ProxyRow[], now: number): string {
  const cols = verboseColumns(rows);
  return tabwrite([
    ['NAME', 'CLUSTER', ...cols.map(shortName), 'ISTIOD', 'VERSION'],
    ...rows.map((r) => [r.name, r.cluster, ...cols.map((u) => statusText(r.types.find((t) => t.typeUrl === u), now)), r.istiod, r.version]),
  ]);
}

/** One proxy, one line per type it subscribes to (and the classic ones it does not, as IGNORED). */
export function singleProxy(row: ProxyRow, now: number): string {
  const head = tabwrite([
    ['NAME', 'CLUSTER', 'ISTIOD', 'VERSION'],
    [row.name, row.cluster, row.istiod, row.version],
  ]);
  const urls = new Set([...FIXED_URLS, ...row.types.map((t) => t.typeUrl)]);
  const typeRows = [...urls].sort().map((u) => {
    const t = row.types.find((x) => x.typeUrl === u);
    return [shortName(u), statusText(t, now), t?.lastUpdated?.toISOString() ?? '', t?.error ?? ''];
  });
  return `${head}\n${tabwrite([['TYPE', 'STATUS', 'LAST UPDATED', 'ERROR'], ...typeRows]).replace(/ +\n/g, '\n')}`;
}

export interface RowData {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly istiod: string;
  readonly version: string;
  readonly subscribedTypes: string[];
  readonly types: Record<string, { typeUrl: string; status: string; lastUpdated?: string; error?: string }>;
}

export function rowData(r: ProxyRow): RowData {
  const types: RowData['types'] = {};
  for (const t of r.types) {
    types[t.type] = { typeUrl: t.typeUrl, status: t.status, ...(t.lastUpdated ? { lastUpdated: t.lastUpdated.toISOString() } : {}), ...(t.error ? { error: t.error } : {}) };
  }
  return {
    name: r.name, cluster: r.cluster, namespace: r.namespace, istiod: r.istiod, version: r.version,
    subscribedTypes: r.types.filter((t) => t.status !== 'UNKNOWN').map((t) => t.type), types,
  };
}

export type OutputFormat = 'table' | 'json' | 'yaml';

export function render(rows: readonly ProxyRow[], opts: { output: OutputFormat; verbosity: number; now: number }): string {
  if (opts.output === 'json') return `${JSON.stringify(rows.map(rowData), null, 2)}\n`;
  if (opts.output === 'yaml') return stringify(rows.map(rowData));
  return opts.verbosity >= 1 ? verboseTable(rows, opts.now) : defaultTable(rows);
}
