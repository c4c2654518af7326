/**
 * Keeps an HTTP/1 server answering (the readiness probe above all) while anyone who can reach it
 * opens connections and sends nothing, or sends headers one byte at a time.
 *
 * A connection limit that refuses new connections lets idle ones starve the probe, so nothing is
 * refused at accept. Instead every connection must send complete request headers within a short
 * deadline and may idle between requests only briefly; and when a source address holds more
 * than its share, or all sources together more than the total, an idle connection of the source
 * holding the most is closed to make room: silent ones first, then ones that sent something, the
 * connection accepted last among the last to go. A connection with a request in flight is
 * never closed for room. A probe that sends its request as soon as it connects is therefore
 * always served, however many idle connections others hold.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGuardOptions {
  /** Connections kept in total before idle ones are closed for room. */
  readonly maxConnections: number;
  /** Connections one source address keeps before its idle ones are closed for room. */
  readonly maxPerSource: number;
  /** A new connection must have sent complete request headers within this time. */
  readonly headersDeadlineMs: number;
  /** A keep-alive connection may wait this long for its next request. */
  readonly idleMs: number;
}

/** A new connection that has sent nothing yet is given this long before it counts as silent. */
const SILENT_GRACE_MS = 1_000;

export const DEFAULT_GUARD: ConnectionGuardOptions = { maxConnections: 128, maxPerSource: 16, headersDeadlineMs: 5_000, idleMs: 5_000 };

interface Conn {
  readonly socket: Socket;
  readonly source: string;
  /** Requests in flight on this connection (HTTP/1: at most one at a time, pipelining aside). */
  busy: number;
  /** When the connection last became idle (accepted, or finished a response). */
  idleSince: number;
  /** Whether a request was answered on it (a keep-alive connection waiting for its next one). */
  served: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface GuardStats {
  readonly open: number;
  /** Connections closed because they sent no complete request in time. */
  readonly timedOut: number;
  /** Idle connections closed to make room for new ones. */
  readonly evicted: number;
}

/** The source address without the IPv4-mapped IPv6 prefix. */
function sourceOf(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

export class ConnectionGuard {
  readonly #opts: ConnectionGuardOptions;
  /** Insertion order is idle order: a connection is moved to the end when it becomes idle. */
  readonly #idle = new Set<Conn>();
  readonly #bySocket = new Map<Socket, Conn>();
  readonly #perSource = new Map<string, number>();
  #timedOut = 0;
  #evicted = 0;

  constructor(opts: ConnectionGuardOptions) {
    this.#opts = opts;
  }

  stats(): GuardStats {
    return { open: this.#bySocket.size, timedOut: this.#timedOut, evicted: this.#evicted };
  }

  /** Installs the guard on `server` (before it listens). */
  attach(server: Server): void {
    // Node's own checks run every connectionsCheckingInterval (30 s by default): far too late.
    server.headersTimeout = this.#opts.headersDeadlineMs;
    server.keepAliveTimeout = this.#opts.idleMs;
    server.on('connection', (socket: Socket) => { this.#accept(socket); });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const c = this.#bySocket.get(req.socket);
      if (!c) return;
      c.busy++;
      this.#idle.delete(c);
      this.#clearTimer(c);
      res.once('close', () => {
        c.busy = Math.max(0, c.busy - 1);
        c.served = true;
        if (c.busy === 0 && !c.socket.destroyed) this.#becomeIdle(c, this.#opts.idleMs);
      });
    });
  }

  #accept(socket: Socket): void {
    const c: Conn = { socket, source: sourceOf(socket), busy: 0, idleSince: 0, served: false, timer: undefined };
    this.#bySocket.set(socket, c);
    this.#perSource.set(c.source, (this.#perSource.get(c.source) ?? 0) + 1);
    socket.once('close', () => { this.#forget(c); });
    this.#becomeIdle(c, this.#opts.headersDeadlineMs);
    this.#makeRoom(c);
  }

  #becomeIdle(c: Conn, deadlineMs: number): void {
    this.#idle.delete(c);
    c.idleSince = Date.now();
    this.#idle.add(c);
    this.#clearTimer(c);
    c.timer = setTimeout(() => {
      if (c.busy === 0) { this.#timedOut++; c.socket.destroy(); }
    }, deadlineMs);
    c.timer.unref();
  }

  #clearTimer(c: Conn): void {
    if (c.timer !== undefined) clearTimeout(c.timer);
    c.timer = undefined;
  }

  #forget(c: Conn): void {
    if (!this.#bySocket.delete(c.socket)) return;
    this.#clearTimer(c);
    this.#idle.delete(c);
    const n = (this.#perSource.get(c.source) ?? 1) - 1;
    if (n <= 0) this.#perSource.delete(c.source);
    else this.#perSource.set(c.source, n);
  }

  /**
   * The connection of `source` (or of any source), other than `except`, to close for room: first
   * the longest-idle one that has sent nothing for SILENT_GRACE_MS, then the longest-idle one
   * that sent something, and only then a connection accepted moments ago that has not sent yet.
   * A client that sends its request as soon as it connects (a probe) is thus the last to go.
   */
  #victim(except: Conn, source?: string): Conn | undefined {
    const now = Date.now();
    let talked: Conn | undefined;
    let young: Conn | undefined;
    for (const c of this.#idle) {
      if (c === except || (source !== undefined && c.source !== source)) continue;
      if (c.socket.bytesRead > 0 || c.busy > 0 || c.served) talked ??= c;
      else if (now - c.idleSince >= SILENT_GRACE_MS) return c;
      else young ??= c;
    }
    return talked ?? young;
  }

  #evict(c: Conn): void {
    this.#evicted++;
    this.#forget(c);
    c.socket.destroy();
  }

  #makeRoom(newcomer: Conn): void {
    if ((this.#perSource.get(newcomer.source) ?? 0) > this.#opts.maxPerSource) {
      const victim = this.#victim(newcomer, newcomer.source);
      if (victim) this.#evict(victim);
    }
    if (this.#bySocket.size > this.#opts.maxConnections) {
      let heaviest: string | undefined;
      let most = 0;
      for (const [src, n] of this.#perSource) if (n > most) { most = n; heaviest = src; }
      const victim = this.#victim(newcomer, heaviest) ?? this.#victim(newcomer);
      if (victim) this.#evict(victim);
    }
  }
}
