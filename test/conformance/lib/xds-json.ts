/**
 * The conformance suite's own xDS client: grpc-js with raw-byte (de)serialisers and a protobufjs
 * schema of its own, loaded from the pinned @grpc/grpc-js-xds `.proto` files (every Envoy v3 API
 * file, so each `Any` istiod or Isthmus may send can be decoded). Nothing here uses Isthmus's
 * codec, loader or types: a bug there cannot hide in both answers.
 *
 * Decoding to JSON (`toJson`) uses proto field names and normalises proto3 defaults: a scalar or enum
 * equal to its zero value is dropped unless it is a oneof member or a proto3 `optional` (presence is
 * meaningful there), empty repeated fields and maps are dropped, messages are kept even when empty
 * (an empty message is a setting, e.g. `locality_weighted_lb_config: {}`). `Any` becomes
 * `{ "@type": url, ...fields }`; an Any whose type the schema lacks becomes
 * `{ "@type": url, "@bytes": <base64> }`. 64-bit integers become decimal strings, bytes base64.
 */
import { credentials, makeGenericClientConstructor, Metadata, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import protobuf from 'protobufjs';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const require = createRequire(import.meta.url);
let rootCache: protobuf.Root | undefined;

function protoFiles(dir: string, base: string, out: string[]): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) protoFiles(p, base, out);
    else if (e.endsWith('.proto')) out.push(relative(base, p));
  }
  return out;
}

/** Every Envoy v3 `.proto` of the pinned package, plus the typed-struct and discovery files. */
export function schema(): protobuf.Root {
  if (rootCache) return rootCache;
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const includes = [join(deps, 'envoy-api'), join(deps, 'xds'), join(deps, 'googleapis'), join(deps, 'protoc-gen-validate'), dirname(require.resolve('protobufjs/package.json'))];
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const inc of includes) {
      try { if (statSync(join(inc, target)).isFile()) return join(inc, target); } catch { /* next */ }
    }
    return target;
  };
  // Files whose imports the package does not ship (e.g. OpenCensus tracing) are left out, with
  // everything that imports them.
  const find = (f: string): string | undefined => {
    for (const inc of includes) if (existsSync(join(inc, f))) return join(inc, f);
    return f.startsWith('google/protobuf/') ? f : undefined;
  };
  const ok = new Map<string, boolean>();
  const loadable = (f: string): boolean => {
    const known = ok.get(f);
    if (known !== undefined) return known;
    ok.set(f, true);
    const path = find(f);
    const good = path !== undefined && (f.startsWith('google/protobuf/') ||
      [...readFileSync(path, 'utf8').matchAll(/^import\s+(?:public\s+)?"([^"]+)";/gm)].every((m) => loadable(m[1] ?? '')));
    ok.set(f, good);
    return good;
  };
  const files = [
    ...protoFiles(join(deps, 'envoy-api', 'envoy'), join(deps, 'envoy-api'), []).filter((f) => /\/v3\//.test(f)),
    'udpa/type/v1/typed_struct.proto', 'xds/type/v3/typed_struct.proto',
  ].filter(loadable);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  rootCache = root;
  return root;
}

function type(name: string): protobuf.Type {
  return schema().lookupType(name);
}

const isLong = (v: unknown): v is { toString(): string; low: number; high: number } => typeof v === 'object' && v !== null && 'low' in v && 'high' in v;

function scalarJson(v: unknown): Json {
  if (isLong(v)) return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  return v as Json;
}

function isZero(v: unknown): boolean {
  if (isLong(v)) return v.low === 0 && v.high === 0;
  if (v instanceof Uint8Array) return v.length === 0;
  return v === 0 || v === '' || v === false;
}

function anyJson(msg: { type_url?: string; value?: Uint8Array }): JsonObject {
  const url = msg.type_url ?? '';
  const name = url.slice(url.lastIndexOf('/') + 1);
  let t: protobuf.Type | undefined;
  try { t = type(name); } catch { t = undefined; }
  if (!t) return { '@type': url, '@bytes': Buffer.from(msg.value ?? new Uint8Array()).toString('base64') };
  return { '@type': url, ...toJson(t, t.decode(msg.value ?? new Uint8Array()) as unknown as Record<string, unknown>) };
}

function valueJson(field: protobuf.Field, v: unknown): Json {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    return rt.fullName === '.google.protobuf.Any' ? anyJson(v as { type_url?: string; value?: Uint8Array }) : toJson(rt, v as Record<string, unknown>);
  }
  if (rt instanceof protobuf.Enum) return rt.valuesById[v as number] ?? (v as number);
  return scalarJson(v);
}

