/**
 * Kubernetes without an API server, for the in-process harness (fake-discovery.ts): a cluster is a
 * set of in-memory informers that the product's own controllers create through their informer
 * factory seam (`InformerFactory` in src/kube/informer.ts). Applying or deleting an object delivers
 * the add, update or delete event the real `Informer` would deliver for the same watch event, to the
 * same handlers: selectors and `refuse` filter as the real one does, and an informer's first
 * `start()` reports what it holds as adds, then resolves `synced`, as the real first list does.
 */
import type { InformerFactory, InformerHandlers, InformerLike, InformerOptions, InformerStatus } from '../kube/informer.ts';
import { objectKey, type KubeObject } from '../kube/types.ts';

/** Where each kind is listed and watched (the paths the product's informers ask for). */
const KIND_PATHS: Readonly<Record<string, string>> = {
  Namespace: '/api/v1/namespaces',
  Service: '/api/v1/services',
  Pod: '/api/v1/pods',
  Node: '/api/v1/nodes',
  EndpointSlice: '/apis/discovery.k8s.io/v1/endpointslices',
  Gateway: '/apis/networking.istio.io/v1/gateways',
  DestinationRule: '/apis/networking.istio.io/v1/destinationrules',
  VirtualService: '/apis/networking.istio.io/v1/virtualservices',
  Sidecar: '/apis/networking.istio.io/v1/sidecars',
  PeerAuthentication: '/apis/security.istio.io/v1/peerauthentications',
  // Known to Istio, read by no informer of Isthmus yet: giving one to the harness is an error.
  ServiceEntry: '/apis/networking.istio.io/v1/serviceentries',
};

/** `key=value[,key=value]` selectors; anything else is refused rather than silently ignored. */
function selectorMatches(selector: string | undefined, value: (key: string) => string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^=!]+)==?(.*)$/.exec(term.trim());
    if (!m?.[1]) throw new Error(`fake-kube: selector term ${JSON.stringify(term)} is not supported (only key=value)`);
    return value(m[1]) === m[2];
  });
}

function fieldValue(obj: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return obj.metadata.name;
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  throw new Error(`fake-kube: field selector on ${field} is not supported`);
}

