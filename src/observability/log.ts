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

function format(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = String(v);
    out += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
  }
  return out;
}

export function streamLogger(scope: string, level: LogLevel = 'info', write: (line: string) => void = (l) => { process.stderr.write(l); }): Logger {
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[lvl] < ORDER[level]) return;
    write(`${new Date().toISOString()} ${lvl} ${scope} ${msg}${format(fields)}\n`);
  };
  return {
    debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    scope: (name) => streamLogger(`${scope}/${name}`, level, write),
  };
}

/** Discards everything (tests that assert nothing about logs). */
export const silentLogger: Logger = {
  debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined,
  scope: () => silentLogger,
};

export function parseLogLevel(v: string | undefined): LogLevel {
  return v === 'debug' || v === 'warn' || v === 'error' ? v : 'info';
}
