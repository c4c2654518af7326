/**
 * A list+watch cache of one resource, like client-go's reflector: lists (paginated), then watches
 * from the list's resourceVersion with bookmarks; on 410 Gone it lists again and reports the
 * difference as events; on any other error it backs off and resumes. It never gives up while running.
 *
 * What one API server can make it hold is bounded: list pages and watch events by size (the
 * client's response limit, `maxEventBytes`), the cache by `maxObjects` and `maxBytes` (size as
 * received, JSON or protobuf), and single objects by
 * `refuse` (e.g. an EndpointSlice above Kubernetes' 1,000 endpoints). Whatever is refused is left
 * out, counted and reported in `status()`; the rest keeps working. `stop()` aborts requests in
 * flight, so it never waits on a server that does not answer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, errorMessage, isIsthmusError } from '../model/errors.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { objectKey, type KubeList, type KubeObject } from './types.ts';
import { PROTOBUF_CONTENT_TYPE, statusAsJson, type ProtobufList } from './protobuf.ts';
import { watchOnce } from './watch.ts';

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(obj: T, old: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/pods` or `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly pageSize?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Most objects cached (default 100,000); more are left out and reported. */
  readonly maxObjects?: number;
  /** Most bytes (as received, JSON or protobuf) of cached objects (default 256 MiB); more are left out and reported. */
  readonly maxBytes?: number;
  /** Largest single watch event (default 4 MiB; etcd refuses objects above 1.5 MiB by default). */
  readonly maxEventBytes?: number;
  /** A watch that delivered nothing (not even a bookmark) for this long is re-opened (default 30 s). */
  readonly idleTimeoutMs?: number;
  /** Answers why an object must not be cached (it is then treated as absent), or undefined. */
  readonly refuse?: (obj: KubeObject) => string | undefined;
  /**
   * What of an object to keep (e.g. a Node's topology labels only): cached objects and handler
   * arguments are its answer. Bounds still count the bytes as received.
   */
  readonly reduce?: (obj: KubeObject) => KubeObject;
  /** Told (once per distinct message) when something exceeded a bound: objects left out, responses too large. */
  readonly onOverflow?: (message: string) => void;
  /**
   * Reads a list answer in Kubernetes' protobuf encoding (kube/protobuf.ts). When set, lists ask for
   * protobuf first and JSON second, and the content type the server chose decides which reader runs
   * (custom resources are only served as JSON); `reduce` still applies. Watches stay JSON.
   */
  readonly readProtobufList?: (body: Buffer, what: string) => ProtobufList<KubeObject>;
}

const PROTOBUF_THEN_JSON = `${PROTOBUF_CONTENT_TYPE}, application/json`;

/** A list page as either encoding gives it; `items` is checked before use. */
interface ListPage {
  readonly items: unknown;
  readonly continue: string;
  readonly resourceVersion: string;
}

export interface InformerStatus {
  readonly synced: boolean;
  /** False while the last list or watch attempt failed. */
  readonly healthy: boolean;
  readonly lastError?: string;
  readonly resourceVersion: string;
  readonly relists: number;
  /** Error code of `lastError` when it has one (e.g. ISTHMUS_KUBE_RESPONSE_TOO_LARGE). */
  readonly lastErrorCode?: string;
  /** Objects left out by `maxObjects` or `refuse` in the current cache, and the last reason. */
  readonly refused?: number;
  readonly overflow?: string;
}

type Status = { synced: boolean; healthy: boolean; lastError?: string; lastErrorCode?: string; relists: number; overflow?: string };

class Gone extends Error {}

/** The part of `Informer` its users read (tests substitute in-memory ones: src/testing/fake-kube.ts). */
export interface InformerLike<T extends KubeObject> {
  readonly synced: Promise<void>;
  on(handlers: InformerHandlers<T>): void;
  list(): T[];
  get(key: string): T | undefined;
  status(): InformerStatus;
  start(): void;
  stop(): Promise<void>;
}

