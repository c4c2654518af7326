/**
 * `isthmus remote-clusters`: the clusters a running control plane knows and their sync status,
 * read from its debug endpoint `/debug/clusterz` (istioctl `x remote-clusters` layout).
 */
import type { Command } from '@commander-js/extra-typings';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';

export interface ClusterzEntry {
  readonly id: string;
  readonly secretName?: string;
  readonly syncStatus?: string;
}

/** Columns padded as a tab writer would (two spaces between columns). Pure. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length); });
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd()).join('\n') + '\n';
}

export function formatClusters(entries: readonly ClusterzEntry[], istiod: string): string {
  const rows = [['NAME', 'SECRET', 'STATUS', 'ISTIOD'], ...entries.map((e) => [e.id, e.secretName ?? '', e.syncStatus ?? '', istiod])];
  return table(rows);
}

export async function fetchClusterz(debugAddr: string, timeoutMs = 5000): Promise<ClusterzEntry[]> {
  const url = `${/^https?:\/\//.test(debugAddr) ? debugAddr : `http://${debugAddr}`}/debug/clusterz`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : errorMessage(err);
    throw new IsthmusError(ErrorCodes.KubeUnreachable, `cannot reach the control plane's debug endpoint ${url}: ${cause}`, { cause: err });
  }
  if (!res.ok) throw new IsthmusError(ErrorCodes.Usage, `${url}: HTTP ${res.status}`);
  const body: unknown = await res.json();
  if (!Array.isArray(body)) throw new IsthmusError(ErrorCodes.Usage, `${url}: expected a JSON list`);
  return (body as unknown[]).filter((e): e is ClusterzEntry => typeof e === 'object' && e !== null && typeof (e as { id?: unknown }).id === 'string');
}

export function register(program: Command): void {
  program
    .command('remote-clusters')
    .description('list the remote clusters the control plane knows and their sync status (from /debug/clusterz)')
    .option('--debug-addr <host:port>', 'the control plane\'s debug address', '127.0.0.1:8080')
    .action(async (opts: { debugAddr: string }) => {
      const entries = await fetchClusterz(opts.debugAddr);
      process.stdout.write(formatClusters(entries, opts.debugAddr));
    });
}
