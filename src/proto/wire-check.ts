/**
 * A schema-driven pass over protobuf bytes, run before protobufjs decodes them.
 *
 * protobufjs' generated decoders dispatch on the field number only: a known field sent with the
 * wrong wire type is read as whatever the schema says (often "succeeding" with garbage), and its
 * Buffer reader silently clamps a string whose length runs past the end. This pass rejects both,
 * plus truncated varints/fields, wire types 6 and 7, unmatched groups and field number 0. It walks
 * into nested messages and map entries, but not into `Any.value` (checked when it is unpacked).
 * It allocates nothing per field, so it costs a fraction of the decode itself.
 */
import protobuf from 'protobufjs';
import type { Field, Type } from 'protobufjs';

/** Protobuf wire types (the low three bits of a field's tag). */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
const START_GROUP = 3;
const END_GROUP = 4;
export const FIXED32 = 5;

/** Bytes that do not match the schema; `offset` is where the problem was found. */
export class WireFormatError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'WireFormatError';
    this.offset = offset;
  }
}

const SCALAR_WIRE: Readonly<Record<string, number>> = {
  int32: VARINT, uint32: VARINT, sint32: VARINT, int64: VARINT, uint64: VARINT, sint64: VARINT, bool: VARINT,
  fixed64: FIXED64, sfixed64: FIXED64, double: FIXED64,
  fixed32: FIXED32, sfixed32: FIXED32, float: FIXED32,
  string: LEN, bytes: LEN,
};

interface Rule {
  /** The wire type of one element. */
  readonly wire: number;
  /** Repeated scalar numeric field: wire type LEN (packed) is accepted too. */
  readonly packable: boolean;
  /** Message-typed field (or map value): its type, walked recursively. */
  readonly message: Type | undefined;
  /** Map field: the rule for key (field 1) and value (field 2) of each entry. */
  readonly entry: ReadonlyMap<number, Rule> | undefined;
  /** Names the nested message or map entry in errors. */
  readonly label: string;
}

function elementRule(typeName: string, resolved: Field['resolvedType'], where: string): Pick<Rule, 'wire' | 'message' | 'label'> {
  if (resolved instanceof protobuf.Type) return { wire: LEN, message: resolved, label: resolved.fullName.slice(1) };
  if (resolved instanceof protobuf.Enum) return { wire: VARINT, message: undefined, label: where };
  const wire = SCALAR_WIRE[typeName];
  if (wire === undefined) throw new Error(`${where}: unsupported field type ${typeName}`);
  return { wire, message: undefined, label: where };
}

const rulesCache = new WeakMap<Type, ReadonlyMap<number, Rule>>();

function rulesFor(type: Type): ReadonlyMap<number, Rule> {
  const cached = rulesCache.get(type);
  if (cached) return cached;
  const rules = new Map<number, Rule>();
  for (const field of type.fieldsArray) {
    field.resolve();
    const where = `${type.fullName.slice(1)}.${field.name}`;
    if (field instanceof protobuf.MapField) {
      const key = elementRule(field.keyType, null, where);
      const value = elementRule(field.type, field.resolvedType, where);
      const entry = new Map<number, Rule>([
        [1, { ...key, packable: false, entry: undefined }],
        [2, { ...value, packable: false, entry: undefined }],
      ]);
      rules.set(field.id, { wire: LEN, packable: false, message: undefined, entry, label: `${where} map entry` });
      continue;
    }
    const el = elementRule(field.type, field.resolvedType, where);
    const packable = field.repeated && el.wire !== LEN;
    rules.set(field.id, { ...el, packable, entry: undefined });
  }
  rulesCache.set(type, rules);
  return rules;
}

/** A position in a buffer; methods read or skip one item, never past `end`. */
class Cursor {
  readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.pos = 0;
  }

  /** A varint's value for tags and lengths (exact up to 2^53; larger values fail later bound checks). */
  varint(end: number): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new WireFormatError('truncated varint', this.pos);
      const b = this.buf[this.pos++] ?? 0;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new WireFormatError('varint longer than 10 bytes', this.pos);
  }

  /** Moves past `n` bytes of a field that must end by `end`. */
  skip(n: number, end: number, what: string): void {
    if (this.pos + n > end) throw new WireFormatError(`truncated ${what} (${n} bytes, ${end - this.pos} left)`, this.pos);
    this.pos += n;
  }

  /** Reads a length prefix and returns the end of the delimited payload. */
  delimited(end: number): number {
    const start = this.pos;
    const len = this.varint(end);
    if (this.pos + len > end) throw new WireFormatError(`truncated length-delimited field (${len} bytes, ${end - this.pos} left)`, start);
    return this.pos + len;
  }
}

function skipValue(c: Cursor, wire: number, field: number, end: number, depth: number): void {
  switch (wire) {
    case VARINT:
      c.varint(end);
      return;
    case FIXED64:
      c.skip(8, end, 'fixed64');
      return;
    case LEN:
      c.pos = c.delimited(end);
      return;
    case FIXED32:
      c.skip(4, end, 'fixed32');
      return;
    case START_GROUP:
      if (depth > protobuf.util.recursionLimit) throw new WireFormatError('maximum nesting depth exceeded', c.pos);
      for (;;) {
        const at = c.pos;
        const tag = c.varint(end);
        const w = tag % 8;
        if (w === END_GROUP) {
          if (Math.floor(tag / 8) !== field) throw new WireFormatError(`end group ${Math.floor(tag / 8)} does not match group ${field}`, at);
          return;
        }
        skipValue(c, w, Math.floor(tag / 8), end, depth + 1);
      }
    case END_GROUP:
      throw new WireFormatError('unexpected end group', c.pos);
    default:
      throw new WireFormatError(`invalid wire type ${wire}`, c.pos);
  }
}

function checkPacked(c: Cursor, wire: number, end: number): void {
  const stop = c.delimited(end);
  const len = stop - c.pos;
  if (wire === VARINT) {
    while (c.pos < stop) c.varint(stop);
  } else if (len % (wire === FIXED64 ? 8 : 4) !== 0) {
    throw new WireFormatError(`packed field length ${len} is not a multiple of the element size`, c.pos);
  } else {
    c.pos = stop;
  }
}

function walk(c: Cursor, rules: ReadonlyMap<number, Rule>, typeName: string, end: number, depth: number): void {
  if (depth > protobuf.util.recursionLimit) throw new WireFormatError('maximum nesting depth exceeded', c.pos);
  while (c.pos < end) {
    const at = c.pos;
    const tag = c.varint(end);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireFormatError('illegal field number 0', at);
    const rule = rules.get(field);
    if (rule === undefined) {
      skipValue(c, wire, field, end, depth);
    } else if (wire === rule.wire) {
      if (rule.entry) {
        walk(c, rule.entry, rule.label, c.delimited(end), depth + 1);
      } else if (rule.message) {
        const stop = c.delimited(end);
        walk(c, rulesFor(rule.message), rule.label, stop, depth + 1);
      } else {
        skipValue(c, wire, field, end, depth);
      }
    } else if (rule.packable && wire === LEN) {
      checkPacked(c, rule.wire, end);
    } else {
      throw new WireFormatError(`field ${field} of ${typeName} has wire type ${wire}, expected ${rule.wire}`, at);
    }
  }
}

/** Throws a WireFormatError unless `bytes` is a well-formed encoding of `type`. */
export function checkWireFormat(type: Type, bytes: Uint8Array): void {
  walk(new Cursor(bytes), rulesFor(type), type.fullName.slice(1), bytes.length, 0);
}
