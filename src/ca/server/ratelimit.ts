/**
 * Token buckets with an injected clock: a global one in front of authentication (so a flood of bad
 * tokens cannot turn into a flood of TokenReviews) and one per identity behind it.
 */
import { systemClock, type Clock } from '../../model/clock.ts';

export interface BucketConfig {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Bucket size: the largest burst. */
  readonly burst: number;
}

/** A bucket's state; `take` is pure so the arithmetic is testable on its own. */
export interface BucketState {
  readonly tokens: number;
  /** When `tokens` was computed (ms). */
  readonly at: number;
}

export function refill(cfg: BucketConfig, s: BucketState, now: number): BucketState {
  const elapsed = Math.max(0, now - s.at) / 1000;
  return { tokens: Math.min(cfg.burst, s.tokens + elapsed * cfg.ratePerSecond), at: Math.max(now, s.at) };
}

/** Takes one token if available: the new state and whether it was allowed. */
export function take(cfg: BucketConfig, s: BucketState, now: number): { readonly state: BucketState; readonly allowed: boolean } {
  const r = refill(cfg, s, now);
  if (r.tokens >= 1) return { state: { tokens: r.tokens - 1, at: r.at }, allowed: true };
  return { state: r, allowed: false };
}

export class TokenBucket {
  readonly #cfg: BucketConfig;
  readonly #clock: Pick<Clock, 'now'>;
  #state: BucketState;

  constructor(cfg: BucketConfig, clock: Pick<Clock, 'now'> = systemClock) {
    this.#cfg = cfg;
    this.#clock = clock;
    this.#state = { tokens: cfg.burst, at: clock.now() };
  }

  tryTake(): boolean {
    const { state, allowed } = take(this.#cfg, this.#state, this.#clock.now());
    this.#state = state;
    return allowed;
  }
}

/** One bucket per key, at most `maxKeys` of them (the least recently used is forgotten: it starts full again). */
export class KeyedRateLimiter {
  readonly #cfg: BucketConfig;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, BucketState>();

  constructor(cfg: BucketConfig, clock: Pick<Clock, 'now'> = systemClock, maxKeys = 100_000) {
    this.#cfg = cfg;
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  tryTake(key: string): boolean {
    const now = this.#clock.now();
    const prev = this.#buckets.get(key) ?? { tokens: this.#cfg.burst, at: now };
    const { state, allowed } = take(this.#cfg, prev, now);
    this.#buckets.delete(key);
    // A full bucket carries no information: forget it.
    if (state.tokens < this.#cfg.burst) this.#buckets.set(key, state);
    while (this.#buckets.size > this.#maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done === true) break;
      this.#buckets.delete(oldest.value);
    }
    return allowed;
  }

  get size(): number {
    return this.#buckets.size;
  }
}
