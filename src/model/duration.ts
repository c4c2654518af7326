/**
 * Durations in Go's `time.ParseDuration` syntax, which istiod's flags and env vars use and so users
 * write: a sequence of decimal numbers, each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), as in
 * `300ms`, `1.5s`, `1m30s`; `0` alone is allowed. A number without a unit is refused, as Go refuses it,
 * rather than guessed (a bare `30` meant 30 ms in one place and 30 s in another before this module).
 */
import { ErrorCodes, IsthmusError } from './errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds in `text`; `what` (a flag or env var name) goes into the error, which suggests a fix. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const bad = (why: string) => new IsthmusError(ErrorCodes.Usage, `${what}=${JSON.stringify(text)}: ${why} (Go duration syntax, e.g. 500ms, 30s, 1m30s)`);
  if (t === '') throw bad('empty duration');
  if (/^[\d.]+$/.test(t)) throw bad(`missing unit: write ${t}s for seconds or ${t}ms for milliseconds`);
  let total = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < t.length) {
    PART.lastIndex = at;
    const m = PART.exec(t);
    if (!m?.[1] || !m[2]) throw bad('not a duration');
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
    at = PART.lastIndex;
  }
  return total;
}
