/**
 * A simulated Envoy sidecar for benchmarks: its own TCP connection (grpc-js would otherwise put every
 * client made for one address on one HTTP/2 connection), Istio-like node metadata, and Envoy's order
 * of subscriptions over state-of-the-world ADS: CDS (wildcard), then EDS for the EDS clusters CDS
 * named, then LDS (wildcard), then RDS `8080`. Every response is ACKed; a CDS response that changes
 * the set of EDS clusters re-subscribes EDS, as Envoy does. It records when each cluster first
 * appeared in CDS and when each load assignment last arrived, and counts responses and bytes by type.
 *
 * Responses are not decoded: the stream's deserializer only finds the top-level fields (type URL,
 * version, nonce, each resource's bytes), and names come from field 1 of each Cluster and
 * ClusterLoadAssignment, so that the benchmark's own CPU stays small next to the control plane's
 * (a thousand proxies receive gigabytes when a Service is added). A stream the control plane ends
 * is counted (`closed`), never retried.
 *
 * ACKs are written as Envoy's C++ writes them, without building a message object: the names of a
 * list are encoded once per list (every ACK of a thousand-cluster EDS subscription repeats 40 KB of
 * names) and the version, type and nonce around them per ACK. Encoding each ACK through protobufjs
 * cost the benchmark's one process about 0.4 ms per ACK, 400 ms per push at 1,000 proxies: the
 * convergence it measured was mostly its own. The bytes are the ones protobufjs writes (field order
 * 1, 3, 4, 5), so both control planes receive what they received before.
 */
import { credentials, makeGenericClientConstructor, Metadata, type ClientDuplexStream } from '@grpc/grpc-js';
import { aggregatedDiscoveryService, ServiceNames } from '../../src/proto/services.ts';
import { structFromJson, type JsonObject } from '../../src/proto/wkt.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, LISTENER_TYPE_URL as LDS, ROUTE_CONFIGURATION_TYPE_URL as RDS,
} from '../../src/model/type-urls.ts';
import type { DiscoveryRequest } from '../../src/proto/types.ts';

/** Envoy's Cluster.DiscoveryType EDS. */
const DISCOVERY_TYPE_EDS = 3;
const ROUTES = ['8080'];
const NO_NAMES: readonly string[] = [];
const decoder = new TextDecoder();

/** Calls `f` for each top-level field of an encoded message: varints as numbers, length-delimited as sub-arrays. */
function scan(buf: Uint8Array, f: (field: number, value: number | Uint8Array) => boolean): void {
  let i = 0;
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
    let stop = false;
    if (wire === 0) {
      stop = f(field, varint());
    } else if (wire === 2) {
      const len = varint();
      stop = f(field, buf.subarray(i, i + len));
      i += len;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      return;
    }
    if (stop) return;
  }
}

/** Field 1 (a string) and field 2 (a varint) of an encoded message: a Cluster's name and discovery type. */
export function nameAndType(buf: Uint8Array): { name: string; type: number | undefined } {
  let name = '';
  let type: number | undefined;
  scan(buf, (field, v) => {
    if (field === 1 && typeof v !== 'number') name = decoder.decode(v);
    else if (field === 2 && typeof v === 'number') type = v;
    return name !== '' && type !== undefined;
  });
  return { name, type };
}

/** What the simulated proxies read of a DiscoveryResponse; resources stay encoded. */
export interface RawResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  readonly resources: Uint8Array[];
}

/** DiscoveryResponse: 1 version_info, 2 resources (Any: 2 value), 4 type_url, 5 nonce. */
export function scanResponse(buf: Uint8Array): RawResponse {
  const r: RawResponse = { versionInfo: '', typeUrl: '', nonce: '', resources: [] };
  scan(buf, (field, v) => {
    if (typeof v === 'number') return false;
    if (field === 1) r.versionInfo = decoder.decode(v);
    else if (field === 4) r.typeUrl = decoder.decode(v);
    else if (field === 5) r.nonce = decoder.decode(v);
    else if (field === 2) {
      scan(v, (f, value) => {
        if (f === 2 && typeof value !== 'number') r.resources.push(value);
        return false;
      });
    }
    return false;
  });
  return r;
}

const requestSerialize = aggregatedDiscoveryService.StreamAggregatedResources.requestSerialize;
const RawAdsClient = makeGenericClientConstructor({
  StreamAggregatedResources: {
    ...aggregatedDiscoveryService.StreamAggregatedResources,
    responseDeserialize: (b: Buffer) => scanResponse(b),
    // An ACK arrives already encoded (encodeAck).
    requestSerialize: (r: DiscoveryRequest | Buffer) => (Buffer.isBuffer(r) ? r : requestSerialize(r)),
  },
}, ServiceNames.ads);

function stringField(field: number, value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(bytes.length), bytes]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return Buffer.from(out);
}

/** resource_names (field 3), one record per name: what every ACK of this list repeats. */
export function encodeNames(names: readonly string[]): Buffer {
  return Buffer.concat(names.map((n) => stringField(3, n)));
}

