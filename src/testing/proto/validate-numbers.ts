/**
 * protoc-gen-validate rules on ordered values: the numeric kinds (`float`, `double`, `int32`,
 * `uint32`, `sint32`, `fixed32`, `sfixed32` as numbers; `int64`, `uint64`, `sint64`, `fixed64`,
 * `sfixed64` as bigints, from the decimal strings our codecs use), `enum`, `duration` and
 * `timestamp` (as bigint nanoseconds), plus the `any` rules on a type URL.
 */
import type { Enum } from 'protobufjs';
import type { At, Bounds, Compare } from './validate-at.ts';
import {
  checkRange, compareBigInts, compareNumbers, containsValue, fail, failType, listRule, unsupported,
} from './validate-at.ts';
import type { Rules } from './validate-context.ts';
import { isRecord, show, toBigInt, toNumber } from './validate-context.ts';

const INT64_KINDS = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

export const NUMERIC_KINDS: ReadonlySet<string> = new Set([
  'float', 'double', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', ...INT64_KINDS,
]);

interface Ordered<T> {
  readonly conv: (v: unknown) => T | undefined;
  readonly cmp: Compare<T>;
  readonly fmt: (v: T) => string;
  readonly zero: T;
  readonly expected: string;
}

/**
 * `const`, `gt`, `gte`, `lt`, `lte`, `in`, `not_in`, `ignore_empty` on an ordered value. `extra`
 * handles kind-specific keys (returns false for unknown ones, reported as unsupported).
 */
function checkOrdered<T>(at: At, rules: Rules, raw: unknown, o: Ordered<T>, extra?: (key: string, rv: unknown, v: T) => boolean): void {
  const v = o.conv(raw);
  if (v === undefined) {
    failType(at, o.expected, raw);
    return;
  }
  if (rules.ignore_empty === true && o.cmp(v, o.zero) === 0) return;
  const bounds: Bounds<T> = {};
  for (const [key, rv] of Object.entries(rules)) {
    switch (key) {
      case 'gt': case 'gte': case 'lt': case 'lte': case 'const': {
        const b = o.conv(rv);
        if (b === undefined) unsupported(at, key, `malformed rule value ${show(rv)}`);
        else if (key !== 'const') bounds[key] = b;
        else if (o.cmp(v, b) !== 0) fail(at, key, `value must equal ${o.fmt(b)}, got ${o.fmt(v)}`);
        break;
      }
      case 'in': case 'not_in': {
        const list = listRule(at, key, rv);
        if (list === undefined) break;
        const values = list.map(o.conv).filter((x): x is T => x !== undefined);
        const found = containsValue(values, v, o.cmp);
        const shown = `[${values.map(o.fmt).join(', ')}]`;
        if (key === 'in' && !found) fail(at, key, `value must be in list ${shown}, got ${o.fmt(v)}`);
        if (key === 'not_in' && found) fail(at, key, `value must not be in list ${shown}, got ${o.fmt(v)}`);
        break;
      }
      case 'ignore_empty': break;
      default:
        if (!extra?.(key, rv, v)) unsupported(at, key, `unknown ${at.prefix.split('.').pop() ?? ''} rule ${key}`);
    }
  }
  checkRange(at, v, bounds, o.cmp, o.fmt);
}

const INT64: Ordered<bigint> = { conv: toBigInt, cmp: compareBigInts, fmt: (v) => v.toString(), zero: 0n, expected: 'a 64-bit integer' };
const DOUBLE: Ordered<number> = { conv: toNumber, cmp: compareNumbers, fmt: String, zero: 0, expected: 'a number' };
const FLOAT: Ordered<number> = {
  ...DOUBLE,
  conv: (v) => {
    const n = toNumber(v);
    return n === undefined ? undefined : Math.fround(n);
  },
};

export function checkNumeric(at: At, kind: string, rules: Rules, raw: unknown): void {
  if (INT64_KINDS.has(kind)) checkOrdered(at, rules, raw, INT64);
  else checkOrdered(at, rules, raw, kind === 'float' ? FLOAT : DOUBLE);
}

