/**
 * Per-connection push queue: at most one pending push per connection (a new request merges into
 * the pending one), at most `concurrency` pushes running at once (istiod's PILOT_PUSH_THROTTLE).
 * A connection whose push is running gets at most one more, merged, after it.
 *
 * A push that runs longer than `slotTimeoutMs` gives its slot back (the connection stays marked as
 * running until the push settles, so it never gets two at once): one stuck connection can never hold
 * a slot that other connections need.
 */
import { mergePush, type PushRequest } from './request.ts';

export type PushWork<C> = (conn: C, req: PushRequest) => Promise<void>;

export class PushQueue<C> {
  readonly #concurrency: number;
  readonly #work: PushWork<C>;
  readonly #pending = new Map<C, PushRequest>();
  readonly #order: C[] = [];
  readonly #running = new Set<C>();
  /** Running pushes that still hold a slot (a subset of #running). */
  #slots = 0;
  readonly #slotTimeoutMs: number;
  /** Running pushes that hold a slot: when each started, and how to give its slot back. */
  readonly #holding = new Map<C, { readonly since: number; readonly release: () => void }>();
  /** One timer for all slots (not one per push): armed while any push holds a slot. */
  #sweep: NodeJS.Timeout | undefined;
  #idle: (() => void)[] = [];

  constructor(concurrency: number, work: PushWork<C>, opts: { readonly slotTimeoutMs?: number } = {}) {
    this.#concurrency = Math.max(1, concurrency);
    this.#work = work;
    this.#slotTimeoutMs = opts.slotTimeoutMs ?? 0;
  }

  /** Pushes holding a slot now. */
  get busySlots(): number {
    return this.#slots;
  }

  enqueue(conn: C, req: PushRequest): void {
    const had = this.#pending.get(conn);
    this.#pending.set(conn, mergePush(had, req));
    if (!had && !this.#running.has(conn)) this.#order.push(conn);
    this.#pump();
  }

  /** Forgets a connection (it closed). */
  remove(conn: C): void {
    this.#pending.delete(conn);
    const i = this.#order.indexOf(conn);
    if (i >= 0) this.#order.splice(i, 1);
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Resolves when nothing is pending or running. */
  async drained(): Promise<void> {
    if (this.#pending.size === 0 && this.#running.size === 0) return;
    await new Promise<void>((resolve) => { this.#idle.push(resolve); });
  }

  #pump(): void {
    while (this.#slots < this.#concurrency) {
      const conn = this.#order.shift();
      if (conn === undefined) break;
      const req = this.#pending.get(conn);
      if (!req) continue;
      this.#pending.delete(conn);
      this.#running.add(conn);
      this.#slots++;
      let holding = true;
      const release = () => {
        if (!holding) return;
        holding = false;
        this.#slots--;
        this.#holding.delete(conn);
      };
      if (this.#slotTimeoutMs > 0) {
        this.#holding.set(conn, { since: performance.now(), release });
        this.#armSweep(this.#slotTimeoutMs);
      }
      void this.#work(conn, req).catch(() => undefined).finally(() => {
        release();
        this.#running.delete(conn);
        // Anything that arrived while this push ran goes to the back of the line.
        if (this.#pending.has(conn)) this.#order.push(conn);
        this.#pump();
        if (this.#holding.size === 0 && this.#sweep !== undefined) { clearTimeout(this.#sweep); this.#sweep = undefined; }
        if (this.#pending.size === 0 && this.#running.size === 0) {
          const waiters = this.#idle;
          this.#idle = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  #armSweep(afterMs: number): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = undefined;
      const now = performance.now();
      let next = Infinity;
      for (const [, h] of this.#holding) {
        const left = h.since + this.#slotTimeoutMs - now;
        if (left <= 0) h.release();
        else next = Math.min(next, left);
      }
      if (next !== Infinity) this.#armSweep(Math.max(1, Math.ceil(next)));
      this.#pump();
    }, afterMs);
    this.#sweep.unref();
  }
}
