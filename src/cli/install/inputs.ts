/** Shared flag handling for the install verbs: `-f file|-`, repeated `--set`, durations. */
import { readFile } from 'node:fs/promises';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import type { IopInput } from '../../operator/iop.ts';

/** commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads every `-f` argument; `-` is standard input (at most once). */
export async function readInputs(files: readonly string[]): Promise<IopInput[]> {
  if (files.filter((f) => f === '-').length > 1) throw new IsthmusError(ErrorCodes.Usage, '-f - (standard input) may be given only once');
  const out: IopInput[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push({ text: await readStdin(), source: 'stdin' });
      continue;
    }
    try {
      out.push({ text: await readFile(f, 'utf8'), source: f });
    } catch (err) {
      throw new IsthmusError(ErrorCodes.Usage, `cannot read -f ${f}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return out;
}

/** `300`, `300s`, `5m`, `1m30s`, `500ms` to milliseconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || text === '') throw new IsthmusError(ErrorCodes.Usage, `invalid duration ${JSON.stringify(text)} (use e.g. 300s, 5m, 1m30s)`);
  return Math.round(total);
}
