/**
 * A de-duplicating work queue of keys, like client-go's rate-limited workqueue: a key queued while it
 * is being processed runs once more afterwards; a failed key is retried with exponential backoff up
 * to `maxRetries` times (istiod's controllers use 5), then dropped until the next event queues it.
 */
import { errorMessage } from '../model/errors.ts';
import { systemClock, type Clock } from '../model/clock.ts';

export interface WorkQueueOptions {
  readonly process: (key: string) => Promise<void>;
  readonly concurrency?: number;
  readonly maxRetries?: number;
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly clock?: Clock;
  readonly onError?: (key: string, err: string, willRetry: boolean) => void;
}

export class WorkQueue {
  readonly #opts: WorkQueueOptions;
  readonly #clock: Clock;
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #again = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #cancels = new Set<() => void>();
  readonly #idle = new Set<() => void>();
  #stopped = false;

  constructor(opts: WorkQueueOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) { this.#again.add(key); return; }
    this.#queued.add(key);
    this.#pump();
  }

  stop(): void {
    this.#stopped = true;
    this.#queued.clear();
    for (const c of this.#cancels) c();
    this.#cancels.clear();
  }

  /** Resolves when nothing is queued or running (retries waiting on a timer do not count). */
  idle(): Promise<void> {
    if (this.#queued.size === 0 && this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.#idle.add(resolve); });
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 4;
    while (!this.#stopped && this.#active.size < limit) {
      const next = this.#queued.values().next();
      if (next.done === true) break;
      const key = next.value;
      this.#queued.delete(key);
      this.#active.add(key);
      void this.#run(key);
    }
    if (this.#queued.size === 0 && this.#active.size === 0) {
      for (const r of this.#idle) r();
      this.#idle.clear();
    }
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#opts.process(key);
      this.#failures.delete(key);
    } catch (err) {
      const n = (this.#failures.get(key) ?? 0) + 1;
      const retry = n <= (this.#opts.maxRetries ?? 5) && !this.#stopped;
      this.#opts.onError?.(key, errorMessage(err), retry);
      if (retry) {
        this.#failures.set(key, n);
        const delay = Math.min((this.#opts.baseBackoffMs ?? 100) * 2 ** (n - 1), this.#opts.maxBackoffMs ?? 10_000);
        const cancel = this.#clock.setTimeout(() => { this.#cancels.delete(cancel); this.add(key); }, delay);
        this.#cancels.add(cancel);
      } else {
        this.#failures.delete(key);
      }
    } finally {
      this.#active.delete(key);
      if (this.#again.delete(key)) this.#queued.add(key);
      this.#pump();
    }
  }
}
