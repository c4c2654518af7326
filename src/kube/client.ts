/**
 * The one wrapper around @kubernetes/client-node: loads a kubeconfig (file, string, in-cluster),
 * and makes JSON requests and watches with the kubeconfig's credentials. Everything else in the
 * project talks to Kubernetes through this class.
 */
import { HttpMethod, KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch } from 'undici';
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
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly #timeoutMs: number;
  #dispatcher: ReturnType<RequestContext['getDispatcher']>;

  constructor(config: KubeConfig, opts: ClientOptions = {}) {
    this.config = config;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
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
      kc.loadFromDefault();
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
      return await this.request<T>('GET', path, undefined, 'application/json', signal);
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

  get server(): string {
    return this.config.getCurrentCluster()?.server ?? '';
  }

  /** A JSON request; throws KubeApiError on a non-2xx answer. `signal` aborts it before its timeout. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json', signal?: AbortSignal): Promise<T> {
    const url = `${this.server}${path}`;
    const ctx = new RequestContext(url, HttpMethod[method]);
    await this.config.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = contentType;
    // client-node builds a new TLS agent for every request; keep the first one so connections are
    // reused (the TLS material of a client does not change; credentials travel in headers).
    this.#dispatcher ??= ctx.getDispatcher();
    const dispatcher = this.#dispatcher;
    const res = await fetch(url, {
      method,
      headers,
      ...(dispatcher ? { dispatcher } : {}),
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]) : AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new KubeApiError(method, path, res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A Watch bound to this client's credentials. */
  watcher(): Watch {
    return new Watch(this.config);
  }
}