/** A DiscoveryRequest ACK as protobufjs encodes one whose fields are all set (1, 3, 4, 5; set empty strings too). */
export function encodeAck(versionInfo: string, names: Buffer, typeUrl: string, nonce: string): Buffer {
  return Buffer.concat([stringField(1, versionInfo), names, stringField(4, typeUrl), stringField(5, nonce)]);
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
  readonly #client: InstanceType<typeof RawAdsClient>;
  readonly #stream: ClientDuplexStream<DiscoveryRequest | Buffer, RawResponse>;
  readonly #node: { id: string; metadata: ReturnType<typeof structFromJson> };
  #sentNode = false;
  #eds: string[] = [];
  /** Encoded names of the lists this proxy ACKs with (its EDS list, the routes, none). */
  readonly #encoded = new WeakMap<readonly string[], Buffer>();
  #lastEds: RawResponse | undefined;
  #asked = { lds: false, rds: false };
  #synced: () => void = () => undefined;
  #failed: (e: Error) => void = () => undefined;
  /** Resolves once CDS, EDS, LDS and RDS have each been answered once; rejects if the stream ends first. */
  readonly synced: Promise<void>;
  /** Why the stream ended, if it did. */
  closed: string | undefined;
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
    const metadata: JsonObject = {
      NAMESPACE: o.namespace, CLUSTER_ID: o.clusterId, ISTIO_VERSION: '1.28.0', POD_NAME: pod, WORKLOAD_NAME: 'sim',
      SERVICE_ACCOUNT: 'default', INSTANCE_IPS: this.ip, LABELS: { app: 'sim', 'security.istio.io/tlsMode': 'istio' },
      MESH_ID: 'cluster.local', PROXY_CONFIG: {},
    };
    this.#node = { id: `sidecar~${this.ip}~${pod}.${o.namespace}~${o.namespace}.svc.cluster.local`, metadata: structFromJson(metadata) };
    // One HTTP/2 connection per proxy, as 1,000 Envoys would have.
    this.#client = new RawAdsClient(o.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': 256 * 1024 * 1024 });
    const method = (this.#client as unknown as Record<string, (md: Metadata) => ClientDuplexStream<DiscoveryRequest | Buffer, RawResponse>>)['StreamAggregatedResources'];
    if (!method) throw new Error('no StreamAggregatedResources method');
    this.#stream = method.call(this.#client, new Metadata());
    this.synced = new Promise((resolve, reject) => { this.#synced = resolve; this.#failed = reject; });
    this.synced.catch(() => undefined);
    this.#stream.on('data', (r: RawResponse) => { this.#handle(r, Date.now()); });
    const end = (why: string) => { if (this.closed === undefined) { this.closed = why; this.#failed(new Error(`proxy ${pod}: stream ended: ${why}`)); } };
    this.#stream.on('error', (e: Error) => { end(e.message); });
    this.#stream.on('end', () => { end('end'); });
    this.#send({ typeUrl: CDS, resourceNames: [] });
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
    if (this.closed === undefined) this.closed = 'closed by the bench';
    this.#stream.cancel();
    this.#client.close();
  }

  #send(req: DiscoveryRequest): void {
    if (this.closed !== undefined) return;
    this.#stream.write(this.#sentNode ? req : { ...req, node: this.#node });
    this.#sentNode = true;
  }

  #ack(r: RawResponse, resourceNames: readonly string[] = NO_NAMES): void {
    if (!this.#sentNode) {
      this.#send({ typeUrl: r.typeUrl, responseNonce: r.nonce, versionInfo: r.versionInfo, resourceNames: [...resourceNames] });
      return;
    }
    if (this.closed !== undefined) return;
    let names = this.#encoded.get(resourceNames);
    if (names === undefined) this.#encoded.set(resourceNames, names = encodeNames(resourceNames));
    this.#stream.write(encodeAck(r.versionInfo, names, r.typeUrl, r.nonce));
  }

  #handle(r: RawResponse, now: number): void {
    for (const a of r.resources) this.bytes += a.byteLength;
    const t = r.typeUrl;
    if (t === CDS) this.#onCds(r, now);
    else if (t === EDS) this.#onEds(r, now);
    else if (t === LDS) {
      this.responses.lds++;
      this.#ack(r);
      if (!this.#asked.rds) {
        this.#asked.rds = true;
        this.#send({ typeUrl: RDS, resourceNames: ROUTES });
      }
    } else if (t === RDS) {
      this.responses.rds++;
      this.#ack(r, ROUTES);
      this.#synced();
    } else {
      this.#ack(r);
    }
  }

  #onCds(r: RawResponse, now: number): void {
    this.responses.cds++;
    const eds: string[] = [];
    for (const a of r.resources) {
      const { name, type } = nameAndType(a);
      if (!this.cdsAt.has(name)) this.cdsAt.set(name, now);
      if (type === DISCOVERY_TYPE_EDS) eds.push(name);
    }
    this.#ack(r);
    eds.sort();
    if (eds.join('\n') === this.#eds.join('\n')) return;
    this.#eds = eds;
    if (this.#lastEds) this.#ack(this.#lastEds, eds);
    else this.#send({ typeUrl: EDS, resourceNames: eds });
  }

  #onEds(r: RawResponse, now: number): void {
    this.responses.eds++;
    for (const a of r.resources) this.edsAt.set(nameAndType(a).name, now);
    this.#lastEds = r;
    this.#ack(r, this.#eds);
    if (!this.#asked.lds) {
      this.#asked.lds = true;
      this.#send({ typeUrl: LDS, resourceNames: [] });
    }
  }
}