/** A decoded message as normalised JSON (see the file comment). */
export function toJson(t: protobuf.Type, msg: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const f of t.fieldsArray) {
    // protobufjs puts defaults on the prototype: only own properties were on the wire.
    if (!Object.hasOwn(msg, f.name)) continue;
    const v = msg[f.name];
    if (v === undefined || v === null) continue;
    if (f instanceof protobuf.MapField) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) continue;
      out[f.name] = Object.fromEntries(entries.map(([k, x]) => [k, valueJson(f, x)]));
    } else if (f.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      out[f.name] = arr.map((x) => valueJson(f, x));
    } else {
      const presence = f.partOf !== null || f.resolvedType instanceof protobuf.Type || (f.options?.['proto3_optional'] === true);
      if (!presence && isZero(v)) continue;
      out[f.name] = valueJson(f, v);
    }
  }
  return out;
}

// protobufjs' bundled struct.proto is pre-parsed with camelCase names (keepCase does not reach it).
function structValue(v: unknown): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(structValue) } };
  if (v !== null && typeof v === 'object') return { structValue: { fields: Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structValue(x)])) } };
  throw new Error(`node metadata value ${String(v)} has no Struct form`);
}

export interface NodeSpec {
  readonly id: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly locality?: { region?: string; zone?: string };
}

interface RawResponse { version_info?: string; nonce?: string; type_url?: string; resources?: { type_url?: string; value?: Uint8Array }[] }

/** One ADS stream (state of the world) speaking raw protobuf bytes. */
export class RawAdsStream {
  readonly #client: { close(): void };
  readonly #stream: ClientDuplexStream<Record<string, unknown>, Buffer>;
  readonly #responses: RawResponse[] = [];
  #waiters: (() => void)[] = [];
  #error: Error | undefined;
  #node: NodeSpec | undefined;

  constructor(address: string, node: NodeSpec) {
    const req = type('envoy.service.discovery.v3.DiscoveryRequest');
    const def: ServiceDefinition = {
      StreamAggregatedResources: {
        path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
        requestStream: true, responseStream: true,
        requestSerialize: (o: Record<string, unknown>) => Buffer.from(req.encode(req.fromObject(o)).finish()),
        requestDeserialize: (b: Buffer): Record<string, unknown> => ({ bytes: b }),
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const Ctor = makeGenericClientConstructor(def, 'ads');
    const client = new Ctor(address, credentials.createInsecure());
    this.#client = client;
    const method = (client as unknown as Record<string, (md: Metadata) => ClientDuplexStream<Record<string, unknown>, Buffer>>)['StreamAggregatedResources'];
    if (!method) throw new Error('no ADS method');
    this.#stream = method.call(client, new Metadata());
    const resp = type('envoy.service.discovery.v3.DiscoveryResponse');
    this.#stream.on('data', (b: Buffer) => {
      this.#responses.push(resp.decode(b) as unknown as RawResponse);
      this.#wake();
    });
    this.#stream.on('error', (e: Error) => { this.#error = e; this.#wake(); });
    this.#stream.on('end', () => { this.#error ??= new Error('stream ended'); this.#wake(); });
    this.#node = node;
  }

  #wake(): void {
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }

  /** Requests `names` (empty: wildcard) of `typeUrl`, ACKing the previous response of that type; returns resources as JSON. */
  async get(typeUrl: string, names: readonly string[], timeoutMs = 10_000): Promise<JsonObject[]> {
    const body: Record<string, unknown> = { type_url: typeUrl, resource_names: [...names] };
    if (this.#node) {
      body['node'] = { id: this.#node.id, metadata: structValue(this.#node.metadata)['structValue'], ...(this.#node.locality ? { locality: this.#node.locality } : {}) };
      this.#node = undefined;
    }
    const seen = this.#responses.length;
    this.#stream.write(body);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.#responses.slice(seen).find((x) => x.type_url === typeUrl);
      if (r) {
        this.#stream.write({ type_url: typeUrl, resource_names: [...names], version_info: r.version_info ?? '', response_nonce: r.nonce ?? '' });
        return (r.resources ?? []).map((a) => anyJson(a));
      }
      if (this.#error) throw this.#error;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${typeUrl} response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  close(): void {
    this.#stream.cancel();
    this.#client.close();
  }
}
