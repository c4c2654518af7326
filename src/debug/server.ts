/**
 * The debug and readiness HTTP server (istiod's :8080): JSON handlers registered by path.
 * Handlers are plain functions of the query; the server owns limits and error handling, so a
 * failing handler answers 500 and never takes the process down.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from '../process/node-http.ts';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../model/errors.ts';
import { parseListenAddress } from '../model/listen-address.ts';
import { ConnectionGuard, DEFAULT_GUARD, type ConnectionGuardOptions, type GuardStats } from './connection-guard.ts';

export type DebugResult =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string };

export type DebugHandler = (query: URLSearchParams, req: IncomingMessage) => DebugResult | Promise<DebugResult>;

/** Decides whether a request may see debug data; `undefined` allows it, a string is the refusal. */
export type DebugAuthorizer = (req: IncomingMessage) => Promise<string | undefined>;

export interface DebugServerOptions {
  /** `host:port`, `:port` (all interfaces) or `port`. */
  readonly address: string;
  /** Paths that need no authorization (e.g. `/ready`). */
  readonly publicPaths?: readonly string[];
  readonly authorize?: DebugAuthorizer;
  /**
   * Connection limits and deadlines (see ConnectionGuard): connections beyond them close the
   * longest-idle ones instead of being refused, so idle clients cannot starve `/ready`.
   */
  readonly connections?: Partial<ConnectionGuardOptions>;
}

export class DebugServer {
  readonly #handlers = new Map<string, DebugHandler>();
  readonly #opts: DebugServerOptions;
  readonly #guard: ConnectionGuard;
  #server: Server | undefined;

  constructor(opts: DebugServerOptions) {
    this.#opts = opts;
    this.#guard = new ConnectionGuard({ ...DEFAULT_GUARD, ...opts.connections });
  }

  /** Open connections, and how many were closed for sending nothing in time or to make room. */
  connectionStats(): GuardStats {
    return this.#guard.stats();
  }

  handle(path: string, handler: DebugHandler): this {
    this.#handlers.set(path, handler);
    return this;
  }

  paths(): string[] {
    return [...this.#handlers.keys()].sort();
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = parseListenAddress(this.#opts.address);
    // connectionsCheckingInterval: how often Node enforces headersTimeout/requestTimeout (30 s by default).
    const server = createServer({ connectionsCheckingInterval: 1_000, requestTimeout: 30_000 }, (req, res) => { void this.#serve(req, res); });
    this.#guard.attach(server);
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => { s.close(() => { resolve(); }); });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://debug');
    const send = (r: DebugResult) => {
      if ('json' in r) {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(r.json, null, 2)}\n`);
      } else {
        res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(r.text);
      }
    };
    try {
      if (req.method !== 'GET') { send({ status: 405, text: 'only GET\n' }); return; }
      const handler = this.#handlers.get(url.pathname);
      if (!handler) { send({ status: 404, text: `no debug handler for ${url.pathname}; try /debug/list\n` }); return; }
      if (this.#opts.authorize && !(this.#opts.publicPaths ?? []).includes(url.pathname)) {
        const refusal = await this.#opts.authorize(req);
        if (refusal !== undefined) { send({ status: 401, text: `${refusal}\n` }); return; }
      }
      send(await handler(url.searchParams, req));
    } catch (err) {
      send({ status: 500, text: `debug handler ${url.pathname} failed: ${errorMessage(err)}\n` });
    }
  }
}
