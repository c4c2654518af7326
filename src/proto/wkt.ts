/**
 * Conversions between the wire shapes of well-known types (as decoded, see codec.ts) and the values
 * code actually wants: JSON for Struct, Date for Timestamp, milliseconds for Duration.
 *
 * Every `...From...` builder returns exactly what decoding yields (no fields at their default), so
 * a built value survives `decode(encode(x))` unchanged.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { Long } from 'protobufjs';
import type { Duration, Struct, Timestamp, Value } from './types.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function valueFromJson(v: JsonValue): Value {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: v.length === 0 ? {} : { values: v.map(valueFromJson) } };
  return { structValue: structFromJson(v) };
}

export function structFromJson(obj: JsonObject): Struct {
  const entries = Object.entries(obj);
  if (entries.length === 0) return {};
  const fields: Record<string, Value> = {};
  for (const [k, v] of entries) fields[k] = valueFromJson(v);
  return { fields };
}

/**
 * At most one member of a Value is set (a oneof, so `0`, `''` and `false` survive). Takes the
 * permissive type, so it reads both decoded values and values built here.
 */
export function valueToJson(v: Value): JsonValue {
  if (v.nullValue !== undefined) return null;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.numberValue !== undefined) return Number(v.numberValue);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map(valueToJson);
  if (v.structValue !== undefined) return structToJson(v.structValue);
  // A Value with no member set (the wire allows it) reads as null.
  return null;
}

export function structToJson(s: Struct | undefined): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s?.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

/**
 * The path of the first Value below `s` with no member set (`<at>.<key>[.<key>|[i]]...`), or
 * undefined. The wire allows such a Value; istiod refuses node metadata that holds one
 * (INVALID_ARGUMENT) rather than guess what it meant, and so does Isthmus.
 */
export function unsetValuePath(s: Struct | undefined, at: string): string | undefined {
  for (const [k, v] of Object.entries(s?.fields ?? {})) {
    const found = unsetIn(v, `${at}.${k}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function unsetIn(v: Value, at: string): string | undefined {
  if (v.structValue !== undefined) return unsetValuePath(v.structValue, at);
  if (v.listValue !== undefined) {
    for (const [i, x] of (v.listValue.values ?? []).entries()) {
      const found = unsetIn(x, `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const set = v.nullValue !== undefined || v.boolValue !== undefined || v.numberValue !== undefined || v.stringValue !== undefined;
  return set ? undefined : at;
}

/** A string member of a Struct (e.g. node metadata `CLUSTER_ID`), or undefined if absent or not a string. */
export function structString(s: Struct | undefined, key: string): string | undefined {
  return s?.fields?.[key]?.stringValue;
}

/** Decoded 64-bit integers are decimal strings; built ones may also be numbers or Longs. */
function int64ToNumber(v: string | number | Long | undefined, what: string): number {
  if (v === undefined) return 0;
  // A Long's value is high * 2^32 + the unsigned low word (high is signed unless the Long is unsigned).
  const n = typeof v === 'object' ? (v.unsigned ? v.high >>> 0 : v.high) * 2 ** 32 + (v.low >>> 0) : Number(v);
  if (!Number.isSafeInteger(n)) throw new IsthmusError(ErrorCodes.ProtoCodec, `${what} seconds ${typeof v === 'object' ? n : v} out of range`);
  return n;
}

export function timestampFromDate(d: Date): Timestamp {
  const ms = d.getTime();
  if (!Number.isFinite(ms)) throw new IsthmusError(ErrorCodes.ProtoCodec, 'cannot convert an invalid Date to a Timestamp');
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  return { ...(seconds !== 0 && { seconds: String(seconds) }), ...(nanos !== 0 && { nanos }) };
}

/** Millisecond precision (nanoseconds below a millisecond are dropped). */
export function timestampToDate(ts: Timestamp): Date {
  return new Date(int64ToNumber(ts.seconds, 'Timestamp') * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000));
}

/** Seconds and nanos carry the same sign, as the Duration spec requires. */
export function durationFromMillis(ms: number): Duration {
  if (!Number.isFinite(ms)) throw new IsthmusError(ErrorCodes.ProtoCodec, `cannot convert ${ms} ms to a Duration`);
  const seconds = Math.trunc(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
  return { ...(seconds !== 0 && { seconds: String(seconds) }), ...(nanos !== 0 && { nanos }) };
}

export function durationToMillis(d: Duration): number {
  return int64ToNumber(d.seconds, 'Duration') * 1000 + (d.nanos ?? 0) / 1_000_000;
}
