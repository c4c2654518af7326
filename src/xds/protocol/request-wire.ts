/**
 * Decoding a state-of-the-world DiscoveryRequest with its `resource_names` (field 3) left as wire
 * bytes until something reads them. Every ACK repeats the proxy's whole name list (a sidecar's EDS
 * ACK names every cluster it knows), and most ACKs name exactly what the previous one did: the server
 * compares the bytes (equal bytes are equal lists, in order) and never turns them into strings.
 *
 * The result is the codec's DiscoveryRequest (src/proto/codec.ts) plus `namesWire` and `nameCount`;
 * `resourceNames` is an own, enumerable getter that decodes the names on first read with that same
 * codec, so a reader, a spread or a copy sees exactly what an eager decode gives. Bytes that do not
 * frame cleanly, and any decoding error, go through the codec's eager decode of the whole message,
 * so errors are the codec's own (code, message, offset).
 */
import { discoveryRequestCodec } from '../../proto/codec.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import { FIXED32, FIXED64, LEN, VARINT } from '../../proto/wire-check.ts';

const RESOURCE_NAMES = 3;

/** A request as received: `namesWire` is set when the names stayed encoded. */
export interface ReceivedRequest extends DiscoveryRequest {
  /** Every field-3 record of the request (tag, length, bytes), in order; empty when it names nothing. */
  readonly namesWire?: Uint8Array;
  /** How many names the request carries (without decoding them). */
  readonly nameCount?: number;
}

interface Split {
  /** [start, end) of each run of resource_names records. */
  readonly names: number[];
  /** How many resource_names records. */
  readonly count: number;
  /** [start, end) of each run of other fields. */
  readonly rest: number[];
  /**
   * The other fields when they are only the strings an ACK carries (version_info, type_url,
   * response_nonce), as [field, start, end] of each value, in order; undefined otherwise.
   */
  readonly strings: number[] | undefined;
  /** [start, end) of the last type_url value; undefined when there is none. */
  readonly typeUrl: [number, number] | undefined;
}

const VERSION_INFO = 1;
const TYPE_URL = 4;
const RESPONSE_NONCE = 5;

/**
 * The byte ranges of names and of everything else; undefined when anything is unusual (the codec
 * decides). Allocates nothing per field: an ACK of a thousand names is a thousand records.
 */
function split(buf: Uint8Array): Split | undefined {
  const names: number[] = [];
  const rest: number[] = [];
  let strings: number[] | undefined = [];
  let typeUrl: [number, number] | undefined;
  let count = 0;
  let pos = 0;
  const n = buf.length;
  /** The varint at `pos` (advancing it); -1 when truncated or longer than 8 bytes (never in a request we serve). */
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8 && pos < n; i++) {
      const b = buf[pos++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return -1;
  };
  while (pos < n) {
    const start = pos;
    const tag = varint();
    if (tag < 0) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let valueAt = pos;
    if (wire === VARINT) {
      if (varint() < 0) return undefined;
    } else if (wire === FIXED64) {
      pos += 8;
    } else if (wire === FIXED32) {
      pos += 4;
    } else if (wire === LEN) {
      const len = varint();
      if (len < 0) return undefined;
      valueAt = pos;
      pos += len;
    } else {
      return undefined;
    }
    if (pos > n) return undefined;
    const isName = field === RESOURCE_NAMES && wire === LEN;
    if (field === TYPE_URL && wire === LEN) typeUrl = [valueAt, pos];
    if (isName) count++;
    else if (strings !== undefined && wire === LEN && (field === VERSION_INFO || field === TYPE_URL || field === RESPONSE_NONCE)) strings.push(field, valueAt, pos);
    else strings = undefined;
    const into = isName ? names : rest;
    // Adjacent records of one kind form one range.
    if (into.length > 0 && into[into.length - 1] === start) into[into.length - 1] = pos;
    else into.push(start, pos);
  }
  return { names, count, rest, strings, typeUrl };
}

function gather(buf: Buffer, ranges: readonly number[]): Buffer {
  if (ranges.length === 2) return buf.subarray(ranges[0], ranges[1]);
  const parts: Buffer[] = [];
  for (let i = 0; i < ranges.length; i += 2) parts.push(buf.subarray(ranges[i], ranges[i + 1]));
  return Buffer.concat(parts);
}

/**
 * The fields other than names, decoded as the codec would: directly when they are only ACK strings
 * (read as protobufjs reads strings, the last occurrence winning), else by the codec.
 */
function decodeHead(buf: Buffer, parts: Split): DiscoveryRequest {
  const s = parts.strings;
  if (s === undefined) return discoveryRequestCodec.decode(gather(buf, parts.rest));
  const head: DiscoveryRequest = {};
  for (let i = 0; i < s.length; i += 3) {
    const value = buf.toString('utf8', s[i + 1], s[i + 2]);
    const field = s[i];
    if (field === VERSION_INFO) head.versionInfo = value;
    else if (field === TYPE_URL) head.typeUrl = value;
    else head.responseNonce = value;
  }
  return head;
}

