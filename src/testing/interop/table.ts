/**
 * Reads the tables `istioctl proxy-status` and `isthmus proxy-status` print (Go's tabwriter: columns
 * padded with spaces, at least two between columns, so a header such as `SUBSCRIBED TYPES` keeps its
 * single space). The interop tests compare ours with istioctl's through these.
 */

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** What a finished command printed and how it exited. */
export interface CommandOutput {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const splitCells = (line: string): string[] => line.trim().split(/ {2,}/);

/** The header and rows of `text`; blank lines are skipped. */
export function parseTable(text: string): Table {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return { header: splitCells(lines[0] ?? ''), rows: lines.slice(1).map(splitCells) };
}

/** The table a command printed; throws, with its output, if the command did not exit 0. */
export function commandTable(r: CommandOutput, what: string): Table {
  if (r.code !== 0) throw new Error(`${what}: exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return parseTable(r.stdout);
}

/** Rows as objects keyed by header (a missing cell is ''); the age suffix of a status cell, " (12s)" or " (2m3s)", is dropped. */
export function tableRecords(t: Table): Record<string, string>[] {
  return t.rows.map((row) => Object.fromEntries(t.header.map((h, i) => [h, (row[i] ?? '').replace(/ \((?:\d+[a-z]+)+\)$/, '')])));
}
