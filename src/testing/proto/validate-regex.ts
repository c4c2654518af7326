/**
 * Translates the RE2 patterns of protoc-gen-validate `string.pattern` rules into JavaScript
 * `RegExp`s (always with the `u` flag), or explains why a pattern cannot be translated faithfully.
 *
 * Handled: literals, classes (including `[]a]`, ASCII POSIX classes `[[:alpha:]]`), `\d \w \s \b`
 * (`\s` is RE2's ASCII `[\t\n\f\r ]`), `\pL`/`\p{Greek}` (general categories, else scripts),
 * `\x{...}`, `\Q...\E`, `\A`, `\z`, `.` (never matching `\n`, as in RE2), repetitions (a `{` that
 * does not start one is a literal, as in RE2), `(?P<name>...)`, leading `(?i)`, `(?s)`, `(?m)`
 * flag groups. Anything else (flag groups inside the pattern, `\C`, negated POSIX classes, octal
 * escapes other than `\0`, lookarounds and backreferences, which RE2 rejects anyway) is refused
 * with a reason; the caller records the rule as unsupported.
 *
 * JavaScript regexes backtrack where RE2 does not: a pathological pattern can be slow on long
 * input. The patterns come from the schema (trusted), the Envoy ones are simple.
 */

export type Re2Translation =
  | { readonly ok: true; readonly regex: RegExp; readonly source: string }
  | { readonly ok: false; readonly reason: string };

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Characters that must stay escaped in a `u`-mode JavaScript regex. */
const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs', 'Any',
]);

class Refused extends Error {}

function hexEscape(ch: string): string {
  return `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`;
}

/** An escaped literal character as JavaScript `u`-mode syntax. */
function literal(ch: string): string {
  if (JS_SYNTAX.has(ch) || ch === '-') return ch === '-' ? '\\x2d' : `\\${ch}`;
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f ? hexEscape(ch) : ch;
}

class Translator {
  readonly #src: string;
  #i = 0;
  #out = '';
  #dotAll = false;
  flags = 'u';

  constructor(src: string) {
    this.#src = src;
  }

  run(): string {
    this.#leadingFlags();
    while (this.#i < this.#src.length) this.#outside();
    return this.#out;
  }

  #peek(offset = 0): string {
    return this.#src.charAt(this.#i + offset);
  }

  #leadingFlags(): void {
    const m = /^\(\?([ims]+)\)/.exec(this.#src);
    if (!m?.[1]) return;
    for (const f of m[1]) {
      if (f === 's') this.#dotAll = true;
      else if (!this.flags.includes(f)) this.flags += f;
    }
    this.#i = m[0].length;
  }

