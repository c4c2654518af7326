/**
 * The one wrapper around @kubernetes/client-node: loads a kubeconfig (file, string, in-cluster),
 * and makes JSON requests and watches with the kubeconfig's credentials. Everything else in the
 * project talks to Kubernetes through this class.
 */
import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch, type Response } from 'undici';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';

export interface KubeStatus {
  readonly kind?: string;
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
}

/** A failed API call: HTTP status plus the server's Status message. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;

  constructor(method: string, path: string, status: number, body: string) {
    let s: KubeStatus = {};
    try { s = JSON.parse(body) as KubeStatus; } catch { /* not a Status */ }
    super(`${method} ${path}: ${status} ${s.reason ?? ''} ${s.message ?? body.slice(0, 200)}`.replace(/\s+/g, ' ').trim());
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = s.reason ?? '';
  }
}

export interface ClientOptions {
  /** Per-request timeout for non-watch calls. */
  readonly timeoutMs?: number;
  /**
   * Largest response body read for one non-watch call (default 64 MiB); beyond it the call fails
   * with ISTHMUS_KUBE_RESPONSE_TOO_LARGE instead of buffering whatever a server sends.
   */
  readonly maxResponseBytes?: number;
}

export interface RequestOptions {
  /** Ends the call early (e.g. when the informer making it stops). */
  readonly signal?: AbortSignal;
  /** Overrides the client's per-request timeout. */
  readonly timeoutMs?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Reads a response body up to `max` bytes; a longer body is cancelled and refused. */
export async function readBounded(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    throw new IsthmusError(ErrorCodes.KubeResponseTooLarge, `${what}: response of ${declared} bytes is larger than the ${max}-byte limit`);
  }
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new IsthmusError(ErrorCodes.KubeResponseTooLarge, `${what}: response is larger than the ${max}-byte limit`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  #lastAnswerAt = 0;
  #dispatcher: ReturnType<RequestContext['getDispatcher']>;

  constructor(config: KubeConfig, opts: ClientOptions = {}) {
    this.config = config;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** From a kubeconfig file; `context` overrides its current context. */
  static fromFile(path: string, context?: string, opts?: ClientOptions): KubeClient {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `cannot load kubeconfig ${path}: ${errorMessage(err)}`, { cause: err });
    }
    return KubeClient.#checked(kc, `kubeconfig ${path}`, context, opts);
  }