export function checkEnum(at: At, enumType: Enum, rules: Rules, raw: unknown): void {
  const toNum = (v: unknown): number | undefined => {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return /^-?\d+$/.test(v) ? Number(v) : enumType.values[v];
    return undefined;
  };
  const num = toNum(raw);
  if (num === undefined) {
    if (rules.defined_only === true) fail(at, 'defined_only', `value must be one of the defined enum values of ${enumType.name}, got ${show(raw)}`);
    else failType(at, `a value of enum ${enumType.name}`, raw);
    return;
  }
  const fmt = (n: number): string => enumType.valuesById[n] ?? String(n);
  checkOrdered(at, rules, num, { conv: toNum, cmp: compareNumbers, fmt, zero: 0, expected: 'an enum value' }, (key, rv) => {
    if (key !== 'defined_only') return false;
    if (rv === true && enumType.valuesById[num] === undefined) fail(at, key, `value must be one of the defined enum values of ${enumType.name}, got ${num}`);
    return true;
  });
}

// ---- Duration and Timestamp, as bigint nanoseconds ----

const NANOS = 1_000_000_000n;

function toNanos(v: unknown): bigint | undefined {
  if (!isRecord(v)) return undefined;
  const s = toBigInt(v.seconds ?? 0);
  const n = toBigInt(v.nanos ?? 0);
  return s === undefined || n === undefined ? undefined : s * NANOS + n;
}

function formatDuration(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const frac = (abs % NANOS).toString().padStart(9, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${abs / NANOS}${frac === '' ? '' : `.${frac}`}s`;
}

function formatTimestamp(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${formatDuration(ns)} since epoch`;
}

const DURATION: Ordered<bigint> = { conv: toNanos, cmp: compareBigInts, fmt: formatDuration, zero: 0n, expected: 'a Duration' };
const TIMESTAMP: Ordered<bigint> = { conv: toNanos, cmp: compareBigInts, fmt: formatTimestamp, zero: 0n, expected: 'a Timestamp' };

/** Duration rules on a set Duration (`required` is the caller's: it only matters when unset). */
export function checkDuration(at: At, rules: Rules, raw: unknown): void {
  checkOrdered(at, rules, raw, DURATION, (key) => key === 'required');
}

/** Timestamp rules on a set Timestamp, including `lt_now`, `gt_now` and `within` (against ctx.nowMillis). */
export function checkTimestamp(at: At, rules: Rules, raw: unknown): void {
  const now = BigInt(Math.trunc(at.ctx.nowMillis)) * 1_000_000n;
  const within = rules.within === undefined ? undefined : toNanos(rules.within);
  checkOrdered(at, rules, raw, TIMESTAMP, (key, rv, v) => {
    switch (key) {
      case 'required': return true;
      case 'lt_now':
        if (rv === true && v >= now) fail(at, key, `value must be before now (${formatTimestamp(now)}), got ${formatTimestamp(v)}`);
        return true;
      case 'gt_now':
        if (rv === true && v <= now) fail(at, key, `value must be after now (${formatTimestamp(now)}), got ${formatTimestamp(v)}`);
        return true;
      case 'within': {
        if (within === undefined) {
          unsupported(at, key, `malformed rule value ${show(rv)}`);
        } else {
          // With lt_now / gt_now the window is one-sided; those rules report the wrong side themselves.
          const lo = rules.gt_now === true ? now : now - within;
          const hi = rules.lt_now === true ? now : now + within;
          if (v < lo || v > hi) fail(at, key, `value must be within ${formatDuration(within)} of now, got ${formatTimestamp(v)}`);
        }
        return true;
      }
      default: return false;
    }
  });
}

/** Any rules on a set Any: `in` / `not_in` on its type URL. */
export function checkAnyRules(at: At, rules: Rules, any: Readonly<Record<string, unknown>>): void {
  const typeUrl = typeof any.typeUrl === 'string' ? any.typeUrl : '';
  for (const [key, rv] of Object.entries(rules)) {
    switch (key) {
      case 'required': break;
      case 'in': case 'not_in': {
        const list = listRule(at, key, rv);
        if (list === undefined) break;
        const found = list.some((x) => x === typeUrl);
        if (key === 'in' && !found) fail(at, key, `type URL must be in list ${show(list)}, got ${show(typeUrl)}`);
        if (key === 'not_in' && found) fail(at, key, `type URL must not be in list ${show(list)}, got ${show(typeUrl)}`);
        break;
      }
      default: unsupported(at, key, `unknown any rule ${key}`);
    }
  }
}
