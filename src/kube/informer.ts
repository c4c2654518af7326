/**
 * A list+watch cache of one resource, like client-go's reflector: lists (paginated), then watches
 * from the list's resourceVersion with bookmarks; on 410 Gone it lists again and reports the
 * difference as events; on any other error it backs off and resumes. It never gives up while running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../model/errors.ts';
import { KubeApiError, type KubeClient } from './client.ts';
import { objectKey, type KubeList, type KubeObject } from './types.ts';

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
}

export interface InformerStatus {
  readonly synced: boolean;
  /** False while the last list or watch attempt failed. */
  readonly healthy: boolean;
  readonly lastError?: string;
  readonly resourceVersion: string;
  readonly relists: number;
}

class Gone extends Error {}

export class Informer<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #opts: Required<Pick<InformerOptions, 'pageSize' | 'minBackoffMs' | 'maxBackoffMs'>> & InformerOptions;
  readonly #handlers: InformerHandlers<T>[] = [];
  #store = new Map<string, T>();
  #rv = '';
  #stopped = true;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #status: { synced: boolean; healthy: boolean; lastError?: string; relists: number } = { synced: false, healthy: true, relists: 0 };
  #resolveSynced: () => void = () => undefined;
  /** Resolves after the first complete list. */
  readonly synced: Promise<void>;

  constructor(client: KubeClient, opts: InformerOptions) {
    this.#client = client;
    this.#opts = { pageSize: 500, minBackoffMs: 200, maxBackoffMs: 10_000, ...opts };
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
    return { ...this.#status, resourceVersion: this.#rv };
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
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
        this.#status = { ...this.#status, healthy: false, lastError: errorMessage(err) };
        await sleep(backoff);
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

  async #relist(): Promise<void> {
    const next = new Map<string, T>();
    let cont = '';
    let rv = '';
    do {
      const q: Record<string, string> = { limit: String(this.#opts.pageSize) };
      if (cont) q['continue'] = cont;
      const page = await this.#client.request<KubeList<T>>('GET', `${this.#opts.path}?${this.#query(q)}`);
      for (const item of page.items) next.set(objectKey(item), item);
      cont = page.metadata?.continue ?? '';
      rv = page.metadata?.resourceVersion ?? '';
    } while (cont);
    const old = this.#store;
    this.#store = next;
    this.#rv = rv;
    this.#status = { ...this.#status, healthy: true, relists: this.#status.relists + 1 };
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

  /** Runs one watch until it ends; resolves whether it delivered any event, rejects on error. */
  async #watchOnce(): Promise<boolean> {
    let delivered = false;
    let gone = false;
    const params = {
      resourceVersion: this.#rv,
      allowWatchBookmarks: true,
      // Server-side end of the watch after 5-10 minutes, like client-go, so connections rotate.
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
      ...(this.#opts.labelSelector ? { labelSelector: this.#opts.labelSelector } : {}),
      ...(this.#opts.fieldSelector ? { fieldSelector: this.#opts.fieldSelector } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const onEvent = (type: string, obj: unknown) => {
        if (type === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) gone = true;
          else reject(new Error(`watch ${this.#opts.path}: ${status.message ?? 'error event'}`));
          this.#abort?.abort();
          return;
        }
        const o = obj as T;
        if (o.metadata.resourceVersion) this.#rv = o.metadata.resourceVersion;
        delivered = true;
        if (!this.#status.healthy) this.#status = { ...this.#status, healthy: true };
        if (type === 'BOOKMARK') return;
        const key = objectKey(o);
        const prev = this.#store.get(key);
        if (type === 'DELETED') {
          this.#store.delete(key);
          this.#emit('delete', prev ?? o);
        } else {
          this.#store.set(key, o);
          if (prev) this.#emit('update', o, prev);
          else this.#emit('add', o);
        }
      };
      let finished = false;
      const onDone = (err: unknown) => {
        finished = true;
        if (gone) reject(new Gone());
        else if (err && !(err instanceof Error && err.name === 'TimeoutError') && !this.#stopped) reject(err instanceof Error ? err : new Error(errorMessage(err)));
        else resolve();
      };
      this.#client.watcher().watch(this.#opts.path, params, onEvent, onDone).then((ctl) => {
        this.#abort = ctl;
        // The watch call returns once the server answered; not finished by then means it is streaming.
        if (!finished && !this.#status.healthy) this.#status = { ...this.#status, healthy: true };
        if (this.#stopped) ctl.abort();
      }, reject);
    });
    this.#abort = undefined;
    return delivered;
  }

  #emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
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
