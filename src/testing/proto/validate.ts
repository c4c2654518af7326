/**
 * Checks a message, in the object form our codecs take and return (codec.ts: camelCase fields,
 * 64-bit integers as strings, enums as names, Any as `{ typeUrl, value }`), against the
 * protoc-gen-validate rules carried by the loaded schema: field `(validate.rules)`, oneof
 * `(validate.required)` and message `(validate.disabled)`. It is what Envoy would check before
 * accepting a resource, so a violation found here is a NACK avoided.
 *
 * Semantics follow PGV: a proto3 scalar that is absent is checked as its default value (`''`, `0`),
 * unless it has presence (oneof member, `optional`), in which case rules apply only when set.
 * Message fields are checked only when set, except for `message.required` and the `required` of
 * `any` / `duration` / `timestamp`; set messages are validated recursively (unless
 * `message.skip`), and an Any whose type is in the schema is decoded and validated as that type
 * (its issues continue the Any's path). Scalar rules on a wrapper (`UInt32Value` with `uint32`
 * rules) apply to its `value` when the wrapper is set.
 *
 * Rule kinds this checker does not evaluate (unknown keys, `string.email`/`uri`/`uri_ref`, RE2
 * patterns it cannot translate, rules of a kind that does not fit the field, list rules from lossy
 * flattened options) never throw and never pass silently: they are listed in `unsupported`.
 */
import protobuf from 'protobufjs';
import type { Codec } from '../../proto/codec.ts';
import { codec, lookupMessageType } from '../../proto/codec.ts';
import { errorMessage } from '../../model/errors.ts';
import { TestbedErrorCodes, TestbedError } from '../testbed/errors.ts';
import { protoRoot } from '../../proto/loader.ts';
import type { At } from './validate-at.ts';
import { fail, failType } from './validate-at.ts';
import type { Ctx, Rules, Site, ValidationIssue, ValidationReport } from './validate-context.ts';
import { addIssue, addUnsupported, asRules, isRecord, joinPath, newCtx, show, toBigInt, toCount, toNumber } from './validate-context.ts';
import { NUMERIC_KINDS, checkAnyRules, checkDuration, checkEnum, checkNumeric, checkTimestamp } from './validate-numbers.ts';
import type { Elem, FieldPlan, TypePlan } from './validate-rules.ts';
import { WRAPPER_SCALARS, protoName, typePlan } from './validate-rules.ts';
import { checkBool, checkBytes, checkString } from './validate-strings.ts';

export type { ValidationIssue, ValidationReport } from './validate-context.ts';

export interface ValidateOptions {
  /** "Now" for `timestamp.lt_now` / `gt_now` / `within`, in epoch milliseconds (default: `Date.now()`). */
  readonly nowMillis?: number;
}

/** Nesting deeper than this (messages within messages) is reported rather than followed. */
const MAX_DEPTH = 100;

const EMPTY = new Uint8Array(0);

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function defaultScalar(type: string): unknown {
  switch (type) {
    case 'string': return '';
    case 'bytes': return EMPTY;
    case 'bool': return false;
    default: return 0;
  }
}

/** The value a rule kind applies to, or undefined if the kind does not fit the element type. */
function ruleTarget(elem: Elem, kind: string, v: unknown): { value: unknown } | undefined {
  switch (elem.kind) {
    case 'scalar': return kind === elem.type ? { value: v } : undefined;
    case 'enum': return kind === 'enum' ? { value: v } : undefined;
    case 'message':
      if (elem.wkt === 'wrapper') {
        const scalar = WRAPPER_SCALARS[elem.type.fullName] ?? '';
        if (kind !== scalar) return undefined;
        const inner = isRecord(v) ? v.value : undefined;
        return { value: isSet(inner) ? inner : defaultScalar(scalar) };
      }
      return kind === elem.wkt ? { value: v } : undefined;
  }
}

