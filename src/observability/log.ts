/**
 * A four-method logger interface, so no logging library leaks into the core, and a plain
 * implementation that writes one line per entry to stderr: `<time> <level> <scope> <msg> k=v ...`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger for a sub-scope, e.g. `log.scope('secrets')`. */
  scope(name: string): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Longest field value written; longer values are cut (a caller must not be able to write 100 KB lines). */
export const MAX_FIELD_CHARS = 2048;

/** `s` cut to `max` characters, saying how much was cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}...(${s.length - max} more chars)`;
}

/**
 * One field value as written: cut to MAX_FIELD_CHARS, and quoted as JSON (which escapes NUL, newlines
 * and every other control character) when it holds spaces, quotes, '=' or control characters, so one
 * entry is always one line.
 */
export function formatValue(v: string): string {
  const s = truncate(v, MAX_FIELD_CHARS);
  // eslint-disable-next-line no-control-regex
  return /[\s"=\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(s) ? JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : s;
}

/** The message: cut and with control characters escaped (messages may embed what a caller sent). */
function formatMessage(msg: string): string {
  // eslint-disable-next-line no-control-regex
  return truncate(msg, 4 * MAX_FIELD_CHARS).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function format(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out += ` ${k}=${formatValue(String(v))}`;
  }
  return out;
}

export function streamLogger(scope: string, level: LogLevel = 'info', write: (line: string) => void = (l) => { process.stderr.write(l); }): Logger {
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(`${new Date().toISOString()} ${lvl} ${scope} ${formatMessage(msg)}${format(fields)}\n`);
  };
  return {
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    scope: (name) => streamLogger(`${scope}/${name}`, level, write),
  };
}

/**
 * A logger for a CLI's progress output: each entry is written as its bare message (and fields), no
 * time, level or scope, one line per call of `write` (the caller adds indentation and the newline).
 */
export function lineLogger(write: (line: string) => void, level: LogLevel = 'info'): Logger {
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[lvl] >= ORDER[level]) write(`${formatMessage(msg)}${format(fields)}`);
  };
  const self: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), scope: () => self };
  return self;
}

/** Discards everything (tests that assert nothing about logs). */
export const silentLogger: Logger = {
  debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined,
  scope: () => silentLogger,
};

export function parseLogLevel(v: string | undefined): LogLevel {
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}
