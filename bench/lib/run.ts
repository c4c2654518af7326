/**
 * The frame of a bench that runs a test bed and a discovery process: integer options, a log with the
 * elapsed time, the load average, and a teardown that runs whatever happens (success, failure, the
 * overall timeout, SIGINT/SIGTERM), each step bounded so a hung process cannot keep the run alive.
 *
 *   const bench = new Bench({ name: 'ca', timeoutS: 1800, teardown: () => { for (const c of channels) c.close(); } });
 *   const { log, res } = bench;
 *   async function main() { res.bedUp = Testbed.up({ dir: bench.dir, ... }); ... }
 *   await bench.run(main); // tears down, exits 0 (or 1 when main throws)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../src/model/errors.ts';
import type { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import type { Testbed } from '../../src/testing/testbed/testbed.ts';
import { fmt } from './stats.ts';

/** An integer option in [min, max]; otherwise says so (with `usage`, if given) and exits 64. */
export function intOption(name: string, value: string, min: number, max: number, usage?: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} wants an integer in [${min}, ${max}], got ${JSON.stringify(value)}${usage === undefined ? '' : `\n${usage}`}`);
    process.exit(64);
  }
  return n;
}

/** The 1, 5 and 15 minute load averages, e.g. `0.52 0.61 0.70`. */
export const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Polls `check` every `everyMs` until it is true (a throwing check counts as not yet); fails after
 * `timeoutMs` naming `what`, followed by `context()` (e.g. the control plane's last log lines).
 */
export async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 250, context: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try { ok = await check(); } catch { /* not answering yet */ }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms${context()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Awaits a teardown step for at most `ms`; a failure or a timeout is printed, never thrown. */
export async function bounded(what: string, p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_, reject) => { timer = setTimeout(() => { reject(new Error(`${what}: no answer after ${ms} ms`)); }, ms); })]);
  } catch (err) {
    console.error(`teardown: ${what}: ${errorMessage(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

export interface BenchOptions {
  /** In messages (`<name> bench: …`) and the temporary directory's name. */
  readonly name: string;
  /** The whole run's bound: past it, the bench tears down and exits 2. */
  readonly timeoutS: number;
  /** The bench's own resources, torn down first (before discovery and the test bed). */
  readonly teardown?: () => void | Promise<void>;
}

export class Bench {
  /** A temporary directory for the test bed, removed at teardown. */
  readonly dir: string;
  /** What teardown stops: set them as they start (delete `disc` once stopped). */
  readonly res: { bedUp?: Promise<Testbed>; disc?: DiscoveryProcess } = {};
  readonly #name: string;
  readonly #teardown: (() => void | Promise<void>) | undefined;
  readonly #t0 = performance.now();
  readonly #overall: NodeJS.Timeout;
  #aborting = false;
  #cleaning: Promise<void> | undefined;

  constructor(opts: BenchOptions) {
    this.#name = opts.name;
    this.#teardown = opts.teardown;
    this.dir = mkdtempSync(join(tmpdir(), `isthmus-bench-${opts.name}-`));
    this.#overall = setTimeout(() => { void this.#abort(`overall timeout of ${opts.timeoutS} s reached`, 2); }, opts.timeoutS * 1000);
    process.once('SIGINT', () => { void this.#abort('interrupted (SIGINT)', 130); });
    process.once('SIGTERM', () => { void this.#abort('terminated (SIGTERM)', 143); });
  }

  /** A line with the seconds since the start; silent once aborting (the main flow's failures are noise then). */
  readonly log = (msg: string): void => {
    if (this.#aborting) return;
    console.log(`[${fmt((performance.now() - this.#t0) / 1000, 1).padStart(6)} s] ${msg}`);
  };

  cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      await this.#teardown?.();
      if (this.res.disc) await bounded('stop discovery', this.res.disc.stop(), 10_000);
      if (this.res.bedUp) {
        const bed = await this.res.bedUp.catch(() => undefined); // Testbed.up stops what it started when it fails
        if (bed) await bounded('test bed down', bed.down(), 60_000);
      }
      rmSync(this.dir, { recursive: true, force: true });
    })();
    return this.#cleaning;
  }

  /** Runs `main`, then tears down and exits: 0, or 1 when `main` threw (with discovery's last log lines). */
  async run(main: () => Promise<void>): Promise<never> {
    let code = 0;
    try {
      await main();
    } catch (err) {
      if (this.#aborting) await new Promise(() => undefined); // abort() owns the exit
      console.error(`\n${this.#name} bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      if (this.res.disc) console.error(`last discovery log lines:\n${this.res.disc.logs().split('\n').slice(-20).join('\n')}`);
      code = 1;
    }
    clearTimeout(this.#overall);
    this.log('tearing down');
    await this.cleanup();
    process.exit(code);
  }

  async #abort(why: string, code: number): Promise<never> {
    this.#aborting = true;
    console.error(`\n${this.#name} bench: ${why}; tearing down`);
    await this.cleanup();
    process.exit(code);
  }
}
