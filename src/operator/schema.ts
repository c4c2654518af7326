/**
 * A small structural schema language and a validator that reports every problem with the path of
 * the offending field (`spec.values.global.netwrok`). Pure: no I/O.
 */
import { isRecord } from '../model/json.ts';

export type Check = (v: string) => string | undefined;

export type Schema =
  | { readonly t: 'string'; readonly enum?: readonly string[]; readonly check?: Check }
  | { readonly t: 'bool' }
  | { readonly t: 'int'; readonly min?: number; readonly max?: number }
  /** string, number or bool; used for env values, which become strings */
  | { readonly t: 'scalar' }
  | { readonly t: 'intOrString' }
  | { readonly t: 'object'; readonly fields: Readonly<Record<string, Schema>> }
  | { readonly t: 'map'; readonly values: Schema; readonly keyCheck?: Check }
  | { readonly t: 'array'; readonly items: Schema }
  /** free-form Kubernetes structure (resources, affinity, ...): any JSON value */
  | { readonly t: 'any' }
  /** a field Istio has that Isthmus does not implement */
  | { readonly t: 'unsupported'; readonly why: string };

export const str = (opts: { enum?: readonly string[]; check?: Check } = {}): Schema => ({ t: 'string', ...opts });
export const bool: Schema = { t: 'bool' };
export const int = (min?: number, max?: number): Schema => ({ t: 'int', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) });
export const scalar: Schema = { t: 'scalar' };
export const intOrString: Schema = { t: 'intOrString' };
export const any: Schema = { t: 'any' };
export const obj = (fields: Record<string, Schema>): Schema => ({ t: 'object', fields });
export const map = (values: Schema, keyCheck?: Check): Schema => ({ t: 'map', values, ...(keyCheck ? { keyCheck } : {}) });
export const arr = (items: Schema): Schema => ({ t: 'array', items });
export const unsupported = (why: string): Schema => ({ t: 'unsupported', why });

export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Keys that would reach an object's prototype; refused wherever they appear, even in free-form fields. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function closest(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) { bestD = d; best = k; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** Every problem of `value` against `schema`; `path` names `value` (e.g. `spec`). Null means absent. */
export function validate(schema: Schema, value: unknown, path: string, maxProblems = MAX_PROBLEMS): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  try {
    walk(schema, value, path, out, maxProblems);
  } catch (err) {
    if (!(err instanceof Enough)) throw err;
  }
  return out;
}

/** Problems collected before validation stops (a huge bad input must cost little to refuse). */
export const MAX_PROBLEMS = 100;

/** Thrown inside the walk once enough problems were found. */
class Enough extends Error {}

/** Refuses prototype keys anywhere inside a free-form value. */
function walkAny(v: unknown, path: string, out: SchemaProblem[]): void {
  if (Array.isArray(v)) { v.forEach((item, i) => { walkAny(item, `${path}[${i}]`, out); }); return; }
  if (!isRecord(v)) return;
  for (const [k, item] of Object.entries(v)) {
    if (PROTOTYPE_KEYS.has(k)) out.push({ path: `${path}.${k}`, message: `the key ${JSON.stringify(k)} is not allowed` });
    else walkAny(item, `${path}.${k}`, out);
  }
}

function walk(s: Schema, v: unknown, path: string, out: SchemaProblem[], max: number): void {
  if (v === null || v === undefined) return;
  if (out.length >= max) throw new Enough();
  const bad = (message: string) => { out.push({ path, message }); };
  switch (s.t) {
    case 'string':
      if (typeof v !== 'string') { bad(`must be a string, got ${describe(v)}`); return; }
      if (s.enum && !s.enum.includes(v)) { bad(`must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}`); return; }
      if (s.check) { const m = s.check(v); if (m !== undefined) bad(m); }
      return;
    case 'bool':
      if (typeof v !== 'boolean') bad(`must be true or false, got ${describe(v)}`);
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) { bad(`must be an integer, got ${describe(v)}`); return; }
      if ((s.min !== undefined && v < s.min) || (s.max !== undefined && v > s.max)) bad(`must be between ${s.min ?? '-inf'} and ${s.max ?? 'inf'}, got ${v}`);
      return;
    case 'scalar':
      if (!['string', 'number', 'boolean'].includes(typeof v)) bad(`must be a string, number or boolean, got ${describe(v)}`);
      return;
    case 'intOrString':
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) bad(`must be an integer or a string, got ${describe(v)}`);
      return;
    case 'any':
      walkAny(v, path, out);
      return;
    case 'unsupported':
      bad(`is not supported by isthmus: ${s.why}`);
      return;
    case 'array':
      if (!Array.isArray(v)) { bad(`must be a list, got ${describe(v)}`); return; }
      v.forEach((item, i) => { walk(s.items, item, `${path}[${i}]`, out, max); });
      return;
    case 'map':
      if (!isRecord(v)) { bad(`must be a mapping, got ${describe(v)}`); return; }
      for (const [k, item] of Object.entries(v)) {
        if (PROTOTYPE_KEYS.has(k)) { out.push({ path: `${path}.${k}`, message: `the key ${JSON.stringify(k)} is not allowed` }); continue; }
        const km = s.keyCheck?.(k);
        if (km !== undefined) out.push({ path: `${path}.${k}`, message: km });
        walk(s.values, item, `${path}.${k}`, out, max);
      }
      return;
    case 'object': {
      if (!isRecord(v)) { bad(`must be a mapping, got ${describe(v)}`); return; }
      const known = Object.keys(s.fields);
      for (const [k, item] of Object.entries(v)) {
        if (PROTOTYPE_KEYS.has(k)) { out.push({ path: `${path}.${k}`, message: `the key ${JSON.stringify(k)} is not allowed` }); continue; }
        const fs = Object.hasOwn(s.fields, k) ? s.fields[k] : undefined;
        if (fs === undefined) {
          if (out.length >= max) throw new Enough();
          const hint = closest(k, known);
          out.push({ path: `${path}.${k}`, message: `unknown field${hint === undefined ? '' : ` (did you mean ${JSON.stringify(hint)}?)`}` });
          continue;
        }
        walk(fs, item, `${path}.${k}`, out, max);
      }
      return;
    }
  }
}
