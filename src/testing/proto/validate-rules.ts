/**
 * Reads protoc-gen-validate options off the protobufjs reflection objects and compiles, per message
 * type, the plan validate.ts walks.
 *
 * How protobufjs (7.x) keeps `[(validate.rules).string = {min_len: 1}]`:
 * - `field.parsedOptions`: an array of `{ "(validate.rules)": { string: { min_len: 1 } } }` entries
 *   (several entries for one option are deep-merged here). This is the faithful form: repeated
 *   values (`{in: "http" in: "https"}`) become arrays, a value given once stays a scalar, and
 *   empty messages (`duration = {gt {}}`) are kept as `{}`.
 * - `field.options`: flattened keys, `"(validate.rules).string.min_len": 1`. Lossy: a repeated value
 *   keeps only its last occurrence and empty messages vanish. Used only when `parsedOptions` is
 *   absent (e.g. a schema loaded from JSON); list rules then count as unsupported (see validate.ts).
 * Oneof `(validate.required)` and message `(validate.disabled)` / `(validate.ignored)` are booleans
 * in either form.
 */
import protobuf from 'protobufjs';
import type { Enum, Field, ReflectionObject, Root, Type } from 'protobufjs';
import type { Rules, Site } from './validate-context.ts';
import { isRecord } from './validate-context.ts';

const RULES_OPTION = '(validate.rules)';

export interface FieldRuleSource {
  readonly rules: Rules;
  /** True when read from the lossy flattened `options` form. */
  readonly flattened: boolean;
}

function mergeInto(target: Record<string, unknown>, src: Readonly<Record<string, unknown>>): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = target[k];
    if (cur === undefined) {
      target[k] = isRecord(v) ? mergeCopy(v) : v;
    } else if (isRecord(cur) && isRecord(v)) {
      mergeInto(cur, v);
    } else {
      // The same option given twice: a repeated rule value.
      const before: readonly unknown[] = Array.isArray(cur) ? cur : [cur];
      const added: readonly unknown[] = Array.isArray(v) ? v : [v];
      target[k] = [...before, ...added];
    }
  }
}

function mergeCopy(v: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  mergeInto(out, v);
  return out;
}

/** The merged value of one option in protobufjs' `parsedOptions` array, if any entry sets it. */
function parsedOption(parsed: unknown, name: string): unknown {
  const entries: readonly unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  let found: unknown = undefined;
  for (const entry of entries) {
    if (!isRecord(entry) || !(name in entry)) continue;
    const v = entry[name];
    if (isRecord(v)) {
      const acc: Record<string, unknown> = isRecord(found) ? found : {};
      mergeInto(acc, v);
      found = acc;
    } else {
      found = v;
    }
  }
  return found;
}

/** Rebuilds `{string: {min_len: 1}}` from flattened `"(validate.rules).string.min_len": 1` keys. */
function unflatten(options: unknown, name: string): Record<string, unknown> | undefined {
  if (!isRecord(options)) return undefined;
  const whole = options[name];
  let out: Record<string, unknown> | undefined = isRecord(whole) ? mergeCopy(whole) : undefined;
  const prefix = `${name}.`;
  for (const [key, value] of Object.entries(options)) {
    if (!key.startsWith(prefix)) continue;
    out ??= {};
    const parts = key.slice(prefix.length).split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      const next = node[part];
      if (isRecord(next)) {
        node = next;
      } else {
        const created: Record<string, unknown> = {};
        node[part] = created;
        node = created;
      }
    }
    const last = parts[parts.length - 1] ?? '';
    node[last] = isRecord(value) ? mergeCopy(value) : value;
  }
  return out;
}

export function readFieldRules(field: Field): FieldRuleSource | undefined {
  const parsed = parsedOption(field.parsedOptions, RULES_OPTION);
  if (isRecord(parsed)) return { rules: parsed, flattened: false };
  const flat = unflatten(field.options, RULES_OPTION);
  return flat ? { rules: flat, flattened: true } : undefined;
}

function boolOption(obj: ReflectionObject, name: string): boolean {
  if (parsedOption(obj.parsedOptions, name) === true) return true;
  const options: unknown = obj.options;
  return isRecord(options) && options[name] === true;
}

