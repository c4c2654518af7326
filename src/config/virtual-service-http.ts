/**
 * The `http` routes of a VirtualService, validated into the model the sidecar RDS generator reads:
 * matches on uri, headers and port; destinations with weights (several must sum to 100); retries and
 * a timeout. Fields Isthmus does not implement yet (redirects, rewrites, faults, mirrors, header
 * edits, method/authority/query matches, ...) are refused with an error naming them, rather than
 * routing more broadly than the object asks. Pure.
 */
import type { DurationValue, HttpMatch, HttpRetries, HttpRoute, RouteDestination, StringCondition } from '../model/mesh-view.ts';
import { type Result, isRecord } from './fields.ts';

/** Converts one `route[]` entry (shared with `tls` routes). */
export type DestinationConverter = (d: unknown, at: string, single: boolean) => Result<RouteDestination>;

const MATCH_FIELDS = new Set(['name', 'uri', 'headers', 'port', 'ignoreUriCase']);
const ROUTE_FIELDS = new Set(['name', 'match', 'route', 'retries', 'timeout']);
const RETRY_FIELDS = new Set(['attempts', 'perTryTimeout', 'retryOn']);

function unsupported(obj: Record<string, unknown>, known: Set<string>, at: string): string | undefined {
  const extra = Object.keys(obj).filter((k) => !known.has(k));
  return extra.length === 0 ? undefined : `${at}.${extra[0] ?? ''}: not supported by Isthmus yet (supported: ${[...known].join(', ')})`;
}

/**
 * A protobuf JSON duration (what the CRD field holds): `<seconds>s` with up to 9 fractional digits
 * (`5s`, `0.25s`). Not Go syntax: flags and env vars use `parseDuration` of src/model/duration.ts.
 */
export function parseProtoDuration(v: unknown, field: string): Result<DurationValue> {
  const m = typeof v === 'string' ? /^([0-9]{1,12})(?:\.([0-9]{1,9}))?s$/.exec(v) : null;
  if (m === null) return { ok: false, error: `${field}: want a duration like "5s" or "0.25s", got ${JSON.stringify(v)}` };
  return { ok: true, value: { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) } };
}

function stringCondition(v: unknown, at: string): Result<StringCondition> {
  if (!isRecord(v)) return { ok: false, error: `${at}: want an object with one of exact, prefix, regex` };
  const keys = Object.keys(v);
  const key = keys[0];
  const value = key === undefined ? undefined : v[key];
  if (keys.length !== 1 || (key !== 'exact' && key !== 'prefix' && key !== 'regex') || typeof value !== 'string') {
    return { ok: false, error: `${at}: want exactly one of exact, prefix, regex (a string)` };
  }
  if (key === 'exact') return { ok: true, value: { exact: value } };
  if (key === 'prefix') return { ok: true, value: { prefix: value } };
  return { ok: true, value: { regex: value } };
}

function convertMatch(m: unknown, at: string): Result<HttpMatch> {
  if (!isRecord(m)) return { ok: false, error: `${at}: want an object` };
  const bad = unsupported(m, MATCH_FIELDS, at);
  if (bad !== undefined) return { ok: false, error: bad };
  const name = m['name'] ?? '';
  if (typeof name !== 'string') return { ok: false, error: `${at}.name: want a string` };
  let uri: StringCondition | undefined;
  if (m['uri'] !== undefined) {
    const c = stringCondition(m['uri'], `${at}.uri`);
    if (!c.ok) return c;
    uri = c.value;
  }
  const headers = new Map<string, StringCondition>();
  const rawHeaders = m['headers'] ?? {};
  if (!isRecord(rawHeaders)) return { ok: false, error: `${at}.headers: want a map of header name to match` };
  for (const [h, cond] of Object.entries(rawHeaders)) {
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(h)) return { ok: false, error: `${at}.headers: ${JSON.stringify(h)} is not a header name` };
    const c = stringCondition(cond, `${at}.headers.${h}`);
    if (!c.ok) return c;
    headers.set(h.toLowerCase(), c.value);
  }
  const port = m['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) return { ok: false, error: `${at}.port: want 1-65535` };
  const ignoreUriCase = m['ignoreUriCase'] ?? false;
  if (typeof ignoreUriCase !== 'boolean') return { ok: false, error: `${at}.ignoreUriCase: want a boolean` };
  return { ok: true, value: { name, ...(uri === undefined ? {} : { uri }), headers, ...(port === undefined ? {} : { port }), ignoreUriCase } };
}

