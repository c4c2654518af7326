/**
 * Asking every replica at once, each with its own deadline (the exchange's timeout), and a
 * counting semaphore that bounds how many caller requests fan out at the same time.
 */
import { errorMessage } from '../model/errors.ts';
import type { DiscoveryResponse } from '../proto/types.ts';
import { grpcCodeOf } from '../xds/client/exchange.ts';
import type { Replica, ReplicaAnswer } from './merge.ts';

export type Ask = (replica: Replica, signal: AbortSignal) => Promise<DiscoveryResponse>;

/**
 * `all`: waits for every replica (answer or error). `first`: resolves at the first answer and
 * cancels the others; errors seen before it are kept, replicas cut short are left out.
 * Answers keep the replicas' order.
 */
export async function fanOut(replicas: readonly Replica[], ask: Ask, mode: 'all' | 'first', outer?: AbortSignal): Promise<ReplicaAnswer[]> {
  const ac = new AbortController();
  const onOuter = () => { ac.abort(); };
  outer?.addEventListener('abort', onOuter, { once: true });
  const answers: (ReplicaAnswer | undefined)[] = replicas.map(() => undefined);
  try {
    await new Promise<void>((resolve) => {
      let pending = replicas.length;
      if (pending === 0) { resolve(); return; }
      replicas.forEach((r, i) => {
        ask(r, ac.signal).then(
          (response) => {
            if (ac.signal.aborted && mode === 'first') return;
            answers[i] = { replica: r, response };
            if (mode === 'first') { ac.abort(); resolve(); }
          },
          (err: unknown) => {
            if (ac.signal.aborted && mode === 'first') return;
            answers[i] = { replica: r, error: errorMessage(err), code: grpcCodeOf(err) };
          },
        ).finally(() => { pending--; if (pending === 0) resolve(); });
      });
    });
  } finally {
    outer?.removeEventListener('abort', onOuter);
  }
  return answers.filter((a): a is ReplicaAnswer => a !== undefined);
}

/** A counting semaphore with a bounded wait queue. */
export class Semaphore {
  readonly #max: number;
  readonly #maxQueued: number;
  #used = 0;
  readonly #queue: (() => void)[] = [];

  constructor(max: number, maxQueued: number) {
    this.#max = max;
    this.#maxQueued = maxQueued;
  }

  get inUse(): number {
    return this.#used;
  }

  /** A release function, or undefined when the queue is full (the caller should refuse). */
  async acquire(): Promise<(() => void) | undefined> {
    if (this.#used < this.#max) { this.#used++; return this.#releaser(); }
    if (this.#queue.length >= this.#maxQueued) return undefined;
    await new Promise<void>((resolve) => { this.#queue.push(resolve); });
    return this.#releaser();
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next(); else this.#used--;
    };
  }
}