  /**
   * The credentials of the pod this process runs in (its service account), whatever KUBECONFIG says:
   * an external control plane reads its config cluster through a kubeconfig but watches remote
   * secrets in the cluster it runs in (LOCAL_CLUSTER_SECRET_WATCHER).
   */
  static inCluster(opts?: ClientOptions): KubeClient {
    if (!process.env['KUBERNETES_SERVICE_HOST']) {
      throw new IsthmusError(ErrorCodes.KubeConfig, 'in-cluster credentials need a pod (KUBERNETES_SERVICE_HOST is not set); LOCAL_CLUSTER_SECRET_WATCHER=true only works for a control plane running in a cluster');
    }
    const kc = new KubeConfig();
    try {
      kc.loadFromCluster();
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `cannot load the in-cluster credentials: ${errorMessage(err)}`, { cause: err });
    }
    return KubeClient.#checked(kc, 'in-cluster credentials', undefined, opts);
  }

  /** From kubeconfig text, e.g. a remote secret's data; `source` names it in errors. */
  static fromString(text: string, source: string, context?: string, opts?: ClientOptions): KubeClient {
    const kc = new KubeConfig();
    try {
      kc.loadFromString(text);
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: not a valid kubeconfig: ${errorMessage(err)}`, { cause: err });
    }
    return KubeClient.#checked(kc, source, context, opts);
  }

  static #checked(kc: KubeConfig, source: string, context: string | undefined, opts: ClientOptions | undefined): KubeClient {
    if (context !== undefined) {
      if (!kc.getContextObject(context)) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: no context named ${JSON.stringify(context)}`);
      kc.setCurrentContext(context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: the current context names no cluster`);
    if (!/^https?:\/\//.test(cluster.server)) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: cluster ${cluster.name} has no valid server URL (got ${JSON.stringify(cluster.server)})`);
    return new KubeClient(kc, opts);
  }

  /**
   * From `kubeconfig` (a file), else `$KUBECONFIG` (a `:`-separated list, merged), else
   * `~/.kube/config`, as kubectl does; `context` overrides the current context.
   */
  static load(opts: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined }, clientOpts?: ClientOptions): KubeClient {
    if (opts.kubeconfig !== undefined && opts.kubeconfig !== '') return KubeClient.fromFile(opts.kubeconfig, opts.context, clientOpts);
    const kc = new KubeConfig();
    try {
      // As kubectl: files in $KUBECONFIG that do not exist are skipped; when none does and the process
      // runs in a pod (the control plane's Deployment sets KUBECONFIG to an optional secret), in-cluster.
      const listed = (process.env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
      if (listed.length > 0 && !listed.some((f) => existsSync(f)) && process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
      else kc.loadFromDefault();
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `cannot load the default kubeconfig: ${errorMessage(err)}`, { cause: err });
    }
    const source = process.env['KUBECONFIG'] ? `kubeconfig ${process.env['KUBECONFIG']}` : 'the default kubeconfig (~/.kube/config)';
    return KubeClient.#checked(kc, source, opts.context, clientOpts);
  }

  /** The name of the current context. */
  get contextName(): string {
    return this.config.getCurrentContext();
  }

  /** The namespace set on the current context, if any. */
  get contextNamespace(): string | undefined {
    const ns = this.config.getContextObject(this.config.getCurrentContext())?.namespace;
    return ns === undefined || ns === '' ? undefined : ns;
  }

  /** GET that answers undefined for 404 instead of throwing; `signal` aborts it (e.g. on shutdown). */
  async getOptional<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, undefined, 'application/json', signal ? { signal } : {});
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Server-side apply of one object at its item path (`.../namespaces/ns/services/name`) as field
   * manager `fieldManager`; `force` takes over fields owned by other managers; `dryRun` asks the
   * server to validate and admit without persisting. Returns the object as the server has it.
   */
  async apply<T>(path: string, obj: unknown, opts: { readonly fieldManager: string; readonly force?: boolean; readonly dryRun?: boolean }): Promise<T> {
    const q = new URLSearchParams({ fieldManager: opts.fieldManager });
    if (opts.force === true) q.set('force', 'true');
    if (opts.dryRun === true) q.set('dryRun', 'All');
    // JSON is YAML, so the object goes out as JSON under the apply-patch content type.
    return this.request<T>('PATCH', `${path}?${q.toString()}`, obj, 'application/apply-patch+yaml');
  }

  /** DELETE with background propagation; a 404 counts as done. Answers whether it existed. */
  async deleteOptional(path: string, opts: { readonly dryRun?: boolean } = {}): Promise<boolean> {
    const q = new URLSearchParams({ propagationPolicy: 'Background' });
    if (opts.dryRun === true) q.set('dryRun', 'All');
    try {
      await this.request('DELETE', `${path}?${q.toString()}`);
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** When the server last sent anything (response headers, watch bytes), ms since the epoch; 0 if never. */
  get lastAnswerAt(): number {
    return this.#lastAnswerAt;
  }

  /** Records that the server just sent something (watch readers call this per chunk). */
  noteAnswer(): void {
    this.#lastAnswerAt = Date.now();
  }

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** A JSON request; throws KubeApiError on a non-2xx answer. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json', opts: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.requestText(method, path, body, contentType, opts);
    if (status < 200 || status > 299) throw new KubeApiError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A request answering the status and the (bounded) body text, whatever the status. */
  async requestText(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json', opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const res = await this.#send(method, path, signal, body === undefined ? undefined : { body: JSON.stringify(body), contentType });
    return { status: res.status, text: await readBounded(res, this.#maxBytes, `${method} ${this.server}${path}`) };
  }

  /**
   * A streaming GET (a watch): answers the response once the headers arrived with status 2xx; the
   * caller reads and bounds the body. `signal` ends it; the headers must arrive within the timeout.
   */
  async stream(path: string, signal: AbortSignal, connectTimeoutMs = this.#timeoutMs): Promise<Response> {
    const connect = new AbortController();
    const timer = setTimeout(() => { connect.abort(new DOMException(`no answer within ${connectTimeoutMs} ms`, 'TimeoutError')); }, connectTimeoutMs);
    try {
      const res = await this.#send('GET', path, AbortSignal.any([signal, connect.signal]));
      if (res.status < 200 || res.status > 299) throw new KubeApiError('GET', path, res.status, await readBounded(res, 64 * 1024, `GET ${path}`).catch(() => ''));
      return res;
    } finally {
      clearTimeout(timer);
    }
  }

  async #send(method: string, path: string, signal: AbortSignal, body?: { body: string; contentType: string }): Promise<Response> {
    const url = `${this.server}${path}`;
    const ctx = new RequestContext(url, HttpMethod[method as keyof typeof HttpMethod]);
    await this.config.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = body.contentType;
    // client-node builds a new TLS agent for every request; keep the first one so connections are
    // reused (the TLS material of a client does not change; credentials travel in headers).
    this.#dispatcher ??= ctx.getDispatcher();
    const dispatcher = this.#dispatcher;
    const res = await fetch(url, {
      method,
      headers,
      ...(dispatcher ? { dispatcher } : {}),
      body: body === undefined ? null : body.body,
      signal,
    });
    this.noteAnswer();
    return res;
  }
}