function elemName(elem: Elem): string {
  switch (elem.kind) {
    case 'scalar': return elem.type;
    case 'enum': return elem.enumType.fullName.replace(/^\./, '');
    case 'message': return elem.type.fullName.replace(/^\./, '');
  }
}

function checkKind(at: At, elem: Elem, kind: string, r: Rules, value: unknown): void {
  if (kind === 'string') checkString(at, r, value);
  else if (kind === 'bytes') checkBytes(at, r, value);
  else if (kind === 'bool') checkBool(at, r, value);
  else if (NUMERIC_KINDS.has(kind)) checkNumeric(at, kind, r, value);
  else if (kind === 'enum' && elem.kind === 'enum') checkEnum(at, elem.enumType, r, value);
  else if (kind === 'duration') checkDuration(at, r, value);
  else if (kind === 'timestamp') checkTimestamp(at, r, value);
  else if (kind === 'any' && isRecord(value)) checkAnyRules(at, r, value);
  else failType(at, elemName(elem), value);
}

const KNOWN_KINDS = new Set([...NUMERIC_KINDS, 'bool', 'string', 'bytes', 'enum', 'any', 'duration', 'timestamp']);

/**
 * Applies one FieldRules object (a field's, or `repeated.items` / `map.keys` / `map.values`) to
 * one value; `prefix` is `''` or e.g. `repeated.items.`. Returns whether `message.skip` is set.
 */
function applyRules(ctx: Ctx, fp: FieldPlan, elem: Elem, rules: Rules, prefix: string, v: unknown, path: string): boolean {
  const present = isSet(v);
  let skip = false;
  for (const [kind, raw] of Object.entries(rules)) {
    const at: At = { ctx, site: fp.site, path, prefix: `${prefix}${kind}`, flattened: fp.flattened };
    const r = asRules(raw);
    if (r === undefined) {
      addUnsupported(ctx, fp.site, path, at.prefix, `malformed rules ${show(raw)}`);
    } else if (kind === 'message') {
      for (const [key, flag] of Object.entries(r)) {
        if (key === 'required') { if (flag === true && !present) fail(at, key, 'value is required'); }
        else if (key === 'skip') skip ||= flag === true;
        else addUnsupported(ctx, fp.site, path, `${at.prefix}.${key}`, `unknown message rule ${key}`);
      }
    } else if (!KNOWN_KINDS.has(kind)) {
      addUnsupported(ctx, fp.site, path, at.prefix, kind === 'repeated' || kind === 'map'
        ? `${kind} rules on a field that is not ${kind}` : `unknown rule kind ${kind}`);
    } else {
      const target = ruleTarget(elem, kind, v);
      if (target === undefined) {
        addUnsupported(ctx, fp.site, path, at.prefix, `${kind} rules do not apply to a field of type ${elemName(elem)}`);
      } else if (!present) {
        if (r.required === true && (kind === 'any' || kind === 'duration' || kind === 'timestamp')) fail(at, 'required', 'value is required');
      } else {
        checkKind(at, elem, kind, r, target.value);
      }
    }
  }
  return skip;
}

function visitSingular(ctx: Ctx, fp: FieldPlan, v: unknown, path: string, depth: number): void {
  if (fp.inOneof && !isSet(v)) return;
  let value = v;
  if (!isSet(v) && !fp.hasPresence) {
    if (fp.elem.kind === 'scalar') value = defaultScalar(fp.elem.type);
    else if (fp.elem.kind === 'enum') value = 0;
  }
  const skip = fp.rules ? applyRules(ctx, fp, fp.elem, fp.rules, '', value, path) : false;
  if (!skip && fp.recurse && isSet(value) && fp.elem.kind === 'message') visitMessage(ctx, typePlan(fp.elem.type), value, path, depth + 1);
}

