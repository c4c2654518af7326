/**
 * The service-account token issuers each API server uses, learned per API client (so a remote cluster
 * whose secret now points at another server is learned afresh): from the server's issuer discovery
 * document (`/.well-known/openid-configuration`, its `issuer`), and from the `iss` of every token the
 * server itself vouched for in a TokenReview (an API server may accept several issuers).
 *
 * A token whose issuer is not known for its cluster can still be reviewed, but only one such review
 * per cluster per `probeIntervalMs`: enough for a newly added issuer to be learned, too few to let junk
 * tokens turn into API calls.
 */
import { errorMessage } from '../model/errors.ts';
import { systemClock, type Clock } from '../model/clock.ts';
import { silentLogger, type Logger } from '../observability/log.ts';

/** The part of a KubeClient the book uses. */
export interface DiscoveryClient {
  request<T>(method: 'GET', path: string): Promise<T>;
}

export interface IssuerBookOptions {
  readonly clock?: Pick<Clock, 'now'>;
  /** How long the first use of a cluster waits for its discovery document (default 2 s). */
  readonly discoveryWaitMs?: number;
  /** After a failed discovery, when to try again (default 60 s). */
  readonly retryMs?: number;
  /** One review of an unknown issuer per cluster per this long (default 5 s). */
  readonly probeIntervalMs?: number;
  /** Issuers remembered per cluster (default 8). */
  readonly maxIssuers?: number;
  readonly log?: Logger;
}

interface Entry {
  readonly issuers: Set<string>;
  discovery: Promise<void> | undefined;
  failedAt: number | undefined;
  lastProbe: number;
}

export class IssuerBook {
  readonly #entries = new WeakMap<object, Entry>();
  readonly #clock: Pick<Clock, 'now'>;
  readonly #waitMs: number;
  readonly #retryMs: number;
  readonly #probeMs: number;
  readonly #max: number;
  readonly #log: Logger;

  constructor(opts: IssuerBookOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#waitMs = opts.discoveryWaitMs ?? 2_000;
    this.#retryMs = opts.retryMs ?? 60_000;
    this.#probeMs = opts.probeIntervalMs ?? 5_000;
    this.#max = Math.max(1, opts.maxIssuers ?? 8);
    this.#log = opts.log ?? silentLogger;
  }

  #entry(client: object): Entry {
    let e = this.#entries.get(client);
    if (!e) {
      e = { issuers: new Set(), discovery: undefined, failedAt: undefined, lastProbe: -Infinity };
      this.#entries.set(client, e);
    }
    return e;
  }

  /** The issuers known for the cluster behind `client` (empty: nothing known yet), discovering them first if needed. */
  async issuers(client: DiscoveryClient, cluster: string): Promise<ReadonlySet<string>> {
    const e = this.#entry(client);
    const retry = e.failedAt !== undefined && this.#clock.now() - e.failedAt >= this.#retryMs;
    if (!e.discovery || retry) {
      e.failedAt = undefined;
      e.discovery = client.request<{ issuer?: unknown }>('GET', '/.well-known/openid-configuration').then((doc) => {
        if (typeof doc.issuer === 'string' && doc.issuer !== '') this.#add(e, doc.issuer);
        else e.failedAt = this.#clock.now();
      }, (err: unknown) => {
        e.failedAt = this.#clock.now();
        this.#log.warn(`cluster ${cluster}: service-account issuer discovery failed (issuers are learned from reviewed tokens instead): ${errorMessage(err)}`);
      });
    }
    if (e.issuers.size === 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([e.discovery, new Promise<void>((r) => { timer = setTimeout(r, this.#waitMs); })]);
      if (timer) clearTimeout(timer);
    }
    return e.issuers;
  }

  /** Records the issuer of a token the API server vouched for. */
  learn(client: object, issuer: string): void {
    this.#add(this.#entry(client), issuer);
  }

  /** Whether a token of an unknown issuer may be reviewed now (at most one per probe interval per cluster). */
  tryProbe(client: object): boolean {
    const e = this.#entry(client);
    const now = this.#clock.now();
    if (now - e.lastProbe < this.#probeMs) return false;
    e.lastProbe = now;
    return true;
  }

  #add(e: Entry, issuer: string): void {
    if (e.issuers.has(issuer)) return;
    if (e.issuers.size >= this.#max) {
      const oldest = e.issuers.values().next();
      if (oldest.done !== true) e.issuers.delete(oldest.value);
    }
    e.issuers.add(issuer);
  }
}
