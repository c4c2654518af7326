/**
 * Polling for tests: call a probe until it returns something other than `undefined`, or fail with
 * what was awaited once the deadline has passed.
 *
 *   const pem = await until('root cert in sample', () => rootCert(c, 'sample'), { timeoutMs: 10_000 });
 *
 *   // one file's defaults, with its logs appended to a timeout:
 *   const until = poller({ timeoutMs: 15_000, intervalMs: 20, context: () => disc.logs() });
 *   await until('cluster2 shard', probe);            // 15 s
 *   await until('resync', probe, 40_000);            // this call's own timeout
 *
 * The probe is called first, then the deadline checked, then the interval slept: a probe that
 * answers on its first call never sleeps, and one last probe runs after the deadline has passed.
 * A probe that throws ends the wait with that error (no retry).
 */
import { setTimeout as sleep } from 'node:timers/promises';

export type Probe<T> = () => T | undefined | Promise<T | undefined>;

export interface UntilOptions {
  /** How long to keep probing (default 10 s). */
  timeoutMs?: number;
  /** The pause between probes (default 25 ms). */
  intervalMs?: number;
  /** Appended, after a newline, to the timeout's message (e.g. the last lines of a process's log). */
  context?: () => string;
}

export async function until<T>(what: string, probe: Probe<T>, opts: UntilOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 25, context } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) {
      const extra = context === undefined ? '' : `\n${context()}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${extra}`);
    }
    await sleep(intervalMs);
  }
}

/** `until` with one set of defaults; a call may give its own timeout. */
export function poller(defaults: UntilOptions): <T>(what: string, probe: Probe<T>, timeoutMs?: number) => Promise<T> {
  return (what, probe, timeoutMs) => until(what, probe, timeoutMs === undefined ? defaults : { ...defaults, timeoutMs });
}
