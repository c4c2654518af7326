/**
 * gRPC message framing for the requests of one ADS stream, in place of grpc-js's own decoder
 * (installed by call-transport.ts#receiveWith). An ACK of a state-of-the-world sidecar repeats every
 * name it watches: 40 KB for a thousand clusters, arriving in three HTTP/2 frames. grpc-js copies
 * each into a new buffer of its own, a thousand per push, and garbage collection then spends as long
 * as the push did reclaiming them.
 *
 * Here a request is assembled in one scratch buffer that every stream shares (a request is complete,
 * and handled, within one `write`). When its names are byte for byte those this stream last sent for
 * its type, only the other fields (version, type, nonce) are copied out, behind a byte that no protobuf
 * message starts with, and the deserializer gets the names kept from before
 * (request-wire.ts#attachKnownNames). Any other request is copied out whole, as
 * grpc-js would, and its names are remembered for the next one. Compressed requests are passed on
 * whole. Framing, and the size limit with grpc-js's own message, are as grpc-js's StreamDecoder.
 */
import { attachKnownNames, learnNames, matchKnownNames, WITHOUT_NAMES, type KnownNames } from '../protocol/request-wire.ts';

const PREFIX = 5;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** `n` bytes of the shared scratch buffer (grown as needed; contents valid until the next call). */
function scratchOf(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafeSlow(Math.max(n, scratch.length * 2));
  return scratch.subarray(0, n);
}

/**
 * Name lists held by some stream's decoder, by length and last bytes (then compared whole). A list
 * lives as long as a decoder holds it; the table forgets lists nobody holds when it grows.
 */
const shared = new Map<string, WeakRef<Buffer>[]>();
const SHARED_SWEEP_AT = 1024;

/** An equal list some stream already holds, else a copy of `wire` (not the request's buffer) that others will share. */
function sharedNames(wire: Buffer): Buffer {
  const key = `${wire.length}:${wire.toString('latin1', Math.max(0, wire.length - 48))}`;
  const refs = shared.get(key) ?? [];
  for (const ref of refs) {
    const b = ref.deref();
    if (b !== undefined && b.equals(wire)) return b;
  }
  if (shared.size >= SHARED_SWEEP_AT) sweepShared();
  const copy = ownCopy(wire);
  const live = refs.filter((r) => r.deref() !== undefined);
  if (live.length < 16) live.push(new WeakRef(copy));
  shared.set(key, live);
  return copy;
}

/**
 * A copy in memory of its own. Buffer.from puts small copies in Node's 8 KB allocation pool, where one
 * long-lived slice keeps the whole pool alive: a few per stream held megabytes at 1,000 streams.
 */
function ownCopy(b: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(b.length);
  b.copy(copy);
  return copy;
}

/** Type URLs held by decoders: a handful, one copy each. */
const typeUrls = new Map<string, Buffer>();

function sharedTypeUrl(bytes: Buffer): Buffer {
  const key = bytes.toString('latin1');
  let b = typeUrls.get(key);
  if (b === undefined) {
    b = ownCopy(bytes);
    if (typeUrls.size < 64) typeUrls.set(key, b);
  }
  return b;
}

function sweepShared(): void {
  for (const [key, refs] of shared) {
    const live = refs.filter((r) => r.deref() !== undefined);
    if (live.length === 0) shared.delete(key);
    else shared.set(key, live);
  }
  // Everything still held: start over rather than grow without bound (streams keep their lists).
  if (shared.size >= SHARED_SWEEP_AT) shared.clear();
}

export class RequestFrameDecoder {
  readonly #maxLength: number;
  readonly #header = Buffer.alloc(PREFIX);
  #headerHave = 0;
  #parts: Buffer[] = [];
  #remaining = 0;
  /** The names last sent per type URL (a stream watches a handful of types). */
  readonly #known: KnownNames[] = [];
  #withoutNames = 0;

  /** `maxLength` as grpc-js's: the largest message accepted, -1 for no limit. */
  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** How many requests were passed on without their names (they repeated the type's last ones). */
  get withoutNames(): number {
    return this.#withoutNames;
  }

  /** The complete messages in `data` (gRPC prefix included), as grpc-js's StreamDecoder answers them. */
  write(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      if (this.#headerHave < PREFIX) {
        const take = Math.min(PREFIX - this.#headerHave, data.length - pos);
        data.copy(this.#header, this.#headerHave, pos, pos + take);
        this.#headerHave += take;
        pos += take;
        if (this.#headerHave < PREFIX) break;
        const size = this.#header.readUInt32BE(1);
        if (this.#maxLength !== -1 && size > this.#maxLength) throw new Error(`Received message larger than max (${size} vs ${this.#maxLength})`);
        this.#remaining = size;
        this.#parts = [];
      }
      const take = Math.min(this.#remaining, data.length - pos);
      if (take > 0) this.#parts.push(data.subarray(pos, pos + take));
      this.#remaining -= take;
      pos += take;
      if (this.#remaining === 0) {
        out.push(this.#complete());
        this.#headerHave = 0;
      }
    }
    return out;
  }

  #complete(): Buffer {
    const size = this.#header.readUInt32BE(1);
    const parts = this.#parts;
    this.#parts = [];
    const compressed = this.#header[0] !== 0;
    let body: Buffer;
    if (parts.length === 1 && parts[0] !== undefined) body = parts[0];
    else {
      body = scratchOf(size);
      let at = 0;
      for (const p of parts) { p.copy(body, at); at += p.length; }
    }
    const match = compressed ? undefined : matchKnownNames(body, this.#known);
    if (match !== undefined) {
      // Memory of its own: the deserializer finds the names by it.
      const framed = Buffer.allocUnsafeSlow(PREFIX + 1 + size - (match.end - match.start));
      framed[0] = 0;
      framed.writeUInt32BE(framed.length - PREFIX, 1);
      framed[PREFIX] = WITHOUT_NAMES;
      body.copy(framed, PREFIX + 1, 0, match.start);
      body.copy(framed, PREFIX + 1 + match.start, match.end);
      attachKnownNames(framed, match.names);
      this.#withoutNames++;
      return framed;
    }
    const framed = Buffer.allocUnsafe(PREFIX + size);
    this.#header.copy(framed, 0);
    body.copy(framed, PREFIX);
    if (!compressed) this.#learn(framed.subarray(PREFIX));
    return framed;
  }

  #learn(body: Buffer): void {
    const learned = learnNames(body);
    if (learned === undefined) return;
    // Proxies of one kind send the same list: one copy of it for all their streams.
    const names = { typeUrl: sharedTypeUrl(learned.typeUrl), wire: sharedNames(learned.wire), count: learned.count };
    const i = this.#known.findIndex((k) => k.typeUrl.equals(names.typeUrl));
    if (i >= 0) this.#known[i] = names;
    else if (this.#known.length < 8) this.#known.push(names);
  }
}
