/**
 * protoc-gen-validate `string`, `bytes` and `bool` rules on one value. Lengths of strings count
 * Unicode code points (`len`, `min_len`, `max_len`) or UTF-8 bytes (`*_bytes`), as PGV does.
 *
 * `well_known_regex` uses PGV's own patterns: strict `HTTP_HEADER_NAME`
 * `^:?[0-9a-zA-Z!#$%&'*+-.^_|~\x60]+$` (the `+-.` is a range, as in PGV), strict
 * `HTTP_HEADER_VALUE` `^[^\u0000-\u0008\u000A-\u001F\u007F]*$`, and with `strict: false` either one
 * becomes PGV's loose header string `^[^\u0000\u000A\u000D]*$`. `hostname`, `ip`, `ipv4`, `ipv6`,
 * `address` and `uuid` follow PGV's Go checks approximately (node:net for IPs); `email`, `uri`,
 * `uri_ref` and bytes `pattern` are reported unsupported.
 *
 * Caveat: protobufjs' `.proto` parser understands only the `\\ \0 \r \n \t` escapes in string
 * literals and drops any other escape's backslash and letter (`"\x41"` arrives as `"41"`), so a
 * rule value written with `\x`, octal or quote escapes reaches us altered. The loaded Envoy,
 * xds and googleapis rules use none (only `\\`).
 */
import { isIP } from 'node:net';
import type { At } from './validate-at.ts';
import { fail, failType, listRule, unsupported } from './validate-at.ts';
import type { Rules } from './validate-context.ts';
import { show, toCount } from './validate-context.ts';
import { translateRe2 } from './validate-regex.ts';

const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$/;
// eslint-disable-next-line no-control-regex -- the point of the pattern
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
// eslint-disable-next-line no-control-regex -- the point of the pattern
const HEADER_LOOSE = /^[^\u0000\u000A\u000D]*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n--; i++; }
    }
  }
  return n;
}

/** PGV's `_validateHostname`: at most 253 chars, labels of 1-63 `[a-z0-9-]` not starting or ending with `-`. */
function hostnameProblem(host: string): string | undefined {
  if (host.length > 253) return 'hostname cannot exceed 253 characters';
  const s = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  for (const part of s.split('.')) {
    if (part.length === 0 || part.length > 63) return 'hostname part must be non-empty and cannot exceed 63 characters';
    if (part.startsWith('-') || part.endsWith('-')) return 'hostname parts cannot begin or end with hyphens';
    if (!/^[a-z0-9-]+$/.test(part)) return 'hostname parts can only contain alphanumeric characters or hyphens';
  }
  return undefined;
}

function wellKnownRegex(at: At, key: string, raw: unknown, strict: boolean, s: string): void {
  const which = raw === 1 ? 'HTTP_HEADER_NAME' : raw === 2 ? 'HTTP_HEADER_VALUE' : raw;
  if (which === 'UNKNOWN' || which === 0) return;
  if (which !== 'HTTP_HEADER_NAME' && which !== 'HTTP_HEADER_VALUE') {
    unsupported(at, key, `unknown well_known_regex ${show(raw)}`);
    return;
  }
  const re = !strict ? HEADER_LOOSE : which === 'HTTP_HEADER_NAME' ? HEADER_NAME_STRICT : HEADER_VALUE_STRICT;
  if (!re.test(s)) fail(at, key, `value must be a valid ${strict ? '' : 'loose '}${which === 'HTTP_HEADER_NAME' ? 'HTTP header name' : 'HTTP header value'}, got ${show(s)}`);
}

function wellKnownFormat(at: At, key: string, s: string): void {
  let problem: string | undefined;
  switch (key) {
    case 'hostname': problem = hostnameProblem(s); break;
    case 'ip': problem = isIP(s) === 0 ? 'value must be a valid IP address' : undefined; break;
    case 'ipv4': problem = isIP(s) === 4 ? undefined : 'value must be a valid IPv4 address'; break;
    case 'ipv6': problem = isIP(s) === 6 ? undefined : 'value must be a valid IPv6 address'; break;
    case 'address': problem = isIP(s) !== 0 ? undefined : hostnameProblem(s) === undefined ? undefined : 'value must be a valid hostname or IP address'; break;
    case 'uuid': problem = UUID.test(s) ? undefined : 'value must be a valid UUID'; break;
    default:
      unsupported(at, key, `string.${key} is not implemented`);
      return;
  }
  if (problem !== undefined) fail(at, key, `${problem}, got ${show(s)}`);
}

function countRule(at: At, key: string, raw: unknown): number | undefined {
  const n = toCount(raw);
  if (n === undefined) unsupported(at, key, `malformed rule value ${show(raw)}`);
  return n;
}

