/**
 * The field readers every Istio config converter shares: a conversion result that names the field
 * that is wrong, the object test, and a map of strings (labels, selectors).
 */
import { isRecord } from '../model/json.ts';

export { isRecord };

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

/** A map of strings at `field` (absent: empty). */
export function stringMap(v: unknown, field: string): Result<Record<string, string>> {
  if (v === undefined) return { ok: true, value: {} };
  if (!isRecord(v)) return { ok: false, error: `${field}: want a map of strings` };
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') return { ok: false, error: `${field}.${k}: want a string` };
    out[k] = x;
  }
  return { ok: true, value: out };
}

/** `{ <key>: { label: value } }` at `field` (a selector's `matchLabels` or `labels`); absent or null: none. */
export function selectorLabels(v: unknown, field: string, key: string): Result<Record<string, string>> {
  if (v === undefined || v === null) return { ok: true, value: {} };
  if (!isRecord(v)) return { ok: false, error: `${field}: want an object with ${key}` };
  return stringMap(v[key] ?? {}, `${field}.${key}`);
}
