/**
 * The injection webhook's HTTPS server (istiod's 15017, `--httpsAddr`): POST `/inject` and
 * `/inject/...` with an AdmissionReview v1. Limits: body size, connections, header and request
 * timeouts, a deadline for the namespace look-up; malformed, oversized or misdirected requests get a
 * 4xx with a JSON body naming the problem; nothing a caller sends can stop the server.
 * The serving certificate is handed in (and replaced with `updateTls`) by the composition root.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, type Registry } from 'prom-client';
import { parseListenAddress } from '../model/listen-address.ts';
import { ErrorCodes, errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';
import type { InjectorConfig } from './config.ts';
import { parseInjectPath } from './path.ts';
import { BadReview, admit, parseReview } from './review.ts';

export interface NamespaceInfo {
  readonly labels?: Readonly<Record<string, string>> | undefined;
  /** `topology.istio.io/network` of that cluster's system namespace. */
  readonly systemNetwork?: string | undefined;
}

export interface InjectionServerOptions {
  /** `host:port`, `:port` or `port`. */
  readonly address: string;
  readonly certChainPem: string;
  readonly keyPem: string;
  readonly config: () => InjectorConfig;
  /** Labels of a namespace in the cluster the webhook path names (undefined: the config cluster); may fail or return nothing. */
  readonly namespaceInfo: (clusterId: string | undefined, namespace: string) => Promise<NamespaceInfo>;
  readonly log: Logger;
  readonly metrics?: Registry;
  readonly maxBodyBytes?: number;
  readonly maxConnections?: number;
  /** How long the namespace look-up may take before the injector goes on without it (default 2 s). */
  readonly lookupTimeoutMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;

export class InjectionServer {
  readonly #opts: InjectionServerOptions;
  #server: Server | undefined;
  readonly #counters: { requests: Counter; success: Counter; skip: Counter; failure: Counter } | undefined;

  constructor(opts: InjectionServerOptions) {
    this.#opts = opts;
    const r = opts.metrics;
    this.#counters = r === undefined ? undefined : {
      requests: new Counter({ name: 'sidecar_injection_requests_total', help: 'Total number of sidecar injection requests', registers: [r] }),
      success: new Counter({ name: 'sidecar_injection_success_total', help: 'Total number of successful sidecar injections', registers: [r] }),
      skip: new Counter({ name: 'sidecar_injection_skip_total', help: 'Total number of skipped sidecar injections', registers: [r] }),
      failure: new Counter({ name: 'sidecar_injection_failure_total', help: 'Total number of failed sidecar injection requests', registers: [r] }),
    };
  }

  async listen(): Promise<AddressInfo> {
    const { host, port } = parseListenAddress(this.#opts.address);
    const server = createServer({ cert: this.#opts.certChainPem, key: this.#opts.keyPem, minVersion: 'TLSv1.2' }, (req, res) => {
      this.#serve(req, res).catch((err: unknown) => {
        this.#opts.log.error('injection request failed', { error: errorMessage(err) });
        if (!res.headersSent) this.#send(res, 500, { code: ErrorCodes.InjectFailed, message: 'internal error' });
        else res.destroy();
      });
    });
    server.maxConnections = this.#opts.maxConnections ?? 256;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 30_000;
    server.on('tlsClientError', (err) => { this.#opts.log.debug('webhook TLS handshake failed', { error: errorMessage(err) }); });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return server.address() as AddressInfo;
  }

  /** New serving certificate (CA rotated); new connections use it. */
  updateTls(certChainPem: string, keyPem: string): void {
    this.#server?.setSecureContext({ cert: certChainPem, key: keyPem, minVersion: 'TLSv1.2' });
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => { s.close(() => { resolve(); }); });
  }

  #send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) return undefined;
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = parseInjectPath(req.url ?? '/');
    if (!path) { this.#send(res, 404, { code: ErrorCodes.InjectBadRequest, message: `no handler for ${JSON.stringify((req.url ?? '').slice(0, 200))}: the injection webhook serves /inject and /inject/...` }); return; }
    if (req.method !== 'POST') { res.setHeader('allow', 'POST'); this.#send(res, 405, { code: ErrorCodes.InjectBadRequest, message: `method ${req.method ?? ''} not allowed: POST an AdmissionReview` }); return; }
    const ct = req.headers['content-type'] ?? '';
    if (ct !== '' && !ct.startsWith('application/json')) { this.#send(res, 415, { code: ErrorCodes.InjectBadRequest, message: `content-type must be application/json, got ${JSON.stringify(ct.slice(0, 100))}` }); return; }
    this.#counters?.requests.inc();
    const limit = this.#opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const text = await this.#readBody(req, limit);
    if (text === undefined) {
      this.#counters?.failure.inc();
      res.setHeader('connection', 'close');
      this.#send(res, 413, { code: ErrorCodes.InjectBadRequest, message: `AdmissionReview larger than ${limit} bytes` });
      return;
    }
    let request;
    try {
      request = parseReview(text);
    } catch (err) {
      if (!(err instanceof BadReview)) throw err;
      this.#counters?.failure.inc();
      this.#opts.log.warn('bad AdmissionReview', { error: err.message, remote: req.socket.remoteAddress });
      this.#send(res, 400, { code: err.code, message: `bad AdmissionReview: ${err.message}` });
      return;
    }
    for (const w of path.warnings) this.#opts.log.warn('webhook path', { path: req.url, warning: w });
    const ns = request.kind.kind === 'Pod' && request.operation === 'CREATE' ? await this.#namespaceInfo(path.clusterId, request.namespace) : {};
    const result = admit(request, { config: this.#opts.config(), path, namespaceLabels: ns.labels, systemNetwork: ns.systemNetwork });
    if (result.injected) this.#counters?.success.inc();
    else if ((result.review['response'] as { allowed?: boolean } | undefined)?.allowed === false) this.#counters?.failure.inc();
    else this.#counters?.skip.inc();
    this.#opts.log.debug('admission', { uid: request.uid, namespace: request.namespace, injected: result.injected, reason: result.reason });
    this.#send(res, 200, result.review);
  }

  async #namespaceInfo(clusterId: string | undefined, namespace: string): Promise<{ labels?: Readonly<Record<string, string>> | undefined; systemNetwork?: string | undefined }> {
    if (namespace === '') return {};
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<NamespaceInfo>((resolve) => { timer = setTimeout(() => { resolve({}); }, this.#opts.lookupTimeoutMs ?? 2000); });
    try {
      return await Promise.race([this.#opts.namespaceInfo(clusterId, namespace).catch((err: unknown) => {
        this.#opts.log.debug('namespace look-up failed; relying on the webhook selectors', { namespace, error: errorMessage(err) });
        return {};
      }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