/** The proto (snake_case) name of a field whose protobufjs name was camelCased (`/_([a-z])/g`). */
export function protoName(jsName: string): string {
  return jsName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export const WRAPPER_SCALARS: Readonly<Record<string, string>> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

export type Elem =
  | { readonly kind: 'scalar'; readonly type: string }
  | { readonly kind: 'enum'; readonly enumType: Enum }
  | { readonly kind: 'message'; readonly type: Type; readonly wkt: 'any' | 'duration' | 'timestamp' | 'wrapper' | 'none' };

export interface FieldPlan {
  readonly site: Site;
  /** Property name in the object form (camelCase). */
  readonly key: string;
  readonly repeated: boolean;
  readonly map: boolean;
  /** Map key type (`string`, `int32`, ...). */
  readonly keyType: string | undefined;
  /** The type of the field, or of each element / map value. */
  readonly elem: Elem;
  readonly rules: Rules | undefined;
  readonly flattened: boolean;
  /** Absent means "not set" (oneof members, proto3 `optional`), not "the default value". */
  readonly hasPresence: boolean;
  /** Member of a (real or synthetic) oneof: its rules apply only when it is the member set. */
  readonly inOneof: boolean;
  /** The element is a message whose contents have rules somewhere (or hold an Any). */
  readonly recurse: boolean;
}

export interface OneofPlan {
  readonly site: Site;
  readonly keys: readonly string[];
}

export interface TypePlan {
  readonly typeName: string;
  readonly isAny: boolean;
  readonly disabled: boolean;
  /** Whether values of this type can hold anything to check (see needsVisit). */
  readonly visit: boolean;
  readonly fields: readonly FieldPlan[];
  readonly requiredOneofs: readonly OneofPlan[];
}

function elemOf(field: Field): Elem {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    const name = resolved.fullName;
    const wkt = name === '.google.protobuf.Any' ? 'any'
      : name === '.google.protobuf.Duration' ? 'duration'
        : name === '.google.protobuf.Timestamp' ? 'timestamp'
          : name in WRAPPER_SCALARS ? 'wrapper' : 'none';
    return { kind: 'message', type: resolved, wkt };
  }
  if (resolved instanceof protobuf.Enum) return { kind: 'enum', enumType: resolved };
  return { kind: 'scalar', type: field.type };
}

function isDisabled(type: Type): boolean {
  return boolOption(type, '(validate.disabled)') || boolOption(type, '(validate.ignored)');
}

function collectTypes(ns: ReflectionObject, out: Type[]): void {
  if (ns instanceof protobuf.Type) out.push(ns);
  if (ns instanceof protobuf.Namespace) for (const child of ns.nestedArray) collectTypes(child, out);
}

/** Types whose values must be visited: they (or types they contain) carry rules or an Any. */
function computeVisited(root: Root): Set<Type> {
  const all: Type[] = [];
  collectTypes(root, all);
  const live = all.filter((t) => !isDisabled(t));
  const needs = new Set<Type>(live.filter((t) => t.fullName === '.google.protobuf.Any'
    || t.fieldsArray.some((f) => readFieldRules(f) !== undefined)
    || t.oneofsArray.some((o) => boolOption(o, '(validate.required)'))));
  for (let changed = true; changed;) {
    changed = false;
    for (const t of live) {
      if (needs.has(t)) continue;
      if (t.fieldsArray.some((f) => f.resolvedType instanceof protobuf.Type && needs.has(f.resolvedType))) {
        needs.add(t);
        changed = true;
      }
    }
  }
  return needs;
}

const visitedByRoot = new WeakMap<Root, Set<Type>>();
const plans = new WeakMap<Type, TypePlan>();

/** Whether values of this type can hold anything to check (rules, required oneofs, an Any). */
function needsVisit(type: Type): boolean {
  const root = type.root;
  let set = visitedByRoot.get(root);
  if (!set) {
    set = computeVisited(root);
    visitedByRoot.set(root, set);
  }
  return set.has(type);
}

function fieldPlan(typeName: string, field: Field): FieldPlan | undefined {
  const source = readFieldRules(field);
  const elem = elemOf(field);
  const recurse = elem.kind === 'message' && needsVisit(elem.type);
  if (!source && !recurse) return undefined;
  const map = field instanceof protobuf.MapField;
  return {
    site: { typeName, field: protoName(field.name) },
    key: field.name,
    repeated: field.repeated,
    map,
    keyType: field instanceof protobuf.MapField ? field.keyType : undefined,
    elem,
    rules: source?.rules,
    flattened: source?.flattened ?? false,
    hasPresence: field.hasPresence,
    inOneof: field.partOf !== null,
    recurse,
  };
}

/** The (cached) plan of a message type. */
export function typePlan(type: Type): TypePlan {
  const hit = plans.get(type);
  if (hit) return hit;
  const typeName = type.fullName.replace(/^\./, '');
  const plan: TypePlan = {
    typeName,
    isAny: type.fullName === '.google.protobuf.Any',
    disabled: isDisabled(type),
    visit: needsVisit(type),
    fields: type.fieldsArray.map((f) => fieldPlan(typeName, f)).filter((p) => p !== undefined),
    requiredOneofs: type.oneofsArray
      .filter((o) => boolOption(o, '(validate.required)'))
      .map((o) => ({ site: { typeName, field: protoName(o.name) }, keys: [...o.oneof] })),
  };
  plans.set(type, plan);
  return plan;
}
