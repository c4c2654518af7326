/**
 * Aggregated logging for messages an unauthenticated caller can trigger at will (refusals): per key,
 * the first occurrence in an interval is logged with its details, later ones are only counted, and
 * one summary line per interval says how many were suppressed. A flood costs at most two lines per
 * key per interval; the counts belong in metrics.
 */
import type { LogFields, Logger } from './log.ts';
import { systemClock, type Clock } from '../model/clock.ts';

export interface AggregatedLogOptions {
  /** Length of one interval (default 10 s). */
  readonly intervalMs?: number;
  /** Distinct keys tracked at once; beyond that, keys are folded into `other` (default 64). */
  readonly maxKeys?: number;
  readonly clock?: Pick<Clock, 'now'>;
}

interface KeyState {
  readonly msg: string;
  windowStart: number;
  suppressed: number;
  lastFields: LogFields | undefined;
}

export class AggregatedLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #keys = new Map<string, KeyState>();
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, opts: AggregatedLogOptions = {}) {
    this.#log = log;
    this.#intervalMs = Math.max(1, opts.intervalMs ?? 10_000);
    this.#maxKeys = Math.max(1, opts.maxKeys ?? 64);
    this.#clock = opts.clock ?? systemClock;
  }

  /** Logs `msg` at warn level, aggregated under `key` (the message itself when omitted). */
  warn(msg: string, fields?: LogFields, key: string = msg): void {
    const now = this.#clock.now();
    let k = this.#keys.get(key);
    if (!k && this.#keys.size >= this.#maxKeys) {
      for (const [old, s] of this.#keys) if (s.suppressed === 0 && now - s.windowStart >= this.#intervalMs) this.#keys.delete(old);
      if (this.#keys.size >= this.#maxKeys) { key = 'other'; k = this.#keys.get(key); }
    }
    if (k && now - k.windowStart < this.#intervalMs) {
      k.suppressed++;
      k.lastFields = fields;
      this.#schedule();
      return;
    }
    if (k) this.#summarize(k);
    this.#keys.set(key, { msg, windowStart: now, suppressed: 0, lastFields: undefined });
    this.#log.warn(msg, fields);
  }

  /** Writes pending summaries now (shutdown, tests). */
  flush(): void {
    for (const [key, k] of this.#keys) {
      this.#summarize(k);
      this.#keys.delete(key);
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #summarize(k: KeyState): void {
    if (k.suppressed === 0) return;
    const secs = Math.round(this.#intervalMs / 100) / 10;
    this.#log.warn(`${k.msg} (${k.suppressed} more in the last ${secs}s, not logged one by one)`, { ...k.lastFields, suppressed: k.suppressed });
    k.suppressed = 0;
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = this.#clock.now();
      let pending = false;
      for (const [key, k] of this.#keys) {
        if (now - k.windowStart >= this.#intervalMs) {
          this.#summarize(k);
          this.#keys.delete(key);
        } else if (k.suppressed > 0) {
          pending = true;
        }
      }
      if (pending) this.#schedule();
    }, this.#intervalMs);
    this.#timer.unref();
  }
}