/** The rules object of the one kind a repeated / map field may carry; anything else is unsupported. */
function containerRules(ctx: Ctx, fp: FieldPlan, kind: 'repeated' | 'map', path: string): Rules | undefined {
  let found: Rules | undefined;
  for (const [k, raw] of Object.entries(fp.rules ?? {})) {
    if (k === kind && asRules(raw)) found = asRules(raw);
    else addUnsupported(ctx, fp.site, path, k, `${k} rules on a ${kind} field`);
  }
  return found;
}

function countRules(at: At, key: string, raw: unknown, actual: number, noun: string): void {
  const n = toCount(raw);
  if (n === undefined) {
    addUnsupported(at.ctx, at.site, at.path, `${at.prefix}.${key}`, `malformed rule value ${show(raw)}`);
  } else if (key.startsWith('min') ? actual < n : actual > n) {
    fail(at, key, `value must contain ${key.startsWith('min') ? 'at least' : 'at most'} ${n} ${noun}, got ${actual}`);
  }
}

/** A comparable key for `repeated.unique` (scalars and enums only). */
function uniqueKey(elem: Elem, v: unknown): string {
  if (v instanceof Uint8Array) return `b:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  if (elem.kind === 'enum' && typeof v === 'string') return `n:${elem.enumType.values[v] ?? v}`;
  if (typeof v === 'string' && elem.kind === 'scalar' && elem.type !== 'string') return `n:${toBigInt(v) ?? toNumber(v) ?? v}`;
  return typeof v === 'string' ? `s:${v}` : `n:${show(v)}`;
}

function visitRepeated(ctx: Ctx, fp: FieldPlan, v: unknown, path: string, depth: number): void {
  const list: unknown = isSet(v) ? v : [];
  if (!Array.isArray(list)) {
    addIssue(ctx, fp.site, path, 'type', `value must be a list, got ${show(v)}`);
    return;
  }
  const rr = containerRules(ctx, fp, 'repeated', path);
  let items: Rules | undefined;
  if (rr) {
    if (rr.ignore_empty === true && list.length === 0) return;
    const at: At = { ctx, site: fp.site, path, prefix: 'repeated', flattened: fp.flattened };
    for (const [key, raw] of Object.entries(rr)) {
      if (key === 'min_items' || key === 'max_items') countRules(at, key, raw, list.length, 'item(s)');
      else if (key === 'items') items = asRules(raw);
      else if (key === 'unique' && raw === true) {
        if (fp.elem.kind === 'message') {
          addUnsupported(ctx, fp.site, path, 'repeated.unique', 'unique on message items (PGV does not define it)');
        } else {
          const seen = new Set<string>();
          for (const [i, e] of list.entries()) {
            const k = uniqueKey(fp.elem, e);
            if (seen.has(k)) fail({ ...at, path: `${path}[${i}]` }, key, `repeated value must contain unique items, ${show(e)} repeats`);
            seen.add(k);
          }
        }
      } else if (key !== 'unique' && key !== 'ignore_empty') {
        addUnsupported(ctx, fp.site, path, `repeated.${key}`, `unknown repeated rule ${key}`);
      }
    }
  }
  for (const [i, e] of list.entries()) {
    const ip = `${path}[${i}]`;
    const skip = items ? applyRules(ctx, fp, fp.elem, items, 'repeated.items.', e, ip) : false;
    if (!skip && fp.recurse && isSet(e) && fp.elem.kind === 'message') visitMessage(ctx, typePlan(fp.elem.type), e, ip, depth + 1);
  }
}

function mapKey(keyType: string, k: string): unknown {
  if (keyType === 'string') return k;
  if (keyType === 'bool') return k === 'true';
  return /64$/.test(keyType) ? k : Number(k);
}

function visitMap(ctx: Ctx, fp: FieldPlan, v: unknown, path: string, depth: number): void {
  const m: unknown = isSet(v) ? v : {};
  if (!isRecord(m)) {
    addIssue(ctx, fp.site, path, 'type', `value must be a map object, got ${show(v)}`);
    return;
  }
  const entries = Object.entries(m);
  const mr = containerRules(ctx, fp, 'map', path);
  let keys: Rules | undefined;
  let values: Rules | undefined;
  let noSparse = false;
  if (mr) {
    if (mr.ignore_empty === true && entries.length === 0) return;
    const at: At = { ctx, site: fp.site, path, prefix: 'map', flattened: fp.flattened };
    for (const [key, raw] of Object.entries(mr)) {
      if (key === 'min_pairs' || key === 'max_pairs') countRules(at, key, raw, entries.length, 'pair(s)');
      else if (key === 'keys') keys = asRules(raw);
      else if (key === 'values') values = asRules(raw);
      else if (key === 'no_sparse') noSparse = raw === true;
      else if (key !== 'ignore_empty') addUnsupported(ctx, fp.site, path, `map.${key}`, `unknown map rule ${key}`);
    }
  }
  const keyElem: Elem = { kind: 'scalar', type: fp.keyType ?? 'string' };
  for (const [k, val] of entries) {
    const kp = `${path}[${JSON.stringify(k)}]`;
    if (keys) applyRules(ctx, fp, keyElem, keys, 'map.keys.', mapKey(keyElem.type, k), kp);
    if (noSparse && !isSet(val)) addIssue(ctx, fp.site, kp, 'map.no_sparse', 'map values cannot be unset');
    const skip = values ? applyRules(ctx, fp, fp.elem, values, 'map.values.', val, kp) : false;
    if (!skip && fp.recurse && isSet(val) && fp.elem.kind === 'message') visitMessage(ctx, typePlan(fp.elem.type), val, kp, depth + 1);
  }
}

const codecs = new Map<string, Codec<unknown>>();
const anyTypes = new WeakMap<protobuf.Root, Map<string, protobuf.Type | null>>();

/** The message type an Any's type name denotes in `root`, or null (cached). */
function anyType(root: protobuf.Root, name: string): protobuf.Type | null {
  let byName = anyTypes.get(root);
  if (!byName) {
    byName = new Map();
    anyTypes.set(root, byName);
  }
  let found = byName.get(name);
  if (found === undefined) {
    const looked = name === '' ? null : root.lookup(`.${name}`);
    found = looked instanceof protobuf.Type ? looked : null;
    byName.set(name, found);
  }
  return found;
}

/** Our codec for the loaded schema (wire checks, codec.ts conventions); plain protobufjs for other roots. */
function decodeAny(ctx: Ctx, type: protobuf.Type, name: string, bytes: Uint8Array): unknown {
  if (ctx.root !== protoRoot()) return type.toObject(type.decode(bytes), FOREIGN_TO_OBJECT);
  let c = codecs.get(name);
  if (!c) {
    c = codec<unknown>(name);
    codecs.set(name, c);
  }
  return c.decode(bytes);
}

/** codec.ts' conversion options, for schemas other than the loaded one. */
const FOREIGN_TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, arrays: false, objects: false, oneofs: false };

const ANY_SITE: Site = { typeName: 'google.protobuf.Any', field: 'value' };

/** Decodes an Any whose type is in the schema and validates its contents under the Any's path. */
function visitAnyContents(ctx: Ctx, any: Readonly<Record<string, unknown>>, path: string, depth: number): void {
  const typeUrl = any.typeUrl;
  if (typeof typeUrl !== 'string') {
    addIssue(ctx, { typeName: ANY_SITE.typeName, field: 'type_url' }, joinPath(path, 'type_url'), 'type', `type URL must be a string, got ${show(typeUrl)}`);
    return;
  }
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const found = anyType(ctx.root, name);
  if (found === null) {
    ctx.uncheckedAny.push({ path, typeUrl });
    return;
  }
  const plan = typePlan(found);
  if (!plan.visit) return;
  const bytes = any.value ?? EMPTY;
  if (!(bytes instanceof Uint8Array)) {
    addIssue(ctx, ANY_SITE, joinPath(path, 'value'), 'type', `Any value must be bytes, got ${show(bytes)}`);
    return;
  }
  let decoded: unknown;
  try {
    decoded = decodeAny(ctx, found, name, bytes);
  } catch (err) {
    addIssue(ctx, ANY_SITE, path, 'any.decode', `cannot decode the Any as ${name}: ${errorMessage(err)}`);
    return;
  }
  visitMessage(ctx, plan, decoded, path, depth + 1);
}

function visitMessage(ctx: Ctx, plan: TypePlan, obj: unknown, path: string, depth: number): void {
  const site: Site = { typeName: plan.typeName, field: '' };
  if (!isRecord(obj)) {
    addIssue(ctx, site, path, 'type', `value must be a ${plan.typeName} message object, got ${show(obj)}`);
    return;
  }
  if (depth > MAX_DEPTH) {
    addIssue(ctx, site, path, 'depth', `messages nested deeper than ${MAX_DEPTH} levels are not validated`);
    return;
  }
  if (plan.disabled) return;
  if (plan.isAny) {
    visitAnyContents(ctx, obj, path, depth);
    return;
  }
  for (const o of plan.requiredOneofs) {
    if (!o.keys.some((k) => isSet(obj[k]))) {
      addIssue(ctx, o.site, joinPath(path, o.site.field), 'oneof.required',
        `exactly one of ${o.keys.map(protoName).join(', ')} must be set`);
    }
  }
  for (const fp of plan.fields) {
    const v = obj[fp.key];
    const path2 = joinPath(path, fp.site.field);
    if (fp.map) visitMap(ctx, fp, v, path2, depth);
    else if (fp.repeated) visitRepeated(ctx, fp, v, path2, depth);
    else visitSingular(ctx, fp, v, path2, depth);
  }
}

/** Validates `obj` as message type `typeName`; ProtoUnknownType if the type is not in the schema. */
export function validate(typeName: string, obj: unknown, options: ValidateOptions = {}): ValidationReport {
  return validateType(lookupMessageType(typeName), obj, options);
}

/**
 * Validates `obj` as a protobufjs type of any schema (e.g. one loaded from JSON, whose options are
 * only in the lossy flattened form); Any contents are looked up in that type's root.
 */
export function validateType(type: protobuf.Type, obj: unknown, options: ValidateOptions = {}): ValidationReport {
  const ctx = newCtx(type.root, options.nowMillis ?? Date.now());
  visitMessage(ctx, typePlan(type), obj, '', 0);
  return { issues: ctx.issues, unsupported: [...ctx.unsupported.values()], uncheckedAny: ctx.uncheckedAny };
}

/** The rule violations of `obj` as message type `typeName` (empty if valid). */
export function validateMessage(typeName: string, obj: unknown): ValidationIssue[] {
  return [...validate(typeName, obj).issues];
}

/** One line per issue: `path: message [rule]`. */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path === '' ? '<root>' : i.path}: ${i.message} [${i.rule}]`).join('\n');
}

/** Thrown by assertValid: code ProtoValidation, every issue in `issues` and in the message. */
export class ProtoValidationError extends TestbedError {
  readonly typeName: string;
  readonly issues: readonly ValidationIssue[];

  constructor(typeName: string, issues: readonly ValidationIssue[]) {
    super(TestbedErrorCodes.ProtoValidation, `${typeName} failed validation (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${formatIssues(issues)}`);
    this.name = 'ProtoValidationError';
    this.typeName = typeName;
    this.issues = issues;
  }
}

/** Throws ProtoValidationError (code ProtoValidation) listing every violation, if there is any. */
export function assertValid(typeName: string, obj: unknown): void {
  const { issues } = validate(typeName, obj);
  if (issues.length > 0) throw new ProtoValidationError(typeName, issues);
}
