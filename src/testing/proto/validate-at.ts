/**
 * Where a leaf rule set (`string {...}`, `uint32 {...}`, ...) is being evaluated, and the helpers the
 * leaf checkers (validate-strings.ts, validate-numbers.ts) share: failing a rule, recording an
 * unsupported one, reading list values and range bounds with protoc-gen-validate's semantics.
 */
import type { Ctx, Site } from './validate-context.ts';
import { addIssue, addUnsupported, asList, show } from './validate-context.ts';

export interface At {
  readonly ctx: Ctx;
  readonly site: Site;
  readonly path: string;
  /** Rule name prefix, e.g. `string` or `repeated.items.string`. */
  readonly prefix: string;
  /** Rules were read from lossy flattened options (see validate-rules.ts). */
  readonly flattened: boolean;
}

export function fail(at: At, key: string, message: string): void {
  addIssue(at.ctx, at.site, at.path, `${at.prefix}.${key}`, message);
}

export function unsupported(at: At, key: string, reason: string): void {
  addUnsupported(at.ctx, at.site, at.path, `${at.prefix}.${key}`, reason);
}

export function failType(at: At, expected: string, v: unknown): void {
  addIssue(at.ctx, at.site, at.path, `${at.prefix}.type`, `value must be ${expected}, got ${show(v)}`);
}

/**
 * The values of an `in` / `not_in` rule. From flattened options only the last occurrence
 * survives: `in` is then not checked (it could reject valid values), `not_in` is checked with what
 * is left; both are reported as unsupported.
 */
export function listRule(at: At, key: string, raw: unknown): readonly unknown[] | undefined {
  if (!at.flattened || Array.isArray(raw)) return asList(raw);
  if (key === 'in') {
    unsupported(at, key, 'list read from flattened options (only its last value survives); not checked');
    return undefined;
  }
  unsupported(at, key, 'list read from flattened options (only its last value survives); checked partially');
  return asList(raw);
}

/** Compares two values: negative, zero, positive, or NaN when unordered (NaN fails every bound). */
export type Compare<T> = (a: T, b: T) => number;

export function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return a === b ? 0 : Number.NaN;
}

export function compareBigInts(a: bigint, b: bigint): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

export interface Bounds<T> {
  gt?: T;
  gte?: T;
  lt?: T;
  lte?: T;
}

/**
 * protoc-gen-validate range semantics: a lower bound alone, an upper bound alone, or both. With
 * both, upper > lower means "inside the range"; otherwise the range is exclusive ("outside
 * [upper, lower]": either bound may hold). The failing issue names the bound that failed, or the
 * lower bound for an exclusive range.
 */
export function checkRange<T>(at: At, v: T, b: Bounds<T>, cmp: Compare<T>, fmt: (x: T) => string): void {
  const lowerKey = b.gt !== undefined ? 'gt' : b.gte !== undefined ? 'gte' : undefined;
  const upperKey = b.lt !== undefined ? 'lt' : b.lte !== undefined ? 'lte' : undefined;
  const lower = b.gt ?? b.gte;
  const upper = b.lt ?? b.lte;
  const lowerOk = lower === undefined || (lowerKey === 'gt' ? cmp(v, lower) > 0 : cmp(v, lower) >= 0);
  const upperOk = upper === undefined || (upperKey === 'lt' ? cmp(v, upper) < 0 : cmp(v, upper) <= 0);
  const lowerText = lower === undefined ? '' : `${lowerKey === 'gt' ? 'greater than' : 'greater than or equal to'} ${fmt(lower)}`;
  const upperText = upper === undefined ? '' : `${upperKey === 'lt' ? 'less than' : 'less than or equal to'} ${fmt(upper)}`;
  if (lower !== undefined && upper !== undefined && lowerKey !== undefined && upperKey !== undefined) {
    if (cmp(upper, lower) > 0) {
      if (!lowerOk || !upperOk) fail(at, lowerOk ? upperKey : lowerKey, `value must be ${lowerText} and ${upperText}, got ${fmt(v)}`);
    } else if (!lowerOk && !upperOk) {
      fail(at, lowerKey, `value must be ${lowerText} or ${upperText}, got ${fmt(v)}`);
    }
    return;
  }
  if (!lowerOk && lowerKey !== undefined) fail(at, lowerKey, `value must be ${lowerText}, got ${fmt(v)}`);
  if (!upperOk && upperKey !== undefined) fail(at, upperKey, `value must be ${upperText}, got ${fmt(v)}`);
}

/** Equality membership for `in` / `not_in` / `const` on already-normalised values. */
export function containsValue<T>(list: readonly T[], v: T, cmp: Compare<T>): boolean {
  return list.some((x) => cmp(x, v) === 0);
}
