/**
 * The server's generated-resource cache, valid for one view version at a time, and carried forward
 * by an endpoint-only push so that the push regenerates only what it changed:
 *
 * - whole responses per (type URL, generator cache key, subscription): every proxy of a class with
 *   the same subscription gets the same encoded bytes;
 * - load assignments per (service host, generator cache key = network view, plus the proxy's locality
 *   where a DestinationRule balances by locality, cluster name): an endpoint change drops only the
 *   assignments of the changed services, so each is regenerated once per key, and every other
 *   assignment keeps its bytes.
 *
 * A view of another version clears everything (a full push, or a change nobody announced), except
 * the load assignments `advance` was told did not change.
 */
import type { MeshView } from '../../model/mesh-view.ts';
import { serviceHostOf } from '../../model/cluster-names.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL } from '../../model/type-urls.ts';
import type { PreparedResource } from '../protocol/response.ts';

export interface CachedList {
  readonly resources: readonly PreparedResource[];
  readonly names: readonly string[];
}

/** Cache activity, for tests and debugging. */
export interface CacheStats {
  /** Load assignments generated (cache misses). */
  assignmentsGenerated: number;
  /** Whole responses generated (cache misses). */
  listsGenerated: number;
}

/** Bucket of names that belong to no service (never dropped by an endpoint push). */
const NO_HOST = '';
const MAX_ASSIGNMENTS = 500_000;
const EDS_PREFIX = `${CLUSTER_LOAD_ASSIGNMENT_TYPE_URL}\u0000`;

export class ResourceCache {
  #version = '';
  readonly #lists = new Map<string, CachedList>();
  /** host -> (cacheKey NUL name -> assignment, or null when the generator does not answer the name). */
  readonly #assignments = new Map<string, Map<string, PreparedResource | null>>();
  #assignmentCount = 0;
  readonly #hostOf = new Map<string, string>();
  readonly stats: CacheStats = { assignmentsGenerated: 0, listsGenerated: 0 };

  /** The service host of a load assignment name (memoized; '' when it names no service). */
  hostOf(name: string): string {
    let h = this.#hostOf.get(name);
    if (h === undefined) {
      h = serviceHostOf(name) ?? NO_HOST;
      if (this.#hostOf.size > 200_000) this.#hostOf.clear();
      this.#hostOf.set(name, h);
    }
    return h;
  }

  #at(view: MeshView): void {
    if (view.version === this.#version) return;
    this.#lists.clear();
    this.#assignments.clear();
    this.#assignmentCount = 0;
    this.#version = view.version;
  }

  /**
   * An endpoint-only push moves the mesh from any of the versions `from` to `to`, changing the
   * endpoints of `hosts` only: their load assignments (and the EDS responses holding one) are dropped, every
   * other assignment is kept, and so are responses of the other types: by the generator contract
   * (src/xds/server/types.ts) they read endpoints only through the proxy facts in their cache key
   * (a proxy whose own endpoints changed gets a new key) and the service identities, whose change the
   * registry announces as a full push. So an endpoint push regenerates no CDS, LDS or RDS.
   */
  advance(from: ReadonlySet<string>, to: MeshView, hosts: ReadonlySet<string>): void {
    // Already there: whoever moved the cache to `to` dropped what changed (or it was refilled for it).
    if (this.#version === to.version || !from.has(this.#version)) return;
    for (const h of hosts) {
      this.#assignmentCount -= this.#assignments.get(h)?.size ?? 0;
      this.#assignments.delete(h);
    }
    for (const [key, list] of this.#lists) {
      if (key.startsWith(EDS_PREFIX) && list.names.some((n) => hosts.has(this.hostOf(n)))) this.#lists.delete(key);
    }
    this.#version = to.version;
  }

  /** The whole response for (type, cache key, subscription key), made once per view version. */
  list(view: MeshView, key: string, make: () => readonly PreparedResource[]): CachedList {
    this.#at(view);
    let out = this.#lists.get(key);
    if (!out) {
      const resources = make();
      this.stats.listsGenerated++;
      out = { resources, names: resources.map((r) => r.name) };
      if (this.#lists.size > 50_000) this.#lists.clear();
      this.#lists.set(key, out);
    }
    return out;
  }

  /**
   * The load assignments of `names` (in that order, each once) for proxies of `cacheKey`: cached
   * ones as they are, the others from one call of `make` with just the missing names.
   */
  assignments(view: MeshView, cacheKey: string, names: Iterable<string>, make: (missing: readonly string[]) => readonly PreparedResource[]): PreparedResource[] {
    this.#at(view);
    const wanted: { name: string; host: string; key: string }[] = [];
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      const host = this.hostOf(name);
      const key = `${cacheKey}\u0000${name}`;
      wanted.push({ name, host, key });
      if (this.#assignments.get(host)?.get(key) === undefined) missing.push(name);
    }
    if (missing.length > 0) {
      // Names nobody subscribes to any more stay until the next full push; bound them meanwhile.
      if (this.#assignmentCount + missing.length > MAX_ASSIGNMENTS) {
        this.#assignments.clear();
        this.#assignmentCount = 0;
        missing.splice(0, missing.length, ...wanted.map((w) => w.name));
      }
      const made = new Map<string, PreparedResource>();
      for (const r of make(missing)) made.set(r.name, r);
      this.stats.assignmentsGenerated += missing.length;
      for (const name of missing) {
        const host = this.hostOf(name);
        let bucket = this.#assignments.get(host);
        if (!bucket) this.#assignments.set(host, bucket = new Map<string, PreparedResource | null>());
        bucket.set(`${cacheKey}\u0000${name}`, made.get(name) ?? null);
        this.#assignmentCount++;
      }
    }
    const out: PreparedResource[] = [];
    for (const w of wanted) {
      const r = this.#assignments.get(w.host)?.get(w.key);
      if (r) out.push(r);
    }
    return out;
  }
}
