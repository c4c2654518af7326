/**
 * The one Kubernetes client: makes JSON requests and watches against one API server with one
 * context's credentials (`ClusterAccess`: a kubeconfig file, in-cluster credentials or a remote
 * secret). Everything else in the project talks to Kubernetes through this class.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { requestAuth, type ClusterAccess, type RequestAuth } from './access.ts';
import { accessFromDefault, accessFromFile, accessFromKubeconfig, inClusterAccess } from './kubeconfig-file.ts';
import { send, type KubeResponse } from './transport.ts';

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
export async function readBoundedBytes(res: KubeResponse, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.header('content-length') ?? '0');
  if (declared > max) {
    res.close();
    throw new IsthmusError(ErrorCodes.KubeResponseTooLarge, `${what}: response of ${declared} bytes is larger than the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > max) {
      res.close();
      throw new IsthmusError(ErrorCodes.KubeResponseTooLarge, `${what}: response is larger than the ${max}-byte limit`);
    }
    chunks.push(chunk);
  }
  const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
  return res.encoding === undefined ? body : inflated(body, res.encoding, max, what);
}

/** A whole compressed body, decompressed in one call, at most `max` bytes of it. */
function inflated(body: Buffer, encoding: string, max: number, what: string): Buffer {
  if (encoding !== 'gzip' && encoding !== 'deflate') throw new Error(`${what}: the response has content encoding ${JSON.stringify(encoding)}, which was not asked for`);
  try {
    return encoding === 'gzip' ? gunzipSync(body, { maxOutputLength: max }) : inflateSync(body, { maxOutputLength: max });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new IsthmusError(ErrorCodes.KubeResponseTooLarge, `${what}: response is larger than the ${max}-byte limit once decompressed`);
    }
    throw new Error(`${what}: the ${encoding} body does not decompress: ${errorMessage(err)}`);
  }
}

/** `readBoundedBytes` as UTF-8 text. */
export async function readBounded(res: KubeResponse, max: number, what: string): Promise<string> {
  return (await readBoundedBytes(res, max, what)).toString('utf8');
}

export class KubeClient {
  readonly access: ClusterAccess;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #auth: RequestAuth;
  #lastAnswerAt = 0;

  constructor(access: ClusterAccess, opts: ClientOptions = {}) {
    this.access = access;
    this.#auth = requestAuth(access);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** From a kubeconfig file; `context` overrides its current context. */
  static fromFile(path: string, context?: string, opts?: ClientOptions): KubeClient {
    return new KubeClient(accessFromFile(path, context), opts);
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
    return new KubeClient(inClusterAccess(), opts);
  }

  /** From kubeconfig text, e.g. a remote secret's data; `source` names it in errors. */
  static fromString(text: string, source: string, context?: string, opts?: ClientOptions): KubeClient {
    return new KubeClient(accessFromKubeconfig([{ text }], source, context), opts);
  }

  /**
   * From `kubeconfig` (a file), else `$KUBECONFIG` (a `:`-separated list, merged), else
   * `~/.kube/config`, as kubectl does; `context` overrides the current context.
   */
  static load(opts: { readonly kubeconfig?: string | undefined; readonly context?: string | undefined }, clientOpts?: ClientOptions): KubeClient {
    if (opts.kubeconfig !== undefined && opts.kubeconfig !== '') return KubeClient.fromFile(opts.kubeconfig, opts.context, clientOpts);
    return new KubeClient(accessFromDefault(opts.context), clientOpts);
  }

  /** The name of the current context. */
  get contextName(): string {
    return this.access.contextName;
  }

  /** The namespace set on the current context, if any. */
  get contextNamespace(): string | undefined {
    return this.access.namespace;
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
    return this.access.server;
  }

  /** A JSON request; throws KubeApiError on a non-2xx answer. */
  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json', opts: RequestOptions = {}): Promise<T> {
    const { status, text } = await this.requestText(method, path, body, contentType, opts);
    if (status < 200 || status > 299) throw new KubeApiError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A request answering the status and the (bounded) body text, whatever the status. */
  async requestText(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, contentType = 'application/json', opts: RequestOptions = {}): Promise<{ status: number; text: string }> {
    const res = await this.#sendBounded(method, path, opts, body === undefined ? undefined : { body: JSON.stringify(body), contentType });
    return { status: res.status, text: await readBounded(res, this.#maxBytes, `${method} ${this.server}${path}`) };
  }

  /**
   * A GET asking for the media types in `accept` (e.g. Kubernetes' protobuf, then JSON), answering
   * the status, the content type the server chose and the (bounded) body bytes, whatever the status.
   */
  async getBytes(path: string, accept: string, opts: RequestOptions = {}): Promise<{ status: number; contentType: string; bytes: Buffer }> {
    const res = await this.#sendBounded('GET', path, opts, undefined, accept);
    const bytes = await readBoundedBytes(res, this.#maxBytes, `GET ${this.server}${path}`);
    return { status: res.status, contentType: res.header('content-type') ?? '', bytes };
  }

  /** A request whose whole body is read (readBoundedBytes), so it is taken compressed and inflated in one call. */
  #sendBounded(method: string, path: string, opts: RequestOptions, body?: { body: string; contentType: string }, accept?: string): Promise<KubeResponse> {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.#timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    return this.#send(method, path, signal, body, accept, true);
  }

  /**
   * A streaming GET (a watch): answers the response once the headers arrived with status 2xx; the
   * caller reads and bounds the body. `signal` ends it; the headers must arrive within the timeout.
   */
  async stream(path: string, signal: AbortSignal, connectTimeoutMs = this.#timeoutMs): Promise<KubeResponse> {
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

  async #send(method: string, path: string, signal: AbortSignal, body?: { body: string; contentType: string }, accept = 'application/json', compressedBody = false): Promise<KubeResponse> {
    const { headers: auth, agent } = await this.#auth.prepare();
    const headers: Record<string, string> = { ...auth, accept };
    if (body !== undefined) headers['content-type'] = body.contentType;
    const res = await send(new URL(`${this.server}${path}`), { method, headers, signal, compressedBody, ...(agent ? { agent } : {}), ...(body === undefined ? {} : { body: body.body }) });
    this.noteAnswer();
    return res;
  }
}
