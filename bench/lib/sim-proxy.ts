/**
 * A simulated Envoy sidecar for benchmarks: its own TCP connection (grpc-js would otherwise put every
 * client made for one address on one HTTP/2 connection), Istio-like node metadata, and Envoy's order
 * of subscriptions over state-of-the-world ADS: CDS (wildcard), then EDS for the EDS clusters CDS
 * named, then LDS (wildcard), then RDS `8080`. Every response is ACKed; a CDS response that changes
 * the set of EDS clusters re-subscribes EDS, as Envoy does. It records when each cluster first
 * appeared in CDS and when each load assignment last arrived, and counts responses and bytes by type.
 *
 * Resource names are read from the encoded resources (field 1 of Cluster and ClusterLoadAssignment)
 * without decoding the rest, so that the benchmark's own CPU stays small next to the control plane's.
 */
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, ROUTE_CONFIGURATION_TYPE_URL as RDS,
} from '../../src/model/type-urls.ts';
import type { DiscoveryResponse } from '../../src/proto/types.ts';

/** Envoy's Cluster.DiscoveryType EDS. */
const DISCOVERY_TYPE_EDS = 3;
const ROUTES = ['8080'];
const decoder = new TextDecoder();

/** Field 1 (a string) and field 2 (a varint) of an encoded message, scanning only its top level. */
export function nameAndType(buf: Uint8Array): { name: string; type: number | undefined } {
  let i = 0;
  let name = '';
  let type: number | undefined;
  const varint = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++] ?? 0;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80 || i >= buf.length) return v;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 2) type = v;
    } else if (wire === 2) {
      const len = varint();
      if (field === 1) name = decoder.decode(buf.subarray(i, i + len));
      i += len;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      break;
    }
    if (name !== '' && type !== undefined) break;
  }
  return { name, type };
}

export type Kind = 'cds' | 'eds' | 'lds' | 'rds';

export interface SimProxyOptions {
  readonly address: string;
  readonly index: number;
  readonly namespace: string;
  readonly clusterId: string;
}

export class SimProxy {
  readonly ip: string;
  readonly #client: AdsTestClient;
  #eds: string[] = [];
  #lastEds: DiscoveryResponse | undefined;
  #asked = { lds: false, rds: false };
  #synced: () => void = () => undefined;
  /** Resolves once CDS, EDS, LDS and RDS have each been answered once. */
  readonly synced: Promise<void>;
  /** Cluster name -> when it first appeared in CDS. */
  readonly cdsAt = new Map<string, number>();
  /** Load assignment name -> when it last arrived. */
  readonly edsAt = new Map<string, number>();
  readonly responses: Record<Kind, number> = { cds: 0, eds: 0, lds: 0, rds: 0 };
  bytes = 0;

  constructor(o: SimProxyOptions) {
    const i = o.index;
    this.ip = `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const pod = `sim-${i}`;
    this.#client = new AdsTestClient({
      address: o.address,
      nodeId: `sidecar~${this.ip}~${pod}.${o.namespace}~${o.namespace}.svc.cluster.local`,
      metadata: {
        NAMESPACE: o.namespace, CLUSTER_ID: o.clusterId, ISTIO_VERSION: '1.28.0', POD_NAME: pod, WORKLOAD_NAME: 'sim',
        SERVICE_ACCOUNT: 'default', INSTANCE_IPS: this.ip, LABELS: { app: 'sim', 'security.istio.io/tlsMode': 'istio' },
        MESH_ID: 'cluster.local', PROXY_CONFIG: {},
      },
      // One HTTP/2 connection per proxy, as 1,000 Envoys would have.
      channelOptions: { 'grpc.use_local_subchannel_pool': 1 },
    });
    this.synced = new Promise((resolve) => { this.#synced = resolve; });
    this.#client.send({ typeUrl: CDS, resourceNames: [] });
    void this.#loop();
  }

  /** The EDS clusters this proxy subscribes to. */
  get edsNames(): readonly string[] {
    return this.#eds;
  }

  resetCounts(): void {
    this.responses.cds = this.responses.eds = this.responses.lds = this.responses.rds = 0;
    this.bytes = 0;
  }

  close(): void {
    this.#client.close();
  }

  async #loop(): Promise<void> {
    for (;;) {
      let r: DiscoveryResponse;
      try {
        r = await this.#client.next(24 * 3600_000);
      } catch {
        return;
      }
      this.#handle(r, Date.now());
    }
  }

  #handle(r: DiscoveryResponse, now: number): void {
    const resources = r.resources ?? [];
    for (const a of resources) this.bytes += a.value?.byteLength ?? 0;
    const t = r.typeUrl ?? '';
    if (t === CDS) this.#onCds(r, now);
    else if (t === EDS) this.#onEds(r, now);
    else if (t === LDS) {
      this.responses.lds++;
      this.#client.ack(r);
      if (!this.#asked.rds) {
        this.#asked.rds = true;
        this.#client.send({ typeUrl: RDS, resourceNames: ROUTES });
      }
    } else if (t === RDS) {
      this.responses.rds++;
      this.#client.ack(r, ROUTES);
      this.#synced();
    } else {
      this.#client.ack(r);
    }
  }

  #onCds(r: DiscoveryResponse, now: number): void {
    this.responses.cds++;
    const eds: string[] = [];
    for (const a of r.resources ?? []) {
      const { name, type } = nameAndType(a.value ?? new Uint8Array());
      if (!this.cdsAt.has(name)) this.cdsAt.set(name, now);
      if (type === DISCOVERY_TYPE_EDS) eds.push(name);
    }
    this.#client.ack(r);
    eds.sort();
    if (eds.join('\n') === this.#eds.join('\n')) return;
    this.#eds = eds;
    if (this.#lastEds) this.#client.ack(this.#lastEds, eds);
    else this.#client.send({ typeUrl: EDS, resourceNames: eds });
  }

  #onEds(r: DiscoveryResponse, now: number): void {
    this.responses.eds++;
    for (const a of r.resources ?? []) this.edsAt.set(nameAndType(a.value ?? new Uint8Array()).name, now);
    this.#lastEds = r;
    this.#client.ack(r, this.#eds);
    if (!this.#asked.lds) {
      this.#asked.lds = true;
      this.#client.send({ typeUrl: LDS, resourceNames: [] });
    }
  }
}
