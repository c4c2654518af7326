/**
 * Isthmus's injection template format (documented in docs/injection.md). Not Go templates, and no
 * code runs: a template is a YAML document (a partial Pod) whose string scalars may hold
 * placeholders `{{ name }}`.
 *
 * - A scalar that is exactly one placeholder takes the variable's value with its type (string,
 *   number, boolean, list or object).
 * - A placeholder inside other text is replaced by the variable's text; a list or object there is an error.
 * - `{{ name? }}` as a whole scalar: if the value is empty (undefined, null, "" or an empty list),
 *   the map entry or list item holding it is left out.
 * - Names are the computed variables (`Variables`) or `values.<dotted.path>` into the `values`
 *   key of the ConfigMap. An unknown name is an error naming the template and the YAML path.
 *
 * Pure functions.
 */
import { parse } from 'yaml';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';

export type TemplateValue = string | number | boolean | null | undefined | readonly TemplateValue[] | { readonly [k: string]: TemplateValue };
export type Variables = Readonly<Record<string, TemplateValue>>;

const WHOLE = /^\{\{\s*([A-Za-z][\w.-]*)(\?)?\s*\}\}$/;
const ANY = /\{\{\s*([A-Za-z][\w.-]*)\s*\}\}/g;
const OMIT = Symbol('omit');
const MAX_TEMPLATE_BYTES = 256 * 1024;

/** A parsed template: the YAML tree, before substitution. */
export interface Template {
  readonly name: string;
  readonly tree: unknown;
}

export function parseTemplate(name: string, text: string): Template {
  if (text.length > MAX_TEMPLATE_BYTES) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `template ${JSON.stringify(name)}: larger than ${MAX_TEMPLATE_BYTES} bytes`);
  let tree: unknown;
  try {
    tree = parse(text, { maxAliasCount: 0, uniqueKeys: true }) as unknown;
  } catch (err) {
    throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `template ${JSON.stringify(name)}: not valid YAML: ${errorMessage(err)}`);
  }
  tree ??= {};
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `template ${JSON.stringify(name)}: must be a YAML mapping (a partial Pod with metadata and spec)`);
  for (const k of Object.keys(tree)) {
    if (k !== 'metadata' && k !== 'spec') throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `template ${JSON.stringify(name)}: unknown top-level key ${JSON.stringify(k)} (only metadata and spec)`);
  }
  return { name, tree };
}

function lookup(vars: Variables, values: TemplateValue, name: string): { found: boolean; value: TemplateValue } {
  if (name.startsWith('values.')) {
    let cur: TemplateValue = values;
    for (const part of name.slice('values.'.length).split('.')) {
      if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur)) return { found: true, value: undefined };
      cur = (cur as Record<string, TemplateValue>)[part];
    }
    return { found: true, value: cur };
  }
  return Object.hasOwn(vars, name) ? { found: true, value: vars[name] } : { found: false, value: undefined };
}

function isEmpty(v: TemplateValue): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function asText(v: TemplateValue, where: string, name: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `${where}: {{ ${name} }} is a list or object and cannot be part of a text`);
  return String(v);
}

function substitute(node: unknown, vars: Variables, values: TemplateValue, where: string): unknown {
  if (typeof node === 'string') {
    const whole = WHOLE.exec(node);
    if (whole?.[1] !== undefined) {
      const r = lookup(vars, values, whole[1]);
      if (!r.found) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `${where}: unknown variable {{ ${whole[1]} }}`);
      if (whole[2] === '?' && isEmpty(r.value)) return OMIT;
      return r.value === undefined ? null : structuredClone(r.value);
    }
    return node.replace(ANY, (_m, name: string) => {
      const r = lookup(vars, values, name);
      if (!r.found) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `${where}: unknown variable {{ ${name} }}`);
      return asText(r.value, where, name);
    });
  }
  if (Array.isArray(node)) {
    const out: unknown[] = [];
    node.forEach((item, i) => {
      const v = substitute(item, vars, values, `${where}[${i}]`);
      if (v !== OMIT) out.push(v);
    });
    return out;
  }
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(node)) {
      const v = substitute(item, vars, values, `${where}.${k}`);
      if (v !== OMIT) out[k] = v;
    }
    return out;
  }
  return node;
}

/** The template with every placeholder replaced: a partial Pod as plain JSON. */
export function renderTemplate(t: Template, vars: Variables, values: TemplateValue): Record<string, unknown> {
  return substitute(t.tree, vars, values, `template ${JSON.stringify(t.name)}`) as Record<string, unknown>;
}
