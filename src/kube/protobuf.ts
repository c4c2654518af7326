/**
 * Kubernetes' protobuf encoding of API answers (`application/vnd.kubernetes.protobuf`), read without
 * a schema compiler: a caller walks the fields it wants and everything else is skipped by its length,
 * never decoded. A Pod list is mostly spec, managed fields and container statuses nobody here reads;
 * as JSON every byte of them is parsed into objects first, which made listing pods the largest cost of
 * syncing a cluster.
 *
 * An answer is the magic `k8s\0` followed by a runtime.Unknown: 1 typeMeta {1 apiVersion, 2 kind},
 * 2 raw (the object's own message), 3 contentEncoding, 4 contentType (k8s.io/apimachinery
 * pkg/runtime/generated.proto). A list's raw message is 1 metadata (ListMeta: 2 resourceVersion,
 * 3 continue) and 2 items (meta/v1/generated.proto).
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { FIXED32, FIXED64, LEN, VARINT } from '../proto/wire-check.ts';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00];
/** The latest time a JavaScript Date holds (8.64e15 ms after the epoch), in seconds. */
const MAX_TIME_SECONDS = 8.64e12;

/** Malformed protobuf in an API answer: names what was being read and where. */
export class KubeProtobufError extends IsthmusError {
  constructor(what: string, detail: string) {
    super(ErrorCodes.KubeProtobufMalformed, `${what}: malformed protobuf answer: ${detail}`);
  }
}

/**
 * A cursor over one message's bytes [pos, end). `next()` reads a field's tag; the caller then reads
 * its value with the method for its wire type, or `skip()`s it. Nested messages are read with
 * `message()`, which answers a reader over just their bytes.
 */
export class WireReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  readonly what: string;
  /** Field number and wire type of the last tag `next()` read. */
  field = 0;
  wire = 0;

  constructor(buf: Buffer, what: string, pos = 0, end = buf.length) {
    this.buf = buf;
    this.what = what;
    this.pos = pos;
    this.end = end;
  }

  /** Reads the next tag; false at the end of the message. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const tag = this.varint();
    this.field = Math.floor(tag / 8);
    this.wire = tag % 8;
    if (this.field === 0) this.fail('field number 0');
    return true;
  }

  /** An unsigned varint of at most 53 bits (lengths, counts, times in seconds). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited value (the tag must have had wire type LEN). */
  range(): [number, number] {
    if (this.wire !== LEN) this.fail(`field ${this.field} has wire type ${this.wire}, expected ${LEN}`);
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail(`field ${this.field} is longer (${len} bytes) than its message`);
    this.pos = start + len;
    return [start, this.pos];
  }

  string(): string {
    const [start, end] = this.range();
    return this.buf.toString('utf8', start, end);
  }

  bool(): boolean {
    if (this.wire !== VARINT) this.fail(`field ${this.field} has wire type ${this.wire}, expected ${VARINT}`);
    return this.varint() !== 0;
  }

  /** A reader over the nested message in the current field. */
  message(): WireReader {
    const [start, end] = this.range();
    return new WireReader(this.buf, this.what, start, end);
  }

  /** Skips the current field's value. */
  skip(): void {
    switch (this.wire) {
      case VARINT: this.varint(); return;
      case FIXED64: this.#advance(8); return;
      case FIXED32: this.#advance(4); return;
      case LEN: this.range(); return;
      default: this.fail(`field ${this.field} has unsupported wire type ${this.wire}`);
    }
  }

  fail(detail: string): never {
    throw new KubeProtobufError(this.what, `${detail} at byte ${this.pos}`);
  }

  #advance(n: number): void {
    if (n > this.end - this.pos) this.fail(`field ${this.field} is truncated`);
    this.pos += n;
  }
}

/** Reads one map<string, string> entry (1 key, 2 value) into `into`. */
export function readStringMapEntry(r: WireReader, into: Record<string, string>): void {
  const e = r.message();
  let key = '';
  let value = '';
  while (e.next()) {
    if (e.field === 1) key = e.string();
    else if (e.field === 2) value = e.string();
    else e.skip();
  }
  into[key] = value;
}

/** A meta/v1 Time (1 seconds, 2 nanos) as the RFC 3339 text the JSON form carries (seconds precision). */
export function readTime(r: WireReader): string {
  const t = r.message();
  let seconds = 0;
  while (t.next()) {
    if (t.field === 1 && t.wire === VARINT) seconds = t.varint();
    else t.skip();
  }
  if (seconds > MAX_TIME_SECONDS) r.fail(`time ${seconds} s is out of range`);
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** The object's own message (Unknown.raw) inside a protobuf answer body. */
export function unwrap(body: Buffer, what: string): WireReader {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) throw new KubeProtobufError(what, 'the body does not start with the k8s protobuf prefix');
  const r = new WireReader(body, what, MAGIC.length);
  let raw: WireReader | undefined;
  while (r.next()) {
    if (r.field === 2) raw = r.message();
    else if (r.field === 3) {
      const encoding = r.string();
      if (encoding !== '') r.fail(`content encoding ${JSON.stringify(encoding)} is not supported`);
    } else r.skip();
  }
  return raw ?? new WireReader(body, what, body.length, body.length);
}

export interface ProtobufList<T> {
  readonly resourceVersion: string;
  readonly continue: string;
  readonly items: T[];
}

/** A list answer: ListMeta's resourceVersion and continue token, and each item read by `readItem`. */
export function readList<T>(body: Buffer, what: string, readItem: (item: WireReader) => T): ProtobufList<T> {
  const r = unwrap(body, what);
  let resourceVersion = '';
  let cont = '';
  const items: T[] = [];
  while (r.next()) {
    if (r.field === 1) {
      const meta = r.message();
      while (meta.next()) {
        if (meta.field === 2) resourceVersion = meta.string();
        else if (meta.field === 3) cont = meta.string();
        else meta.skip();
      }
    } else if (r.field === 2) {
      items.push(readItem(r.message()));
    } else r.skip();
  }
  return { resourceVersion, continue: cont, items };
}

/**
 * A meta/v1 Status answer (an error) as the JSON text KubeApiError reads: 2 status, 3 message,
 * 4 reason, 6 code. Undefined when the body is not one.
 */
export function statusAsJson(body: Buffer, what: string): string | undefined {
  try {
    const r = unwrap(body, what);
    const s: Record<string, string | number> = { kind: 'Status' };
    while (r.next()) {
      if (r.field === 2) s['status'] = r.string();
      else if (r.field === 3) s['message'] = r.string();
      else if (r.field === 4) s['reason'] = r.string();
      else if (r.field === 6 && r.wire === VARINT) s['code'] = r.varint();
      else r.skip();
    }
    return JSON.stringify(s);
  } catch {
    return undefined;
  }
}
