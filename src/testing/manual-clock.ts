/** A `Clock` whose time and timers move only in `advance` (no sleeps in unit tests). */
import type { Clock } from '../model/clock.ts';

interface Pending {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #pending: Pending[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const p: Pending = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#pending.push(p);
    return () => { this.#pending = this.#pending.filter((x) => x !== p); };
  }

  get pendingTimers(): number {
    return this.#pending.length;
  }

  /**
   * Moves the clock forward by `ms`, firing due timers in order; after each, `settle` lets the
   * promise chains they started run (pass a function that awaits a few microtask/IO turns).
   */
  async advance(ms: number, settle: () => Promise<void> = flush): Promise<void> {
    const end = this.#now + ms;
    await settle();
    for (;;) {
      const next = [...this.#pending].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > end) break;
      this.#pending = this.#pending.filter((x) => x !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await settle();
    }
    this.#now = end;
  }

  /** Moves the clock and fires due timers synchronously (for code that starts no promise chains). */
  advanceSync(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = [...this.#pending].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next || next.at > end) break;
      this.#pending = this.#pending.filter((x) => x !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }
}

/** Lets pending promise callbacks run (a few macrotask turns). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => { setImmediate(r); });
}
