/**
 * Shared shapes of the protoc-gen-validate checker (validate.ts): the report types, the collecting
 * context, and small value coercions. Rule names are the option path below `(validate.rules)` as
 * written in the `.proto` (e.g. `repeated.items.string.min_len`); paths use proto field names
 * (`filter_chains[0].filters[0].name`, map keys as `filter_metadata["istio"]`).
 */
import type { Root } from 'protobufjs';

/** One violated rule. */
export interface ValidationIssue {
  /** Where, from the validated root, in proto field names; Any contents continue the Any's path. */
  readonly path: string;
  /** The rule below `(validate.rules)`, e.g. `string.min_len`; `oneof.required` for `(validate.required)`. */
  readonly rule: string;
  readonly message: string;
  /** Fully qualified name of the message type that declares the field (or oneof). */
  readonly typeName: string;
}

/** A rule present in the schema that this checker does not evaluate (reported once per field and rule). */
export interface UnsupportedRule {
  readonly typeName: string;
  /** Proto name of the field. */
  readonly field: string;
  readonly rule: string;
  readonly reason: string;
  /** The first path where the rule would have applied. */
  readonly path: string;
}

/** An Any whose type is not in the loaded schema, so its contents were not validated. */
export interface UncheckedAny {
  readonly path: string;
  readonly typeUrl: string;
}

export interface ValidationReport {
  readonly issues: readonly ValidationIssue[];
  readonly unsupported: readonly UnsupportedRule[];
  readonly uncheckedAny: readonly UncheckedAny[];
}

/** Which field a rule belongs to (for issues and unsupported-rule deduplication). */
export interface Site {
  readonly typeName: string;
  readonly field: string;
}

export interface Ctx {
  /** The schema the validated type belongs to (Any type URLs are looked up in it). */
  readonly root: Root;
  readonly issues: ValidationIssue[];
  readonly unsupported: Map<string, UnsupportedRule>;
  readonly uncheckedAny: UncheckedAny[];
  /** Milliseconds since the epoch, for `timestamp.lt_now` / `gt_now` / `within`. */
  readonly nowMillis: number;
}

export type Rules = Readonly<Record<string, unknown>>;

export function newCtx(root: Root, nowMillis: number): Ctx {
  return { root, issues: [], unsupported: new Map(), uncheckedAny: [], nowMillis };
}

export function addIssue(ctx: Ctx, site: Site, path: string, rule: string, message: string): void {
  ctx.issues.push({ path, rule, message, typeName: site.typeName });
}

export function addUnsupported(ctx: Ctx, site: Site, path: string, rule: string, reason: string): void {
  const key = `${site.typeName}.${site.field}|${rule}`;
  if (!ctx.unsupported.has(key)) ctx.unsupported.set(key, { typeName: site.typeName, field: site.field, rule, reason, path });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** A rule sub-object (`{min_len: 1}`), or undefined. */
export function asRules(v: unknown): Rules | undefined {
  return isRecord(v) ? v : undefined;
}

/** Repeated rule values (`in`, `not_in`): protobufjs keeps one occurrence as a scalar, several as an array. */
export function asList(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [v];
}

interface LongLike { low: number; high: number; unsigned?: boolean }

function isLongLike(v: unknown): v is LongLike {
  return isRecord(v) && typeof v.low === 'number' && typeof v.high === 'number';
}

/** An integer as a bigint (number, decimal string, bigint or Long), or undefined. */
export function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string') return /^[+-]?\d+$/.test(v.trim()) ? BigInt(v.trim()) : undefined;
  if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned === true ? bits : BigInt.asIntN(64, bits);
  }
  return undefined;
}

/** A floating-point or 32-bit value as a number (numbers, numeric strings, `NaN`, `Infinity`), or undefined. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) && v.trim() !== 'NaN' ? undefined : n;
  }
  if (typeof v === 'bigint') return Number(v);
  if (isLongLike(v)) {
    const b = toBigInt(v);
    return b === undefined ? undefined : Number(b);
  }
  return undefined;
}

/** A count rule value (`min_len`, `max_items`, ...) as a number, or undefined if malformed. */
export function toCount(v: unknown): number | undefined {
  const b = toBigInt(v);
  return b === undefined || b < 0n ? undefined : Number(b);
}

/** Short printable form of a value for messages. */
export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 77)}...` : v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  try {
    const json = JSON.stringify(v) as string | undefined;
    return json ?? String(v);
  } catch {
    return String(v);
  }
}

export function joinPath(base: string, name: string): string {
  return base === '' ? name : `${base}.${name}`;
}
