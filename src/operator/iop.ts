/**
 * Reading IstioOperator input: YAML documents (files or stdin), `--set path=value` overrides and
 * a profile, merged in that order of precedence (--set > files > profile), validated strictly
 * before anything else happens. Pure: callers read the files.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { PROFILES, iopSchema, iopSpecSchema, type ProfileName } from './iop-schema.ts';
import { isPrototypeKey, parseYamlDocuments, shown } from './safe-yaml.ts';
import { MAX_PROBLEMS, validate, type SchemaProblem } from './schema.ts';

export type { Json, JsonObject } from './json.ts';
import type { Json, JsonObject } from './json.ts';

export interface IopInput {
  /** YAML text holding one or more IstioOperator documents. */
  readonly text: string;
  /** Where it came from (a path or `stdin`), for error messages. */
  readonly source: string;
}

export interface MergedIop {
  readonly name: string;
  readonly profile: ProfileName;
  /** The spec after profile, files and --set were merged (validated). */
  readonly spec: JsonObject;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Problems listed in one error; the rest are counted (a huge bad file must not make a huge message). */
const MAX_LISTED_PROBLEMS = 50;

function invalid(problems: readonly (SchemaProblem & { source: string })[]): IsthmusError {
  const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${p.source}: ${p.path}: ${p.message}`);
  if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`  ... and ${problems.length >= MAX_PROBLEMS ? 'at least ' : ''}${problems.length - MAX_LISTED_PROBLEMS} more problems`);
  return new IsthmusError(ErrorCodes.OperatorInvalid, `invalid IstioOperator (nothing was applied):\n${lines.join('\n')}`);
}

/**
 * Deep merge, `over` winning; gateway lists merge entry by entry on `name` (linear: a map from
 * name to position). Keys that would reach a prototype are never copied (input parsing refuses
 * them; this keeps merge safe on its own).
 */
export function merge(base: Json | undefined, over: Json | undefined, key = ''): Json | undefined {
  if (over === undefined || over === null) return base;
  if (isObject(base) && isObject(over)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(base)) if (!isPrototypeKey(k)) out[k] = v;
    for (const [k, v] of Object.entries(over)) {
      if (isPrototypeKey(k)) continue;
      const m = merge(Object.hasOwn(base, k) ? base[k] : undefined, v, k);
      if (m !== undefined) out[k] = m;
    }
    return out;
  }
  if (key.endsWith('Gateways') && Array.isArray(base) && Array.isArray(over)) {
    const out = [...base];
    const byName = new Map<Json, number>();
    out.forEach((b, i) => { const n = isObject(b) ? b['name'] : undefined; if (n !== undefined && !byName.has(n)) byName.set(n, i); });
    for (const g of over) {
      const name = isObject(g) ? g['name'] : undefined;
      const i = name === undefined ? undefined : byName.get(name);
      if (i !== undefined) { out[i] = merge(out[i], g) ?? g; continue; }
      if (name !== undefined) byName.set(name, out.length);
      out.push(g);
    }
    return out;
  }
  return over;
}

/** The built-in profiles, as IstioOperator spec fragments. */
export function profileSpec(profile: ProfileName): JsonObject {
  switch (profile) {
    case 'default':
      return { components: { base: { enabled: true }, pilot: { enabled: true }, ingressGateways: [{ name: 'istio-ingressgateway', enabled: true }] } };
    case 'minimal':
      return { components: { base: { enabled: true }, pilot: { enabled: true } } };
    case 'remote':
      return { components: { base: { enabled: true }, pilot: { enabled: true } }, values: { istiodRemote: { enabled: true } } };
    case 'empty':
      return {};
  }
}

interface SetPathSegment { readonly key: string; readonly index?: number }

/** Largest list index a --set path may use: IstioOperator lists (env, ports, gateways) are short. */
const MAX_SET_INDEX = 999;

/** Deepest --set path accepted (the IstioOperator schema is far shallower). */
const MAX_SET_DEPTH = 32;

function parseSetPath(path: string, raw: string): SetPathSegment[] {
  const parts = path.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
  if (parts.length > MAX_SET_DEPTH) throw new IsthmusError(ErrorCodes.OperatorInvalid, `--set ${shown(raw)}: the path has ${parts.length} segments, more than ${MAX_SET_DEPTH}; nothing was applied`);
  return parts.map((p) => {
    const m = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(p);
    if (!m?.[1]) throw new IsthmusError(ErrorCodes.Usage, `--set ${shown(raw)}: bad path segment ${shown(p)} (use a.b.c or list[0].field)`);
    if (isPrototypeKey(m[1])) throw new IsthmusError(ErrorCodes.OperatorInvalid, `--set ${shown(raw)}: the key ${shown(m[1])} is not allowed in a path; nothing was applied`);
    return m[2] === undefined ? { key: m[1] } : { key: m[1], index: Number(m[2]) };
  });
}

function parseSetValue(v: string): Json {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?(0|[1-9]\d{0,14})$/.test(v)) return Number(v);
  return v;
}

/**
 * Turns `--set a.b[0].c=v` flags into a spec fragment (paths are relative to `spec`). Missing
 * list entries before an index become `{}`; an index above MAX_SET_INDEX is an error, so a typo
 * such as `env[99999999]` never builds a list of that length.
 */
export function setsToSpec(sets: readonly string[]): JsonObject {
  const root: JsonObject = {};
  for (const raw of sets) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new IsthmusError(ErrorCodes.Usage, `--set ${shown(raw)}: expected path=value`);
    const path = raw.slice(0, eq).replace(/^spec\./, '');
    const segs = parseSetPath(path, raw);
    let cur: JsonObject = root;
    segs.forEach((seg, i) => {
      const last = i === segs.length - 1;
      const value = parseSetValue(raw.slice(eq + 1));
      if (seg.index === undefined) {
        if (last) { cur[seg.key] = value; return; }
        const next = cur[seg.key];
        if (!isObject(next)) cur[seg.key] = {};
        cur = cur[seg.key] as JsonObject;
        return;
      }
      const list = Array.isArray(cur[seg.key]) ? cur[seg.key] as Json[] : [];
      if (seg.index > MAX_SET_INDEX) {
        const where = segs.slice(0, i).map((x) => (x.index === undefined ? x.key : `${x.key}[${x.index}]`)).concat(seg.key).join('.');
        throw new IsthmusError(ErrorCodes.OperatorInvalid, `--set ${shown(raw)}: index ${seg.index > 1e15 ? 'beyond 10^15' : seg.index} of ${where} is too large (at most ${MAX_SET_INDEX}); nothing was applied`);
      }
      cur[seg.key] = list;
      while (list.length <= seg.index) list.push({});
      if (last) { list[seg.index] = value; return; }
      if (!isObject(list[seg.index])) list[seg.index] = {};
      cur = list[seg.index] as JsonObject;
    });
  }
  return root;
}

function parseDocs(input: IopInput): { doc: JsonObject; source: string }[] {
  const out: { doc: JsonObject; source: string }[] = [];
  for (const { value: v, source } of parseYamlDocuments(input.text, input.source)) {
    if (v === null) continue;
    if (!isObject(v)) throw new IsthmusError(ErrorCodes.OperatorInvalid, `${source}: expected an IstioOperator mapping, got ${Array.isArray(v) ? 'a list' : typeof v}`);
    out.push({ doc: v, source });
  }
  return out;
}

/**
 * Parses, validates and merges IstioOperator inputs. All problems of all inputs are reported
 * together in one IsthmusError (code OperatorInvalid), each with its source and field path.
 */
export function loadIstioOperator(inputs: readonly IopInput[], sets: readonly string[] = []): MergedIop {
  const problems: (SchemaProblem & { source: string })[] = [];
  let user: Json | undefined = {};
  let name: string | undefined;
  for (const input of inputs) {
    for (const { doc, source } of parseDocs(input)) {
      for (const p of validate(iopSchema, doc, '')) problems.push({ ...p, path: p.path.replace(/^\./, ''), source });
      if (doc['kind'] === undefined) problems.push({ source, path: 'kind', message: 'is required (IstioOperator)' });
      const meta = doc['metadata'];
      if (isObject(meta) && typeof meta['name'] === 'string') name = meta['name'];
      user = merge(user, doc['spec'] ?? {});
    }
  }
  const setSpec = setsToSpec(sets);
  for (const p of validate(iopSpecSchema, setSpec, 'spec')) problems.push({ ...p, source: '--set' });
  if (problems.length > 0) throw invalid(problems);
  user = merge(user, setSpec);
  const spec = isObject(user) ? user : {};
  const profileRaw = spec['profile'] ?? (isObject(spec['values']) ? spec['values']['profile'] : undefined) ?? 'default';
  const profile = PROFILES.find((p) => p === profileRaw);
  if (profile === undefined) throw invalid([{ source: 'input', path: 'spec.profile', message: `unknown profile ${JSON.stringify(profileRaw)}` }]);
  const merged = merge(profileSpec(profile), spec);
  return { name: name ?? 'installed-state', profile, spec: isObject(merged) ? merged : {} };
}