export function checkString(at: At, rules: Rules, raw: unknown): void {
  if (typeof raw !== 'string') {
    failType(at, 'a string', raw);
    return;
  }
  const s = raw;
  if (rules.ignore_empty === true && s === '') return;
  const strict = rules.strict !== false;
  const cps = (): number => codePoints(s);
  const bytes = (): number => Buffer.byteLength(s, 'utf8');
  for (const [key, rv] of Object.entries(rules)) {
    switch (key) {
      case 'const': if (s !== rv) fail(at, key, `value must equal ${show(rv)}, got ${show(s)}`); break;
      case 'len': case 'min_len': case 'max_len': case 'len_bytes': case 'min_bytes': case 'max_bytes': {
        const n = countRule(at, key, rv);
        if (n === undefined) break;
        const isBytes = key.endsWith('bytes');
        const actual = isBytes ? bytes() : cps();
        const unit = isBytes ? 'bytes' : 'characters';
        const ok = key.startsWith('min') ? actual >= n : key.startsWith('max') ? actual <= n : actual === n;
        const word = key.startsWith('min') ? 'at least' : key.startsWith('max') ? 'at most' : 'exactly';
        if (!ok) fail(at, key, `value length must be ${word} ${n} ${unit}, got ${actual}`);
        break;
      }
      case 'pattern': {
        const t = translateRe2(String(rv));
        if (!t.ok) unsupported(at, key, `RE2 pattern ${show(rv)} not translated: ${t.reason}`);
        else if (!t.regex.test(s)) fail(at, key, `value does not match regex pattern ${show(rv)}, got ${show(s)}`);
        break;
      }
      case 'prefix': if (!s.startsWith(String(rv))) fail(at, key, `value does not have prefix ${show(rv)}`); break;
      case 'suffix': if (!s.endsWith(String(rv))) fail(at, key, `value does not have suffix ${show(rv)}`); break;
      case 'contains': if (!s.includes(String(rv))) fail(at, key, `value does not contain substring ${show(rv)}`); break;
      case 'not_contains': if (s.includes(String(rv))) fail(at, key, `value contains substring ${show(rv)}`); break;
      case 'in': case 'not_in': {
        const list = listRule(at, key, rv);
        if (list === undefined) break;
        const found = list.some((x) => String(x) === s);
        if (key === 'in' && !found) fail(at, key, `value must be in list ${show(list)}, got ${show(s)}`);
        if (key === 'not_in' && found) fail(at, key, `value must not be in list ${show(list)}, got ${show(s)}`);
        break;
      }
      case 'well_known_regex': wellKnownRegex(at, key, rv, strict, s); break;
      case 'hostname': case 'ip': case 'ipv4': case 'ipv6': case 'address': case 'uuid': case 'email': case 'uri': case 'uri_ref':
        if (rv === true) wellKnownFormat(at, key, s);
        break;
      case 'strict': case 'ignore_empty': break;
      default: unsupported(at, key, `unknown string rule ${key}`);
    }
  }
}

/** Rule byte strings arrive as the text-format string protobufjs parsed (`"\xff"` is U+00FF). */
function ruleBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  const s = String(v);
  let latin1 = true;
  for (let i = 0; i < s.length && latin1; i++) latin1 = s.charCodeAt(i) <= 0xff;
  return Buffer.from(s, latin1 ? 'latin1' : 'utf8');
}

function valueBytes(v: unknown): Buffer | undefined {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'base64'); // protobufjs accepts base64 strings for bytes
  return undefined;
}

export function checkBytes(at: At, rules: Rules, raw: unknown): void {
  const b = valueBytes(raw);
  if (b === undefined) {
    failType(at, 'bytes', raw);
    return;
  }
  if (rules.ignore_empty === true && b.length === 0) return;
  for (const [key, rv] of Object.entries(rules)) {
    switch (key) {
      case 'const': if (!b.equals(ruleBytes(rv))) fail(at, key, 'value must equal the constant bytes'); break;
      case 'len': case 'min_len': case 'max_len': {
        const n = countRule(at, key, rv);
        if (n === undefined) break;
        const ok = key === 'min_len' ? b.length >= n : key === 'max_len' ? b.length <= n : b.length === n;
        const word = key === 'min_len' ? 'at least' : key === 'max_len' ? 'at most' : 'exactly';
        if (!ok) fail(at, key, `value length must be ${word} ${n} bytes, got ${b.length}`);
        break;
      }
      case 'prefix': if (!b.subarray(0, ruleBytes(rv).length).equals(ruleBytes(rv))) fail(at, key, 'value does not have the required prefix'); break;
      case 'suffix': {
        const suffix = ruleBytes(rv);
        if (suffix.length > b.length || !b.subarray(b.length - suffix.length).equals(suffix)) fail(at, key, 'value does not have the required suffix');
        break;
      }
      case 'contains': if (b.indexOf(ruleBytes(rv)) < 0) fail(at, key, 'value does not contain the required bytes'); break;
      case 'in': case 'not_in': {
        const list = listRule(at, key, rv);
        if (list === undefined) break;
        const found = list.some((x) => b.equals(ruleBytes(x)));
        if (key === 'in' && !found) fail(at, key, 'value must be in the allowed list');
        if (key === 'not_in' && found) fail(at, key, 'value must not be in the forbidden list');
        break;
      }
      case 'ip': if (rv === true && b.length !== 4 && b.length !== 16) fail(at, key, `value must be a valid IP address (4 or 16 bytes), got ${b.length}`); break;
      case 'ipv4': if (rv === true && b.length !== 4) fail(at, key, `value must be a valid IPv4 address (4 bytes), got ${b.length}`); break;
      case 'ipv6': if (rv === true && b.length !== 16) fail(at, key, `value must be a valid IPv6 address (16 bytes), got ${b.length}`); break;
      case 'pattern': unsupported(at, key, 'regex patterns on bytes are not implemented'); break;
      case 'ignore_empty': break;
      default: unsupported(at, key, `unknown bytes rule ${key}`);
    }
  }
}

export function checkBool(at: At, rules: Rules, raw: unknown): void {
  if (typeof raw !== 'boolean') {
    failType(at, 'a boolean', raw);
    return;
  }
  for (const [key, rv] of Object.entries(rules)) {
    if (key === 'const') {
      if (raw !== rv) fail(at, key, `value must equal ${show(rv)}, got ${show(raw)}`);
    } else {
      unsupported(at, key, `unknown bool rule ${key}`);
    }
  }
}
