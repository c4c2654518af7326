/**
 * The push pipeline in one process, for unit tests of the xDS paths: the real AdsServer with the
 * real generators (or wrapped ones) over real grpc-js on loopback, fed by a MeshView the test
 * controls, and simulated sidecars that subscribe and ACK as Envoy does. The debouncer holds every
 * change until `flush` (no wall clock decides when a push happens), and every generator call is
 * recorded, so a test can say what was regenerated as well as what was sent.
 *
 *   const p = await Pipeline.start(() => view);
 *   const s = await p.sidecar('11', [[CDS, []], [EDS, [name]]]);
 *   p.push(endpointPush([host], Date.now()));
 *   await p.flush();
 *   assert.deepEqual(await p.received(s), [...]);
 *   await p.close();
 */
import { ServerCredentials } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import type { TypeUrl } from '../model/ids.ts';
import type { MeshView } from '../model/mesh-view.ts';
import { silentLogger } from '../observability/log.ts';
import type { DiscoveryResponse } from '../proto/types.ts';
import { fullPush, type PushRequest } from '../push/request.ts';
import { generatorLookup } from '../xds/generators/prepared.ts';
import { AdsServer } from '../xds/server/ads-server.ts';
import { preparedAdsService, startGrpcServer, type BoundServer } from '../xds/server/grpc.ts';
import { xdsMetrics } from '../xds/server/metrics.ts';
import type { GeneratorLookup } from '../xds/server/types.ts';
import { AdsTestClient } from './ads-client.ts';

/** What a sidecar subscribes to: type URL and resource names ([] for a wildcard type). */
export type Subscriptions = readonly (readonly [TypeUrl, readonly string[]])[];

/** Where a simulated sidecar runs and who it is. */
export interface SidecarPlacement {
  readonly ip?: string;
  readonly namespace?: string;
  readonly cluster?: string;
  readonly network?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export class Pipeline {
  readonly ads: AdsServer;
  readonly #bound: BoundServer;
  readonly #clients: AdsTestClient[] = [];
  readonly #subscriptions = new Map<AdsTestClient, Map<string, readonly string[]>>();
  /** The last response of each type each client got (what its next request names as version and nonce). */
  readonly #last = new Map<AdsTestClient, Map<string, DiscoveryResponse>>();
  /** Generator calls since the last `clearCalls`, as `<type> <names|*>` (type: last segment of its URL). */
  readonly calls: string[];

  private constructor(ads: AdsServer, bound: BoundServer, calls: string[]) {
    this.ads = ads;
    this.#bound = bound;
    this.calls = calls;
  }

  /** Starts the server with the real generators (recorded) over `view`, and pushes the first config. */
  static async start(view: () => MeshView, generators: GeneratorLookup = generatorLookup()): Promise<Pipeline> {
    const calls: string[] = [];
    const recorded: GeneratorLookup = (proxy, t) => {
      const g = generators(proxy, t);
      if (g === undefined) return g;
      return { ...g, generate: (p, v, names) => { calls.push(`${t.split('.').pop() ?? ''} ${names === 'wildcard' ? '*' : names.join(',')}`); return g.generate(p, v, names); } };
    };
    const ads = new AdsServer({
      generators: recorded, view, controlPlaneId: 'istiod-test-0', controlPlaneVersion: '0.1.0', systemNamespace: 'istio-system',
      // The debouncer holds every change until flush(): the test decides when pushes happen.
      debounceAfterMs: 3_600_000, debounceMaxMs: 3_600_000, pushThrottle: 10, log: silentLogger, metrics: xdsMetrics(new Registry()),
      debugAuth: false, identityCheck: false,
    });
    const bound = await startGrpcServer('127.0.0.1:0', ServerCredentials.createInsecure(), ads.limits, [{ definition: preparedAdsService, implementation: ads.implementation() }]);
    const p = new Pipeline(ads, bound, calls);
    ads.push(fullPush('config', Date.now()));
    await ads.drained();
    return p;
  }

  get address(): string {
    return `127.0.0.1:${this.#bound.port}`;
  }

  /** Queues a push (held by the debouncer until `flush`). */
  push(req: PushRequest): void {
    this.ads.push(req);
  }

  /** Releases the held pushes and waits until every one was handed to its streams. */
  async flush(): Promise<void> {
    await this.ads.drained();
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /**
   * A sidecar `sidecar~<ip>~p<id>.<namespace>~<namespace>.svc.cluster.local` (default: ip 10.1.0.<id>,
   * namespace default, cluster1, network1) that requests each subscription in order, as Envoy does,
   * and ACKs each answer.
   */
  async sidecar(id: string, subscriptions: Subscriptions, at: SidecarPlacement = {}): Promise<AdsTestClient> {
    const ns = at.namespace ?? 'default';
    const metadata = { NAMESPACE: ns, CLUSTER_ID: at.cluster ?? 'cluster1', NETWORK: at.network ?? 'network1', PROXY_CONFIG: {}, ...(at.labels ? { LABELS: at.labels } : {}) };
    const c = new AdsTestClient({ address: this.address, nodeId: `sidecar~${at.ip ?? `10.1.0.${id}`}~p${id}.${ns}~${ns}.svc.cluster.local`, metadata });
    this.#clients.push(c);
    const subs = new Map<string, readonly string[]>();
    this.#subscriptions.set(c, subs);
    this.#last.set(c, new Map());
    for (const [t, names] of subscriptions) {
      const r = await c.request(t, names);
      if (r.typeUrl !== t) throw new Error(`sidecar ${id} asked for ${t} and got ${r.typeUrl ?? 'nothing'}`);
      c.ack(r, names);
      subs.set(t, names);
      this.#last.get(c)?.set(t, r);
    }
    return c;
  }

  /** Every response that reaches `c` within `ms` of the previous one, each ACKed with its subscription. */
  async received(c: AdsTestClient, ms = 300): Promise<DiscoveryResponse[]> {
    const out: DiscoveryResponse[] = [];
    for (;;) {
      let r: DiscoveryResponse;
      try { r = await c.next(ms); } catch { return out; }
      out.push(r);
      c.ack(r, this.#subscriptions.get(c)?.get(r.typeUrl ?? '') ?? []);
      this.#last.get(c)?.set(r.typeUrl ?? '', r);
    }
  }

  /**
   * Changes what `c` watches of type `t` as Envoy does (e.g. EDS after CDS named a new cluster): a
   * request with the new names that carries the last version and nonce it got, so it ACKs that
   * response and asks for more at once. Later answers arrive through `received`.
   */
  resubscribe(c: AdsTestClient, t: TypeUrl, names: readonly string[]): void {
    const last = this.#last.get(c)?.get(t);
    this.#subscriptions.get(c)?.set(t, names);
    c.send({ typeUrl: t, resourceNames: [...names], versionInfo: last?.versionInfo ?? '', responseNonce: last?.nonce ?? '' });
  }

  /** Fails if any response reaches `c` within `ms`. */
  async expectNoResponse(c: AdsTestClient, ms = 300): Promise<void> {
    const got = await this.received(c, ms);
    if (got.length > 0) throw new Error(`expected no response, got ${got.map((r) => `${r.typeUrl ?? '?'} (${String(r.resources?.length ?? 0)} resources)`).join(', ')}`);
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.close();
    this.ads.close();
    await this.#bound.close();
  }
}