/** One collection's cache: what the real Informer holds after the same watch events. */
class MemoryInformer<T extends KubeObject> implements InformerLike<T> {
  readonly opts: InformerOptions;
  readonly #store = new Map<string, T>();
  readonly #handlers: InformerHandlers<T>[] = [];
  #started = false;
  #stopped = false;
  #rv = 0;
  #resolve: () => void = () => undefined;
  readonly synced = new Promise<void>((r) => { this.#resolve = r; });

  constructor(opts: InformerOptions) {
    this.opts = opts;
  }

  on(h: InformerHandlers<T>): void { this.#handlers.push(h); }
  list(): T[] { return [...this.#store.values()]; }
  get(key: string): T | undefined { return this.#store.get(key); }
  status(): InformerStatus {
    return { synced: this.#started, healthy: true, resourceVersion: String(this.#rv), relists: this.#started ? 1 : 0 };
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const o of this.#store.values()) this.#emit('add', o);
    this.#resolve();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return Promise.resolve();
  }

  #selected(obj: T): boolean {
    return selectorMatches(this.opts.fieldSelector, (f) => fieldValue(obj, f))
      && selectorMatches(this.opts.labelSelector, (l) => obj.metadata.labels?.[l]);
  }

  /** An ADDED or MODIFIED watch event; answers why the real informer would leave it out, if it would. */
  apply(obj: T, resourceVersion: number): string | undefined {
    this.#rv = resourceVersion;
    const versioned = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(resourceVersion) } };
    // As the real informer: the cache holds (and handlers see) only what `reduce` keeps.
    const o = (this.opts.reduce ? this.opts.reduce(versioned) : versioned) as T;
    const key = objectKey(o);
    const prev = this.#store.get(key);
    const why = this.#selected(versioned) ? this.opts.refuse?.(o) : 'not selected';
    if (why !== undefined) {
      if (prev) this.remove(key);
      return why === 'not selected' ? undefined : `${this.opts.path} ${key}: ${why}`;
    }
    this.#store.set(key, o);
    if (prev) this.#emit('update', o, prev);
    else this.#emit('add', o);
    return undefined;
  }

  /** A DELETED watch event (nothing if the object is not held). */
  remove(key: string): void {
    const prev = this.#store.get(key);
    if (!prev) return;
    this.#store.delete(key);
    this.#emit('delete', prev);
  }

  #emit(kind: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    // As the real informer: nothing before the first list, nothing after stop, and a throwing handler stops no other.
    if (!this.#started || this.#stopped) return;
    for (const h of this.#handlers) {
      try {
        if (kind === 'add') h.onAdd?.(obj);
        else if (kind === 'delete') h.onDelete?.(obj);
        else if (old) h.onUpdate?.(obj, old);
      } catch {
        // handlers report their own errors
      }
    }
  }
}

/**
 * One cluster's objects. `informers` is the factory handed to the product's controllers; `apply`
 * and `delete` are the watch events. An object of a kind that no controller of this cluster watches
 * is an error naming the kind, so a test cannot believe it configured something the product ignores.
 */
export class FakeKubeCluster {
  readonly name: string;
  readonly #informers = new Map<string, MemoryInformer<KubeObject>[]>();
  #rv = 0;
  /** What the cluster holds before its controllers start, by collection path: each informer's first list. */
  readonly #initial = new Map<string, KubeObject[]>();
  /** Why objects were left out (refused, e.g. a slice above 1,000 endpoints), as the real informer reports. */
  readonly refused: string[] = [];

  constructor(name: string) {
    this.name = name;
  }

  readonly informers: InformerFactory = <T extends KubeObject>(opts: InformerOptions): InformerLike<T> => {
    const inf = new MemoryInformer<T>(opts);
    for (const o of this.#initial.get(opts.path) ?? []) this.#keepRefusal(inf.apply(o as T, Number(o.metadata.resourceVersion)));
    const list = this.#informers.get(opts.path) ?? [];
    list.push(inf);
    this.#informers.set(opts.path, list);
    return inf;
  };

  /**
   * Objects the cluster holds before any controller starts: every informer made later for their
   * collection lists them first. Call before the controllers are built.
   */
  seed(...objs: readonly KubeObject[]): void {
    for (const obj of objs) {
      const path = this.#pathOf(obj.kind);
      const list = this.#initial.get(path) ?? [];
      list.push({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#rv) } });
      this.#initial.set(path, list);
    }
  }

  /** Fails if a seeded object is of a kind no controller of this cluster watches. */
  checkSeedsWatched(): void {
    for (const [path, objs] of this.#initial) {
      if (!this.#informers.has(path)) throw new Error(`cluster ${this.name}: nothing in the control plane watches ${objs[0]?.kind ?? path} here (watched: ${[...this.#informers.keys()].join(', ')})`);
    }
  }

  #keepRefusal(why: string | undefined): void {
    if (why !== undefined) this.refused.push(why);
  }

  #pathOf(kind: string | undefined): string {
    const path = KIND_PATHS[kind ?? ''];
    if (path === undefined) throw new Error(`cluster ${this.name}: an object without a known kind (${JSON.stringify(kind)}); set kind to one of ${Object.keys(KIND_PATHS).join(', ')}`);
    return path;
  }

  /** The informers of `kind`; throws if no controller of this cluster watches it. */
  #watching(kind: string | undefined): MemoryInformer<KubeObject>[] {
    const path = this.#pathOf(kind);
    const list = this.#informers.get(path);
    if (!list) throw new Error(`cluster ${this.name}: nothing in the control plane watches ${kind ?? ''} here (watched: ${[...this.#informers.keys()].join(', ')})`);
    return list;
  }

  /** An ADDED event, or MODIFIED if an object of that kind and key exists. */
  apply(...objs: readonly KubeObject[]): void {
    for (const obj of objs) {
      const rv = ++this.#rv;
      for (const inf of this.#watching(obj.kind)) this.#keepRefusal(inf.apply(obj, rv));
    }
  }

  /** A DELETED event. */
  delete(kind: string, namespace: string, name: string): void {
    for (const inf of this.#watching(kind)) inf.remove(namespace ? `${namespace}/${name}` : name);
  }
}
