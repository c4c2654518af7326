/**
 * Reading IstioOperator input: YAML documents (files or stdin), `--set path=value` overrides and
 * a profile, merged in that order of precedence (--set > files > profile), validated strictly
 * before anything else happens. Pure: callers read the files.
 */
import { parseAllDocuments } from 'yaml';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { PROFILES, iopSchema, iopSpecSchema, type ProfileName } from './iop-schema.ts';
import { validate, type SchemaProblem } from './schema.ts';

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

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

function invalid(problems: readonly (SchemaProblem & { source: string })[]): IsthmusError {
  const lines = problems.map((p) => `  ${p.source}: ${p.path}: ${p.message}`);
  return new IsthmusError(ErrorCodes.OperatorInvalid, `invalid IstioOperator (nothing was applied):\n${lines.join('\n')}`);
}

/** Deep merge, `over` winning; gateway lists merge entry by entry on `name`. */
export function merge(base: Json | undefined, over: Json | undefined, key = ''): Json | undefined {
  if (over === undefined || over === null) return base;
  if (isObject(base) && isObject(over)) {
    const out: JsonObject = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const m = merge(base[k], v, k);
      if (m !== undefined) out[k] = m;
    }
    return out;
  }
  if (key.endsWith('Gateways') && Array.isArray(base) && Array.isArray(over)) {
    const out = [...base];
    for (const g of over) {
      const name = isObject(g) ? g['name'] : undefined;
      const i = out.findIndex((b) => isObject(b) && name !== undefined && b['name'] === name);
      if (i >= 0) out[i] = merge(out[i], g) ?? g;
      else out.push(g);
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

function parseSetPath(path: string, raw: string): SetPathSegment[] {
  const parts = path.split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
  return parts.map((p) => {
    const m = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(p);
    if (!m?.[1]) throw new IsthmusError(ErrorCodes.Usage, `--set ${raw}: bad path segment ${JSON.stringify(p)} (use a.b.c or list[0].field)`);
    return m[2] === undefined ? { key: m[1] } : { key: m[1], index: Number(m[2]) };
  });
}

function parseSetValue(v: string): Json {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?(0|[1-9]\d{0,14})$/.test(v)) return Number(v);
  return v;
}

/** Turns `--set a.b[0].c=v` flags into a spec fragment (paths are relative to `spec`). */
export function setsToSpec(sets: readonly string[]): JsonObject {
  const root: JsonObject = {};
  for (const raw of sets) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new IsthmusError(ErrorCodes.Usage, `--set ${raw}: expected path=value`);
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
  const docs = parseAllDocuments(input.text);
  if (!Array.isArray(docs)) throw new IsthmusError(ErrorCodes.OperatorInvalid, `${input.source}: not YAML`);
  docs.forEach((d, i) => {
    const source = docs.length > 1 ? `${input.source} (document ${i + 1})` : input.source;
    if (d.errors.length > 0) throw new IsthmusError(ErrorCodes.OperatorInvalid, `${source}: not valid YAML: ${d.errors[0]?.message ?? ''}`);
    const v = d.toJS() as Json | undefined;
    if (v === null || v === undefined) return;
    if (!isObject(v)) throw new IsthmusError(ErrorCodes.OperatorInvalid, `${source}: expected an IstioOperator mapping, got ${Array.isArray(v) ? 'a list' : typeof v}`);
    out.push({ doc: v, source });
  });
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