function convertRetries(r: unknown, at: string): Result<HttpRetries> {
  if (!isRecord(r)) return { ok: false, error: `${at}: want an object` };
  const bad = unsupported(r, RETRY_FIELDS, at);
  if (bad !== undefined) return { ok: false, error: bad };
  const attempts = r['attempts'] ?? 0;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0) return { ok: false, error: `${at}.attempts: want a whole number >= 0` };
  let perTryTimeout: DurationValue | undefined;
  if (r['perTryTimeout'] !== undefined) {
    const d = parseProtoDuration(r['perTryTimeout'], `${at}.perTryTimeout`);
    if (!d.ok) return d;
    if (d.value.seconds === 0 && d.value.nanos < 1_000_000) return { ok: false, error: `${at}.perTryTimeout: want at least 1ms` };
    perTryTimeout = d.value;
  }
  const retryOn = r['retryOn'];
  if (retryOn !== undefined && typeof retryOn !== 'string') return { ok: false, error: `${at}.retryOn: want a comma-separated string` };
  return { ok: true, value: { attempts, ...(perTryTimeout === undefined ? {} : { perTryTimeout }), ...(retryOn === undefined || retryOn === '' ? {} : { retryOn }) } };
}

function convertHttpRoute(r: unknown, at: string, destination: DestinationConverter): Result<HttpRoute> {
  if (!isRecord(r)) return { ok: false, error: `${at}: want an object` };
  const bad = unsupported(r, ROUTE_FIELDS, at);
  if (bad !== undefined) return { ok: false, error: bad };
  const name = r['name'] ?? '';
  if (typeof name !== 'string') return { ok: false, error: `${at}.name: want a string` };
  const rawMatch = r['match'] ?? [];
  if (!Array.isArray(rawMatch)) return { ok: false, error: `${at}.match: want a list` };
  const match: HttpMatch[] = [];
  for (const [i, m] of rawMatch.entries()) {
    const c = convertMatch(m, `${at}.match[${i}]`);
    if (!c.ok) return c;
    match.push(c.value);
  }
  const rawRoute = r['route'];
  if (!Array.isArray(rawRoute) || rawRoute.length === 0) return { ok: false, error: `${at}.route: want a non-empty list` };
  const route: RouteDestination[] = [];
  for (const [i, d] of rawRoute.entries()) {
    const c = destination(d, `${at}.route[${i}]`, rawRoute.length === 1);
    if (!c.ok) return c;
    route.push(c.value);
  }
  const total = route.reduce((s, d) => s + d.weight, 0);
  if (route.length > 1 && total !== 100) return { ok: false, error: `${at}.route: weights sum to ${total}, want 100` };
  let retries: HttpRetries | undefined;
  if (r['retries'] !== undefined) {
    const c = convertRetries(r['retries'], `${at}.retries`);
    if (!c.ok) return c;
    retries = c.value;
  }
  let timeout: DurationValue | undefined;
  if (r['timeout'] !== undefined) {
    const d = parseProtoDuration(r['timeout'], `${at}.timeout`);
    if (!d.ok) return d;
    timeout = d.value;
  }
  return { ok: true, value: { name, match, route, ...(retries === undefined ? {} : { retries }), ...(timeout === undefined ? {} : { timeout }) } };
}

/** `spec.http`, validated; the first error is returned. */
export function convertHttpRoutes(raw: unknown, destination: DestinationConverter): Result<HttpRoute[]> {
  if (raw === undefined) return { ok: true, value: [] };
  if (!Array.isArray(raw)) return { ok: false, error: 'spec.http: want a list' };
  const out: HttpRoute[] = [];
  for (const [i, r] of raw.entries()) {
    const c = convertHttpRoute(r, `spec.http[${i}]`, destination);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return { ok: true, value: out };
}
