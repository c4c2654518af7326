/**
 * Field-by-field comparison of two xDS answers (normalised JSON from xds-json.ts), and matching of
 * each difference against the accepted list.
 *
 * A difference's path is `<TYPE>/<resource name>/<field>/<field>...`; list elements appear as
 * `<field>[<key>]`, the key being what identifies the element to Envoy (a name, a cluster name, a
 * locality, an endpoint address, a filter-chain match) so that a reordered list compares equal and
 * a missing element is named, or the index where nothing identifies it. Patterns: `*` matches within
 * one segment (no `/`), `**` matches anything.
 */
import type { Json, JsonObject } from './xds-json.ts';

export interface Difference {
  readonly path: string;
  readonly istiod: Json | undefined;
  readonly isthmus: Json | undefined;
}

export interface AcceptedDifference {
  /** Glob over `Difference.path`. */
  readonly path: string;
  /** Node roles it applies to (default: all). */
  readonly nodes?: readonly string[];
  /** Scenario names it applies to (default: all). */
  readonly scenarios?: readonly string[];
  /** Only when a side has (`present`) or lacks (`absent`) the value. */
  readonly istiod?: 'present' | 'absent';
  readonly isthmus?: 'present' | 'absent';
  readonly reason: string;
}

/** A scalar as text; objects, lists and absence as ''. */
export const str = (v: Json | undefined): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

const isObj = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A locality group is keyed by zone, sub-zone and its first endpoint address; the region is compared
 * as a field (istiod takes it from Nodes, Isthmus from the EndpointSlice, so it may differ alone).
 */
function locality(v: JsonObject): string {
  const l = isObj(v['locality']) ? v['locality'] : {};
  return `${str(l['zone'])}/${str(l['sub_zone'])}`;
}

function endpointAddress(v: JsonObject): string | undefined {
  const ep = v['endpoint'];
  if (!isObj(ep) || !isObj(ep['address'])) return undefined;
  const sa = ep['address']['socket_address'];
  return isObj(sa) ? `${str(sa['address'])}:${str(sa['port_value'])}` : undefined;
}

/** Stable JSON (object keys sorted), for keys and equality. */
export function canonical(v: Json | undefined): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObj(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** The key that identifies a list element (see the file comment). */
function elementKey(field: string, v: Json, i: number): string {
  if (!isObj(v)) return canonical(v);
  if (field === 'filter_chains') return canonical(v['filter_chain_match'] ?? {});
  if (field === 'endpoints' && 'locality' in v) {
    const addrs = (Array.isArray(v['lb_endpoints']) ? v['lb_endpoints'] : []).map((e) => (isObj(e) ? endpointAddress(e) ?? '' : '')).sort();
    return addrs.length === 0 ? `empty:${locality(v)}` : `${locality(v)}@${addrs[0] ?? ''}`;
  }
  if (field === 'lb_endpoints') return endpointAddress(v) ?? String(i);
  for (const k of ['name', 'cluster_name', 'match_subject_alt_names', 'prefix', 'exact']) {
    const x = v[k];
    if (typeof x === 'string') return x;
  }
  return String(i);
}

/** Keys stay inside one path segment: `/` becomes `%2F`, brackets become parentheses. */
const segment = (k: string): string => k.replaceAll('/', '%2F').replaceAll('[', '(').replaceAll(']', ')');

function keyed(field: string, arr: Json[]): Map<string, Json> {
  const m = new Map<string, Json>();
  arr.forEach((v, i) => {
    let k = segment(elementKey(field, v, i));
    while (m.has(k)) k = `${k}#`;
    m.set(k, v);
  });
  return m;
}

/** Lists of strings whose order carries no meaning to Envoy are compared as sets. */
const UNORDERED_SCALAR_LISTS = new Set(['domains', 'server_names', 'application_protocols', 'transport_protocol', 'alpn_protocols', 'prefix_ranges', 'source_prefix_ranges', 'retriable_status_codes']);

export function diffJson(path: string, a: Json | undefined, b: Json | undefined, out: Difference[]): void {
  if (canonical(a) === canonical(b)) return;
  const field = path.slice(path.lastIndexOf('/') + 1);
  if (Array.isArray(a) && Array.isArray(b)) {
    if (UNORDERED_SCALAR_LISTS.has(field) && a.every((x) => !isObj(x)) && b.every((x) => !isObj(x))) {
      const sa = a.map(canonical).sort();
      const sb = b.map(canonical).sort();
      if (sa.join('\n') === sb.join('\n')) return;
      out.push({ path, istiod: a, isthmus: b });
      return;
    }
    if (a.some(isObj) || b.some(isObj)) {
      const ka = keyed(field, a);
      const kb = keyed(field, b);
      for (const k of new Set([...ka.keys(), ...kb.keys()])) diffJson(`${path}[${k}]`, ka.get(k), kb.get(k), out);
      return;
    }
    out.push({ path, istiod: a, isthmus: b });
    return;
  }
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) diffJson(`${path}/${k}`, a[k], b[k], out);
    return;
  }
  out.push({ path, istiod: a, isthmus: b });
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*' && glob[i + 1] === '*') { re += '.*'; i++; } else if (c === '*') re += '[^/]*';
    else re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const compiled = new WeakMap<AcceptedDifference, RegExp>();

/** The first accepted entry covering a difference on node `role`, if any. */
export function acceptedFor(d: Difference, role: string, list: readonly AcceptedDifference[]): AcceptedDifference | undefined {
  return list.find((e) => {
    if (e.nodes !== undefined && !e.nodes.includes(role)) return false;
    if (e.istiod !== undefined && (e.istiod === 'absent') !== (d.istiod === undefined)) return false;
    if (e.isthmus !== undefined && (e.isthmus === 'absent') !== (d.isthmus === undefined)) return false;
    let re = compiled.get(e);
    if (!re) { re = globToRegExp(e.path); compiled.set(e, re); }
    return re.test(d.path);
  });
}