export type InformerFactory = <T extends KubeObject>(opts: InformerOptions) => InformerLike<T>;

/** Informers of `source`: a client's real ones, or those a test's factory makes. */
export function informerSource(source: KubeClient | InformerFactory): InformerFactory {
  return typeof source === 'function' ? source : <T extends KubeObject>(o: InformerOptions) => new Informer<T>(source, o);
}

export class Informer<T extends KubeObject> implements InformerLike<T> {
  readonly #client: KubeClient;
  readonly #opts: Required<Pick<InformerOptions, 'pageSize' | 'minBackoffMs' | 'maxBackoffMs' | 'maxObjects' | 'maxBytes' | 'maxEventBytes' | 'idleTimeoutMs'>> & InformerOptions;
  readonly #handlers: InformerHandlers<T>[] = [];
  #store = new Map<string, T>();
  #rv = '';
  #stopped = true;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #status: Status = { synced: false, healthy: true, relists: 0 };
  /** Keys of objects left out (too many, or refused). */
  readonly #refused = new Set<string>();
  #lastOverflow = '';
  /** Size as received of each cached object, and their sum. */
  #sizes = new Map<string, number>();
  #bytes = 0;
  #resolveSynced: () => void = () => undefined;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;

  constructor(client: KubeClient, opts: InformerOptions) {
    this.#client = client;
    this.#opts = { pageSize: 500, minBackoffMs: 200, maxBackoffMs: 10_000, maxObjects: 100_000, maxBytes: 256 * 1024 * 1024, maxEventBytes: 4 * 1024 * 1024, idleTimeoutMs: 30_000, ...opts };
    this.synced = new Promise((resolve) => { this.#resolveSynced = resolve; });
  }

  on(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  status(): InformerStatus {
    return { ...this.#status, resourceVersion: this.#rv, refused: this.#refused.size };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops at once: requests in flight are aborted and no handler runs after this call. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await this.#loop;
  }

  #isStopped(): boolean {
    return this.#stopped;
  }

  async #run(): Promise<void> {
    let backoff = this.#opts.minBackoffMs;
    while (!this.#stopped) {
      try {
        if (!this.#rv) await this.#relist();
        const delivered = await this.#watchOnce();
        if (delivered) backoff = this.#opts.minBackoffMs;
      } catch (err) {
        if (this.#isStopped()) break;
        if (err instanceof Gone || (err instanceof KubeApiError && err.status === 410)) {
          this.#rv = '';
          continue;
        }
        const { lastErrorCode: _, ...rest } = this.#status;
        this.#status = { ...rest, healthy: false, lastError: errorMessage(err), ...(isIsthmusError(err) ? { lastErrorCode: err.code } : {}) };
        if (isIsthmusError(err, ErrorCodes.KubeResponseTooLarge)) this.#overflowed(errorMessage(err));
        try {
          await sleep(backoff, undefined, { signal: this.#abort.signal });
        } catch {
          break;
        }
        backoff = Math.min(backoff * 2, this.#opts.maxBackoffMs);
      }
    }
  }

  #query(extra: Record<string, string>): string {
    const q = new URLSearchParams(extra);
    if (this.#opts.labelSelector) q.set('labelSelector', this.#opts.labelSelector);
    if (this.#opts.fieldSelector) q.set('fieldSelector', this.#opts.fieldSelector);
    return q.toString();
  }

  /**
   * Lists everything. A page above the client's response limit is asked again with a tenth of the
   * page size (down to 1); a server that still overflows fails the list (reported, retried later).
   */
  async #relist(): Promise<void> {
    const next = new Map<string, T>();
    const sizes = new Map<string, number>();
    let bytes = 0;
    const refused = new Set<string>();
    let overflow: string | undefined;
    let cont = '';
    let rv = '';
    let pageSize = this.#opts.pageSize;
    for (;;) {
      const q: Record<string, string> = { limit: String(pageSize) };
      if (cont) q['continue'] = cont;
      const path = `${this.#opts.path}?${this.#query(q)}`;
      let page: ListPage;
      let pageBytes: number;
      try {
        const res = await this.#client.getBytes(path, this.#opts.readProtobufList ? PROTOBUF_THEN_JSON : 'application/json', { signal: this.#abort.signal });
        pageBytes = res.bytes.length;
        page = this.#readPage(path, res);
      } catch (err) {
        if (isIsthmusError(err, ErrorCodes.KubeResponseTooLarge) && pageSize > 1) {
          pageSize = Math.max(1, Math.floor(pageSize / 10));
          continue;
        }
        throw err;
      }
      const items: unknown = page.items;
      if (!Array.isArray(items)) throw new Error(`list ${this.#opts.path}: the answer has no items`);
      // Each item's share of the page: the size the server made us read for it.
      const size = Math.ceil(pageBytes / Math.max(1, items.length));
      for (const item of items as T[]) {
        const why = this.#refusal(item, next.size, bytes, size);
        if (why) {
          refused.add(objectKeySafe(item));
          overflow = why;
        } else {
          const key = objectKey(item);
          bytes += size - (sizes.get(key) ?? 0);
          sizes.set(key, size);
          next.set(key, this.#reduce(item));
        }
      }
      cont = page.continue;
      rv = page.resourceVersion;
      if (!cont) break;
    }
    if (this.#stopped) return;
    const old = this.#store;
    this.#store = next;
    this.#sizes = sizes;
    this.#bytes = bytes;
    this.#rv = rv;
    this.#refused.clear();
    for (const k of refused) this.#refused.add(k);
    const { lastError: _e, lastErrorCode: _c, overflow: _o, ...rest } = this.#status;
    this.#status = { ...rest, healthy: true, relists: this.#status.relists + 1, ...(overflow === undefined ? {} : { overflow }) };
    if (overflow !== undefined) this.#overflowed(refused.size > 1 ? `${overflow} (${refused.size} objects left out)` : overflow);
    for (const [key, obj] of old) if (!next.has(key)) this.#emit('delete', obj);
    for (const [key, obj] of next) {
      const prev = old.get(key);
      if (!prev) this.#emit('add', obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) this.#emit('update', obj, prev);
    }
    if (!this.#status.synced) {
      this.#status = { ...this.#status, synced: true };
      this.#resolveSynced();
    }
  }

  /** One list answer, JSON or (when the server chose it) protobuf; a non-2xx answer throws KubeApiError. */
  #readPage(path: string, res: { status: number; contentType: string; bytes: Buffer }): ListPage {
    const protobuf = res.contentType.startsWith(PROTOBUF_CONTENT_TYPE);
    const what = `list ${this.#client.server}${path}`;
    if (res.status < 200 || res.status > 299) {
      throw new KubeApiError('GET', path, res.status, protobuf ? statusAsJson(res.bytes, what) ?? '' : res.bytes.toString('utf8'));
    }
    const read = this.#opts.readProtobufList;
    if (protobuf && read) return read(res.bytes, what);
    const page = JSON.parse(res.bytes.toString('utf8')) as KubeList<T>;
    return { items: page.items, continue: page.metadata?.continue ?? '', resourceVersion: page.metadata?.resourceVersion ?? '' };
  }

  /** Why an object of `size` JSON bytes must be left out, given how many objects and bytes are cached besides it. */
  #refusal(obj: T, cached: number, cachedBytes: number, size: number): string | undefined {
    const meta: unknown = (obj as unknown as { metadata?: unknown } | null)?.metadata;
    if (meta === null || typeof meta !== 'object' || typeof (meta as { name?: unknown }).name !== 'string') return `${this.#opts.path}: an item has no metadata.name`;
    const why = this.#opts.refuse?.(obj);
    if (why) return `${this.#opts.path} ${objectKey(obj)}: ${why}`;
    if (cached >= this.#opts.maxObjects) return `${this.#opts.path}: more than ${this.#opts.maxObjects} objects; the rest are left out`;
    if (cachedBytes + size > this.#opts.maxBytes) return `${this.#opts.path}: more than ${this.#opts.maxBytes} bytes of objects; the rest are left out`;
    return undefined;
  }

  /** Runs one watch until it ends; resolves whether it delivered any event, rejects on error. */
  async #watchOnce(): Promise<boolean> {
    let delivered = false;
    const query = new URLSearchParams(this.#query({
      resourceVersion: this.#rv,
      allowWatchBookmarks: 'true',
      // Server-side end of the watch after 5-10 minutes, like client-go, so connections rotate.
      timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
    }));
    await watchOnce(this.#client, {
      path: this.#opts.path, query, signal: this.#abort.signal,
      maxEventBytes: this.#opts.maxEventBytes, idleTimeoutMs: this.#opts.idleTimeoutMs,
      // The server answered the watch: it is streaming again.
      onOpen: () => { this.#markHealthy(); },
      onEvent: ({ type, object, bytes }) => {
        if (this.#stopped) return;
        if (type === 'ERROR') {
          const status = object as { code?: number; message?: string };
          if (status.code === 410) throw new Gone();
          throw new Error(`watch ${this.#opts.path}: ${status.message ?? 'error event'}`);
        }
        const o = object as T;
        if (typeof (o as { metadata?: unknown }).metadata !== 'object' || (o as { metadata?: unknown }).metadata === null) throw new Error(`watch ${this.#opts.path}: a ${type} event has no metadata`);
        if (o.metadata.resourceVersion) this.#rv = o.metadata.resourceVersion;
        delivered = true;
        this.#markHealthy();
        if (type === 'BOOKMARK') return;
        this.#apply(type, o, bytes);
      },
    });
    return delivered;
  }

  #overflowed(message: string): void {
    if (message === this.#lastOverflow) return;
    this.#lastOverflow = message;
    this.#opts.onOverflow?.(message);
  }

  #markHealthy(): void {
    if (this.#status.healthy) return;
    const { lastError: _e, lastErrorCode: _c, ...rest } = this.#status;
    this.#status = { ...rest, healthy: true };
  }

  #forget(key: string): void {
    this.#store.delete(key);
    this.#bytes -= this.#sizes.get(key) ?? 0;
    this.#sizes.delete(key);
  }

  #reduce(o: T): T {
    return this.#opts.reduce ? this.#opts.reduce(o) as T : o;
  }

  #apply(type: string, o: T, size: number): void {
    const key = objectKey(o);
    const prev = this.#store.get(key);
    if (type === 'DELETED') {
      this.#refused.delete(key);
      this.#forget(key);
      if (prev) this.#emit('delete', prev);
      return;
    }
    const prevSize = this.#sizes.get(key) ?? 0;
    const why = this.#refusal(o, prev ? this.#store.size - 1 : this.#store.size, this.#bytes - prevSize, size);
    if (why) {
      // Left out: an object that became too large is removed, as if deleted.
      this.#refused.add(key);
      this.#status = { ...this.#status, overflow: why };
      this.#overflowed(why);
      if (prev) {
        this.#forget(key);
        this.#emit('delete', prev);
      }
      return;
    }
    this.#refused.delete(key);
    const kept = this.#reduce(o);
    this.#store.set(key, kept);
    this.#bytes += size - prevSize;
    this.#sizes.set(key, size);
    if (prev) this.#emit('update', kept, prev);
    else this.#emit('add', kept);
  }

  #emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    if (this.#stopped) return;
    for (const h of this.#handlers) {
      try {
        if (kind === 'add') h.onAdd?.(obj);
        else if (kind === 'delete') h.onDelete?.(obj);
        else if (old) h.onUpdate?.(obj, old);
      } catch {
        // A handler's failure must not stop the cache; handlers report their own errors.
      }
    }
  }
}

function objectKeySafe(o: unknown): string {
  const m = (o as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  return `${typeof m?.namespace === 'string' ? m.namespace : ''}/${typeof m?.name === 'string' ? m.name : '?'}`;
}