/**
 * The names a stream last sent for one type, as the frame decoder (server/request-frames.ts) keeps
 * them: a request naming exactly these reaches the deserializer without its names, and with them
 * attached here by the buffer it came in.
 */
export interface KnownNames {
  readonly typeUrl: Buffer;
  /** Every field-3 record, as in `ReceivedRequest.namesWire`; never written to. */
  readonly wire: Buffer;
  readonly count: number;
}

/** Requests sent on without their names, by the memory they are in (each has a buffer of its own). */
const namesByBuffer = new WeakMap<ArrayBufferLike, KnownNames>();

/**
 * The first byte of a request sent on without its names: a tag of field 0, which no protobuf message
 * holds, so such a request can never be taken for one that names nothing.
 */
export const WITHOUT_NAMES = 0x00;

/** Marks `framed` (a request without names, starting with WITHOUT_NAMES, in memory of its own) as naming `names`. */
export function attachKnownNames(framed: Buffer, names: KnownNames): void {
  namesByBuffer.set(framed.buffer, names);
}

/** The names of a whole request as one run, with its type URL, for `matchKnownNames` later; undefined when unusual. */
export function learnNames(body: Buffer): KnownNames | undefined {
  const parts = split(body);
  if (parts?.typeUrl === undefined || parts.names.length !== 2) return undefined;
  return { typeUrl: body.subarray(parts.typeUrl[0], parts.typeUrl[1]), wire: body.subarray(parts.names[0], parts.names[1]), count: parts.count };
}

/**
 * Where a request's names are, when they are byte for byte one of `known` in a single run and its
 * type URL is that entry's: one comparison of bytes instead of a walk over every name. Undefined
 * otherwise, or when anything is unusual (the request then goes whole to the deserializer).
 */
export function matchKnownNames(body: Buffer, known: readonly KnownNames[]): { start: number; end: number; names: KnownNames } | undefined {
  let pos = 0;
  const n = body.length;
  let found: { start: number; end: number; names: KnownNames } | undefined;
  let typeUrl: [number, number] | undefined;
  while (pos < n) {
    const recordAt = pos;
    const tag = body[pos++] ?? 0;
    // Tags of the fields a request carries fit in one byte; anything else is left to the deserializer.
    if (tag >= 0x80) return undefined;
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire !== LEN) return undefined;
    let len = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i === 5 || pos >= n) return undefined;
      const b = body[pos++] ?? 0;
      len += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
    }
    if (field === RESOURCE_NAMES) {
      if (found !== undefined) return undefined;
      // The run starts at this record's tag; it must end where a record of another field starts.
      for (const k of known) {
        const end = recordAt + k.wire.length;
        if (end <= n && body[end] !== tag && body.compare(k.wire, 0, k.wire.length, recordAt, end) === 0) { found = { start: recordAt, end, names: k }; break; }
      }
      if (found === undefined) return undefined;
      pos = found.end;
      continue;
    }
    if (pos + len > n) return undefined;
    if (field === TYPE_URL) typeUrl = [pos, pos + len];
    pos += len;
  }
  if (found === undefined || typeUrl === undefined) return undefined;
  return body.compare(found.names.typeUrl, 0, found.names.typeUrl.length, typeUrl[0], typeUrl[1]) === 0 ? found : undefined;
}

/** The grpc-js request deserializer of state-of-the-world ADS. */
export function decodeDiscoveryRequest(bytes: Buffer): ReceivedRequest {
  if (bytes[0] === WITHOUT_NAMES && bytes.length > 0) {
    const known = namesByBuffer.get(bytes.buffer);
    // Junk from a client, or (call-transport.test.ts guards against it) a grpc-js that no longer hands
    // its deserializer the decoder's buffer: either way an error, never a request naming nothing.
    if (known === undefined) throw new Error('the request starts with field number 0: not protobuf, or passed on without its names and parted from them');
    const head = bytes.subarray(1);
    const rest = split(head);
    return withNames(rest?.count === 0 ? headOf(head, rest) : discoveryRequestCodec.decode(head), known.wire, known.count);
  }
  const parts = split(bytes);
  if (parts === undefined) return discoveryRequestCodec.decode(bytes);
  if (parts.count === 0) return { ...discoveryRequestCodec.decode(bytes), namesWire: new Uint8Array(0), nameCount: 0 };
  return withNames(headOf(bytes, parts), gather(bytes, parts.names), parts.count);
}

function headOf(bytes: Buffer, parts: Split): DiscoveryRequest {
  try {
    return decodeHead(bytes, parts);
  } catch {
    // Report the problem as a decode of the whole message would (offsets included).
    return discoveryRequestCodec.decode(bytes);
  }
}

function withNames(head: DiscoveryRequest, namesWire: Uint8Array, nameCount: number): ReceivedRequest {
  let names: string[] | undefined;
  return {
    ...head,
    namesWire,
    nameCount,
    get resourceNames(): string[] {
      names ??= discoveryRequestCodec.decode(namesWire).resourceNames ?? [];
      return names;
    },
  };
}

/** Whether two wire encodings of name lists are the same bytes. */
export function sameWire(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
