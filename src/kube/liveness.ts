/**
 * Whether a cluster's API server is answering at all. Watches cannot tell a frozen server from a
 * quiet cluster quickly (bookmarks come about once a minute), so a cheap probe does: `GET /readyz`
 * every `intervalMs`, each with a `timeoutMs` deadline. Any answer below 500 counts as alive (401/403
 * still mean the server is running); a 5xx (`/readyz` fails while etcd is unreachable) or no answer
 * in time counts as down. A down server is noticed within `intervalMs + timeoutMs`. Anything the
 * server sends afterwards on any request of the client (a watch event, a list) counts as alive
 * again at once, without waiting for the next probe.
 */
import { errorMessage } from '../model/errors.ts';
import type { KubeClient } from './client.ts';

export interface LivenessOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly path?: string;
  /** Told when the state flips (for logs). */
  readonly onChange?: (alive: boolean, detail: string) => void;
}

export interface LivenessStatus {
  readonly alive: boolean;
  /** Why the last probe failed, if it did. */
  readonly lastError?: string;
  /** When the current state began (ms since the epoch). */
  readonly since: number;
}

export class LivenessProbe {
  readonly #client: KubeClient;
  readonly #opts: LivenessOptions;
  #status: LivenessStatus = { alive: true, since: Date.now() };
  /** When the last failing probe concluded. */
  #failedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #abort = new AbortController();
  #stopped = false;

  constructor(client: KubeClient, opts: LivenessOptions) {
    this.#client = client;
    this.#opts = opts;
  }

  status(): LivenessStatus {
    if (!this.#status.alive && this.#client.lastAnswerAt > this.#failedAt) return { alive: true, since: this.#client.lastAnswerAt };
    return this.#status;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => { void this.#probe(); }, this.#opts.intervalMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    const started = Date.now();
    let failure: string | undefined;
    try {
      const res = await this.#client.requestText('GET', this.#opts.path ?? '/readyz', undefined, undefined, { signal: this.#abort.signal, timeoutMs: this.#opts.timeoutMs });
      if (res.status >= 500) failure = `${this.#opts.path ?? '/readyz'} answered ${res.status}`;
    } catch (err) {
      failure = err instanceof Error && err.name === 'TimeoutError'
        ? `no answer to ${this.#opts.path ?? '/readyz'} within ${this.#opts.timeoutMs} ms`
        : errorMessage(err);
    }
    if (this.#stopped) return;
    const alive = failure === undefined;
    if (!alive) this.#failedAt = Date.now();
    if (alive !== this.#status.alive) {
      this.#status = { alive, since: started, ...(failure === undefined ? {} : { lastError: failure }) };
      this.#opts.onChange?.(alive, failure ?? 'answering again');
    } else if (failure !== undefined) {
      this.#status = { ...this.#status, lastError: failure };
    }
    this.#schedule();
  }
}
