/**
 * One ADS stream: the proxy it speaks for, the caller's verified identity, per-type watch state,
 * and a bounded writer (bounded-send.ts): pushes hand their responses to the stream without waiting,
 * a proxy that has not read the previous push gets the next one only once it has (the push is parked,
 * merged, and re-queued), and a proxy whose pending bytes do not move for the send timeout is disconnected.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { TypeUrl } from '../../model/ids.ts';
import type { Proxy } from '../../model/proxy.ts';
import { mergePush, type PushRequest } from '../../push/request.ts';
import type { ReceivedRequest } from '../protocol/request-wire.ts';
import type { PreparedResponse } from '../protocol/response.ts';
import type { WatchState } from '../protocol/watch.ts';
import { BoundedSender, type BoundedSenderOptions } from './bounded-send.ts';
import type { Identity } from './types.ts';

export type AdsCall = ServerDuplexStream<ReceivedRequest, PreparedResponse>;
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
  readonly #sender: BoundedSender<Res>;
  #closed = false;
  #nonce = 0;
  #parked: PushRequest | undefined;

  constructor(call: XdsCall<Res>, proxy: Proxy, identity: Identity | undefined, now: Date, send: BoundedSenderOptions) {
    this.proxy = proxy;
    this.identity = identity;
    this.peer = call.getPeer();
    this.connectedAt = now;
    this.conId = `${proxy.id}-${++counter}`;
    this.#sender = new BoundedSender<Res>(call, send);
  }

  isClosed(): boolean {
    return this.#closed;
  }

  markClosed(): void {
    this.#closed = true;
    this.#parked = undefined;
    this.#sender.close();
  }

  nextNonce(version: string): string {
    return `${version}-${this.#nonce++}`;
  }

  /** Whether the proxy has not yet read what was sent before (a push now would only pile up). */
  get sendBusy(): boolean {
    return this.#sender.busy;
  }

  /** Request-driven response: waits (bounded by the send timeout) until earlier responses flushed, then writes. */
  async send(resp: Res): Promise<void> {
    if (this.#closed) throw new Error('connection closed');
    await this.#sender.send(resp);
  }

  /** Push: hands the response to the stream now; the caller never waits for the proxy to read it. */
  write(resp: Res): void {
    if (this.#closed) throw new Error('connection closed');
    this.#sender.write(resp);
  }

  /**
   * Keeps `req` (merged with any parked push) until the proxy has read what it was sent, then hands it
   * to `requeue`. Returns at once: a slow proxy holds no push slot while it catches up.
   */
  park(req: PushRequest, requeue: (req: PushRequest) => void): void {
    const first = this.#parked === undefined;
    this.#parked = mergePush(this.#parked, req);
    if (!first) return;
    this.#sender.idle().then(() => {
      const r = this.#parked;
      this.#parked = undefined;
      if (r && !this.#closed) requeue(r);
    }, () => { this.#parked = undefined; });
  }
}
