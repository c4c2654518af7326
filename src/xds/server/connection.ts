/**
 * One ADS stream: the proxy it speaks for, the caller's verified identity, per-type watch state,
 * and an ordered, back-pressured writer (a slow proxy never makes the server buffer unboundedly:
 * each push waits until the previous write drained).
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { TypeUrl } from '../../model/ids.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import type { PreparedResponse } from '../protocol/response.ts';
import type { WatchState } from '../protocol/watch.ts';
import type { Identity } from './types.ts';

export type AdsCall = ServerDuplexStream<DiscoveryRequest, PreparedResponse>;
/** What a Connection writes to: a state-of-the-world or a delta ADS call. */
export type XdsCall<Res> = ServerDuplexStream<unknown, Res>;

let counter = 0;

export class Connection<Res = PreparedResponse> {
  readonly conId: string;
  readonly proxy: Proxy;
  readonly identity: Identity | undefined;
  readonly peer: string;
  readonly connectedAt: Date;
  readonly watches = new Map<TypeUrl, WatchState>();
  readonly #call: XdsCall<Res>;
  #closed = false;
  #writeChain: Promise<void> = Promise.resolve();
  #nonce = 0;

  constructor(call: XdsCall<Res>, proxy: Proxy, identity: Identity | undefined, now: Date) {
    this.#call = call;
    this.proxy = proxy;
    this.identity = identity;
    this.peer = call.getPeer();
    this.connectedAt = now;
    this.conId = `${proxy.id}-${++counter}`;
  }

  isClosed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
  }

  nextNonce(version: string): string {
    return `${version}-${this.#nonce++}`;
  }

  /** Writes in order; resolves once the message is handed to the transport and the buffer drained. */
  async send(resp: Res): Promise<void> {
    const next = this.#writeChain.then(() => this.#write(resp));
    this.#writeChain = next.catch(() => undefined);
    return next;
  }

  async #write(resp: Res): Promise<void> {
    if (this.#closed) throw new Error('connection closed');
    const flushed = this.#call.write(resp);
    if (!flushed) {
      await new Promise<void>((resolve) => {
        const done = () => { this.#call.off('drain', done); this.#call.off('close', done); resolve(); };
        this.#call.on('drain', done);
        this.#call.on('close', done);
      });
    }
  }
}
