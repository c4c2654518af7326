/**
 * Merges bursts of changes into one push: emits after `afterMs` without a new change, or `maxMs`
 * after the first change of the burst, whichever comes first (istiod's PILOT_DEBOUNCE_AFTER,
 * default 100 ms, and PILOT_DEBOUNCE_MAX, default 10 s). Time comes from an injected clock.
 */
import type { Clock } from '../model/clock.ts';
import { PushAccumulator, type PushRequest } from './request.ts';

export interface DebounceOptions {
  readonly afterMs: number;
  readonly maxMs: number;
  readonly clock: Clock;
}

export class Debouncer {
  readonly #opts: DebounceOptions;
  readonly #emit: (req: PushRequest) => void;
  #pending: PushAccumulator | undefined;
  /** `pending` as last answered, until the next change. */
  #pendingRequest: PushRequest | undefined;
  #firstAt = 0;
  #timer: (() => void) | undefined;

  constructor(opts: DebounceOptions, emit: (req: PushRequest) => void) {
    this.#opts = opts;
    this.#emit = emit;
  }

  /** What waits to be emitted: every change since the last emitted request, merged. */
  get pending(): PushRequest | undefined {
    if (!this.#pending) return undefined;
    this.#pendingRequest ??= this.#pending.request();
    return this.#pendingRequest;
  }

  enqueue(req: PushRequest): void {
    const { clock, afterMs, maxMs } = this.#opts;
    if (afterMs <= 0) { this.#emit(req); return; }
    if (this.#pending) {
      this.#pending.add(req);
    } else {
      this.#firstAt = clock.now();
      this.#pending = new PushAccumulator(req);
    }
    this.#pendingRequest = undefined;
    this.#timer?.();
    const untilMax = this.#firstAt + maxMs - clock.now();
    this.#timer = clock.setTimeout(() => { this.flush(); }, Math.max(0, Math.min(afterMs, untilMax)));
  }

  /** Emits what is pending now (also used on shutdown). */
  flush(): void {
    this.#timer?.();
    this.#timer = undefined;
    const req = this.pending;
    this.#pending = undefined;
    this.#pendingRequest = undefined;
    if (req) this.#emit(req);
  }

  stop(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#pending = undefined;
    this.#pendingRequest = undefined;
  }
}
