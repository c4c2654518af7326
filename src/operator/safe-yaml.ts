/**
 * Bounded YAML reading for operator input (IstioOperator files, standard input). The `yaml`
 * package's own `toJS` is not used: its duplicate-key check is quadratic in the size of a mapping
 * (a 4.9 MB file of one big mapping took minutes), it copies `__proto__` keys into objects that a
 * later spread turns into prototypes, and its alias limit does not bound the size of the result.
 * Here the document is converted by one linear walk that refuses prototype keys, duplicate keys,
 * deep nesting and documents whose expanded size (aliases counted each time they are used)
 * exceeds a node budget, each refusal naming the path. Pure.
 */
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { Json, JsonObject } from './json.ts';

export interface YamlLimits {
  /** Largest input accepted, in bytes (UTF-8). */
  readonly maxBytes: number;
  /** Most values (mapping entries, list items, scalars) in one input, aliases expanded. */
  readonly maxNodes: number;
  /** Deepest nesting of mappings and lists. */
  readonly maxDepth: number;
  /** Most alias uses (`*name`) in one input. */
  readonly maxAliases: number;
}

/** An IstioOperator is a few kilobytes; these leave room for large hand-written ones. */
export const DEFAULT_YAML_LIMITS: YamlLimits = { maxBytes: 1024 * 1024, maxNodes: 50_000, maxDepth: 64, maxAliases: 100 };

/** Keys that would reach an object's prototype when copied with `obj[key] = ...` or a spread. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function isPrototypeKey(key: string): boolean {
  return PROTOTYPE_KEYS.has(key);
}

/** A key or value for an error message: quoted, and cut short when long. */
export function shown(v: string, max = 80): string {
  return JSON.stringify(v.length > max ? `${v.slice(0, max)}...` : v);
}

/** A path segment for messages: plain when simple, else quoted. */
function seg(path: string, key: string): string {
  const k = /^[A-Za-z0-9_.\-/]{1,80}$/.test(key) ? key : `[${shown(key)}]`;
  return path === '' ? k : k.startsWith('[') ? `${path}${k}` : `${path}.${k}`;
}

function refuse(source: string, path: string, message: string): IsthmusError {
  return new IsthmusError(ErrorCodes.OperatorInvalid, `${source}: ${path === '' ? '' : `${path}: `}${message} (nothing was applied)`);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

interface Walk {
  source: string;
  readonly limits: YamlLimits;
  nodes: number;
  aliases: number;
  /** Anchor name to its converted value and the nodes it stands for. */
  readonly anchors: Map<string, { value: Json; nodes: number }>;
}

function scalarValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  return v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : typeof v;
}

function keyText(w: Walk, key: unknown, path: string): string {
  if (isScalar(key)) { const k = scalarValue(key.value); return k === null ? '' : String(k); }
  if (key === null || key === undefined) return '';
  throw refuse(w.source, path, 'mapping keys must be plain scalars, not mappings, lists or aliases');
}

function convert(w: Walk, node: unknown, path: string, depth: number): Json {
  if (depth > w.limits.maxDepth) throw refuse(w.source, path, `nested more than ${w.limits.maxDepth} levels deep`);
  const start = w.nodes;
  w.nodes++;
  if (w.nodes > w.limits.maxNodes) throw refuse(w.source, path, `more than ${w.limits.maxNodes} values (aliases counted each time they are used); an IstioOperator is far smaller`);
  let out: Json;
  if (isAlias(node)) {
    w.aliases++;
    if (w.aliases > w.limits.maxAliases) throw refuse(w.source, path, `more than ${w.limits.maxAliases} alias uses`);
    const a = w.anchors.get(node.source);
    if (a === undefined) throw refuse(w.source, path, `alias *${node.source} refers to no anchor defined before it`);
    w.nodes += a.nodes;
    if (w.nodes > w.limits.maxNodes) throw refuse(w.source, path, `more than ${w.limits.maxNodes} values (aliases counted each time they are used); an IstioOperator is far smaller`);
    return a.value;
  }
  if (isMap(node)) {
    const obj: JsonObject = {};
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = keyText(w, pair.key, path);
      const p = seg(path, key);
      if (isPrototypeKey(key)) throw refuse(w.source, p, `the key ${shown(key)} is not allowed`);
      if (seen.has(key)) throw refuse(w.source, p, 'appears more than once in its mapping');
      seen.add(key);
      obj[key] = convert(w, pair.value, p, depth + 1);
    }
    out = obj;
  } else if (isSeq(node)) {
    out = node.items.map((item, i) => convert(w, item, `${path}[${i}]`, depth + 1));
  } else if (isScalar(node)) {
    out = scalarValue(node.value);
  } else if (node === null || node === undefined) {
    out = null;
  } else {
    throw refuse(w.source, path, 'unsupported YAML node');
  }
  const anchor = (node as YamlNode).anchor;
  if (typeof anchor === 'string' && anchor !== '') w.anchors.set(anchor, { value: out, nodes: w.nodes - start });
  return out;
}

/**
 * An upper estimate of the nesting of `text` and the line where it is deepest, computed before
 * parsing: the YAML parser recurses per level and runs out of stack long before its own errors.
 * Block levels are counted by indentation (a stack of increasing indents), flow levels by
 * unclosed brackets; brackets inside quotes may count too, which errs on the side of refusing.
 */
export function nestingEstimate(text: string): { depth: number; line: number } {
  const indents: number[] = [];
  let flow = 0;
  let best = { depth: 0, line: 0 };
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    lineNo++;
    let indent = pos;
    while (indent < end && text.charCodeAt(indent) === 32) indent++;
    if (indent < end && text[indent] !== '#') {
      const col = indent - pos;
      while (indents.length > 0 && (indents[indents.length - 1] ?? 0) >= col) indents.pop();
      indents.push(col);
      let deepest = flow;
      for (let i = indent; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c === 91 || c === 123) deepest = Math.max(deepest, ++flow);
        else if ((c === 93 || c === 125) && flow > 0) flow--;
      }
      const depth = indents.length + deepest;
      if (depth > best.depth) best = { depth, line: lineNo };
    }
    pos = end + 1;
  }
  return best;
}

/**
 * Parses every YAML document of `text` into plain JSON values (`null` for an empty document),
 * refusing input beyond `limits` with an OperatorInvalid error naming `source` and the path.
 */
export function parseYamlDocuments(text: string, source: string, limits: YamlLimits = DEFAULT_YAML_LIMITS): { value: Json; source: string }[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw refuse(source, '', `${mib(bytes)} is larger than the ${mib(limits.maxBytes)} accepted for IstioOperator input`);
  const nest = nestingEstimate(text);
  if (nest.depth > limits.maxDepth) throw refuse(source, '', `nested more than ${limits.maxDepth} levels deep (line ${nest.line})`);
  // uniqueKeys off: the library's check is quadratic; convert() checks duplicates in linear time.
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { uniqueKeys: false, prettyErrors: false });
  } catch (err) {
    if (err instanceof RangeError) throw refuse(source, '', 'nested too deeply to parse');
    throw err;
  }
  if (!Array.isArray(docs)) throw refuse(source, '', 'not YAML');
  const w: Walk = { source, limits, nodes: 0, aliases: 0, anchors: new Map() };
  return docs.map((d, i) => {
    const where = docs.length > 1 ? `${source} (document ${i + 1})` : source;
    const err = d.errors[0];
    if (err !== undefined) throw refuse(where, '', `not valid YAML: ${err.message.slice(0, 300)}`);
    w.anchors.clear();
    w.source = where;
    return { value: convert(w, d.contents, '', 0), source: where };
  });
}
