/**
 * The one clock every time-dependent module takes, injected so tests move time by hand
 * (`ManualClock` in src/testing/manual-clock.ts) instead of sleeping. Modules that only read the
 * time take `Pick<Clock, 'now'>`.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** The process clock and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => { clearTimeout(t); };
  },
};

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return; }
    const onAbort = () => { cancel(); resolve(); };
    const cancel = clock.setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