  #outside(): void {
    const ch = this.#peek();
    if (ch === '\\') {
      this.#out += this.#escape(false);
      return;
    }
    this.#i++;
    switch (ch) {
      case '[': this.#out += this.#charClass(); return;
      case '(': this.#out += this.#group(); return;
      case '.': this.#out += this.#dotAll ? '[\\s\\S]' : '[^\\n]'; return;
      case ']': case '}': this.#out += `\\${ch}`; return;
      case '{': {
        const rep = /^\d+(,\d*)?\}/.exec(this.#src.slice(this.#i));
        if (rep) {
          this.#out += `{${rep[0]}`;
          this.#i += rep[0].length;
        } else {
          this.#out += '\\{';
        }
        return;
      }
      default: this.#out += ch;
    }
  }

  #group(): string {
    if (this.#peek() !== '?') return '(';
    const rest = this.#src.slice(this.#i);
    if (rest.startsWith('?:')) { this.#i += 2; return '(?:'; }
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named?.[1] !== undefined) { this.#i += named[0].length; return `(?<${named[1]}>`; }
    throw new Refused(`group syntax "(${rest.slice(0, 4)}" (inline flags or lookaround) is not translated`);
  }

  /** An escape at #i (pointing at the backslash); inClass selects class-member output. */
  #escape(inClass: boolean): string {
    const c = this.#peek(1);
    this.#i += 2;
    switch (c) {
      case '': throw new Refused('trailing backslash');
      case 'd': case 'D': case 'w': case 'W': return `\\${c}`;
      case 'b': case 'B':
        if (inClass) throw new Refused(`\\${c} inside a class`);
        return `\\${c}`;
      case 's': return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        if (inClass) throw new Refused('\\S inside a class');
        return '[^\\t\\n\\f\\r ]';
      case 'A': if (inClass) break; return '(?<![\\s\\S])';
      case 'z': if (inClass) break; return '(?![\\s\\S])';
      case 'a': return '\\x07';
      case 'f': case 't': case 'n': case 'r': case 'v': return `\\${c}`;
      case '0': {
        const oct = /^[0-7]{0,2}/.exec(this.#src.slice(this.#i))?.[0] ?? '';
        this.#i += oct.length;
        return hexEscape(String.fromCodePoint(parseInt(`0${oct}`, 8)));
      }
      case 'x': return this.#hex();
      case 'p': case 'P': return this.#unicodeClass(c);
      case 'Q': {
        const end = this.#src.indexOf('\\E', this.#i);
        const text = this.#src.slice(this.#i, end < 0 ? undefined : end);
        this.#i = end < 0 ? this.#src.length : end + 2;
        let quoted = '';
        for (const lit of text) quoted += literal(lit);
        return quoted;
      }
      default:
        if (/[^0-9A-Za-z]/.test(c)) return literal(c);
    }
    throw new Refused(`escape \\${c} is not translated`);
  }

  #hex(): string {
    const rest = this.#src.slice(this.#i);
    const m = /^\{([0-9A-Fa-f]{1,6})\}/.exec(rest) ?? /^([0-9A-Fa-f]{2})/.exec(rest);
    if (!m?.[1]) throw new Refused('malformed \\x escape');
    this.#i += m[0].length;
    const cp = parseInt(m[1], 16);
    if (cp > 0x10ffff) throw new Refused('\\x escape above U+10FFFF');
    return `\\u{${m[1]}}`;
  }

  #unicodeClass(c: string): string {
    const rest = this.#src.slice(this.#i);
    const m = /^\{(\^?)([A-Za-z_]+)\}/.exec(rest) ?? /^()([A-Za-z])/.exec(rest);
    if (!m || m[2] === undefined) throw new Refused(`malformed \\${c} class`);
    this.#i += m[0].length;
    const negated = (c === 'P') !== (m[1] === '^');
    const name = GENERAL_CATEGORIES.has(m[2]) ? m[2] : `Script=${m[2]}`;
    return `\\${negated ? 'P' : 'p'}{${name}}`;
  }

  #charClass(): string {
    let out = '[';
    if (this.#peek() === '^') { out += '^'; this.#i++; }
    const startLen = out.length;
    let first = true;
    for (;;) {
      const ch = this.#peek();
      if (ch === '') throw new Refused('unterminated character class');
      if (ch === ']' && !first) { this.#i++; return `${out}]`; }
      first = false;
      if (ch === '[' && this.#peek(1) === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.#src.slice(this.#i));
        const expansion = m?.[2] === undefined ? undefined : POSIX_CLASSES[m[2]];
        if (m && expansion !== undefined) {
          if (m[1] === '^') throw new Refused(`negated POSIX class [:^${m[2]}:]`);
          out += expansion;
          this.#i += m[0].length;
          continue;
        }
      }
      if (ch === '\\') { out += this.#escape(true); continue; }
      this.#i++;
      if (ch === '-') {
        // A range dash stays a dash; a leading or trailing one is a literal.
        const atEdge = out.length === startLen || this.#peek() === ']';
        out += atEdge ? '\\x2d' : '-';
      } else {
        out += ch === '[' || ch === ']' ? `\\${ch}` : literal(ch);
      }
    }
  }
}

const cache = new Map<string, Re2Translation>();

/** Translates (and caches) one RE2 pattern. Never throws. */
export function translateRe2(pattern: string): Re2Translation {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let result: Re2Translation;
  try {
    const t = new Translator(pattern);
    const source = t.run();
    result = { ok: true, regex: new RegExp(source, t.flags), source };
  } catch (err) {
    const reason = err instanceof Refused ? err.message : `not a valid JavaScript regex after translation (${String(err)})`;
    result = { ok: false, reason };
  }
  cache.set(pattern, result);
  return result;
}
