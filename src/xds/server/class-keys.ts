/**
 * Per watch, the generator cache key (the proxy's class: the proxy facts its output depends on) for
 * the view last asked about, and the key its last response was computed from. A push asks for the
 * key of every watch of every connection it concerns, several times, so it is computed once per
 * (watch, view); a key that differs from the last response's means the proxy's own facts changed
 * (e.g. its endpoints appeared: inbound clusters and listeners), which an endpoint-only push must not miss.
 */
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { WatchState } from '../protocol/watch.ts';
import type { GeneratorLookup, PreparedGenerator } from './types.ts';

export class ClassKeys {
  readonly #generators: GeneratorLookup;
  readonly #sent = new WeakMap<WatchState, string>();
  readonly #current = new WeakMap<WatchState, { view: MeshView; key: string }>();

  constructor(generators: GeneratorLookup) {
    this.#generators = generators;
  }

  /** The cache key of `gen` for the watch's proxy in `view`. */
  of(proxy: Proxy, watch: WatchState, view: MeshView, gen: PreparedGenerator): string {
    const known = this.#current.get(watch);
    if (known?.view === view) return known.key;
    const key = gen.cacheKey(proxy, view);
    // Updated in place: a push asks this of every watch of every connection concerned.
    if (known === undefined) this.#current.set(watch, { view, key });
    else { known.view = view; known.key = key; }
    return key;
  }

  /** A response for the watch was computed from `view`: remember its key. */
  noteSent(proxy: Proxy, watch: WatchState, view: MeshView): void {
    const gen = this.#generators(proxy, watch.typeUrl);
    if (gen) this.#sent.set(watch, this.of(proxy, watch, view, gen));
  }

  /** Whether the key changed since the watch's last response (false before any response). */
  changed(proxy: Proxy, watch: WatchState, view: MeshView): boolean {
    const before = this.#sent.get(watch);
    const gen = this.#generators(proxy, watch.typeUrl);
    return before !== undefined && gen !== undefined && this.of(proxy, watch, view, gen) !== before;
  }
}
