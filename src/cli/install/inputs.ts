/** Shared flag handling for the install verbs: `-f file|-`, repeated `--set`, durations. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import type { IopInput } from '../../operator/iop.ts';
import { DEFAULT_YAML_LIMITS } from '../../operator/safe-yaml.ts';

/** commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Thrown when an input is larger than `maxBytes`; reading stops there (a pipe may never end). */
function tooLarge(source: string, maxBytes: number): IsthmusError {
  return new IsthmusError(ErrorCodes.OperatorInvalid, `${source}: larger than the ${(maxBytes / (1024 * 1024)).toFixed(1)} MiB accepted for IstioOperator input (nothing was applied)`);
}

/** Reads a stream as UTF-8, refusing it as soon as it passes `maxBytes`. */
export async function readBounded(stream: Readable, source: string, maxBytes = DEFAULT_YAML_LIMITS.maxBytes): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    const b: Buffer = typeof c === 'string' ? Buffer.from(c) : c as Buffer;
    size += b.length;
    if (size > maxBytes) {
      stream.destroy();
      throw tooLarge(source, maxBytes);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function readStdin(stream: Readable = process.stdin): Promise<string> {
  return readBounded(stream, 'stdin');
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
      out.push({ text: await readBounded(createReadStream(f), f), source: f });
    } catch (err) {
      if (err instanceof IsthmusError) throw err;
      throw new IsthmusError(ErrorCodes.Usage, `cannot read -f ${f}: ${errorMessage(err)}`, { cause: err });
    }
  }
  return out;
}

