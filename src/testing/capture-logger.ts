/** A Logger for tests that assert what a module logged: it keeps every entry, and the warnings' text. */
import type { LogFields, Logger, LogLevel } from '../observability/log.ts';

export interface LogEntry {
  readonly level: LogLevel;
  readonly scope: string;
  readonly msg: string;
  readonly fields: LogFields | undefined;
}

export class CaptureLogger implements Logger {
  /** Every entry, of this logger and of its scopes, in order. */
  readonly entries: LogEntry[];
  /** The messages of `warn` entries, in order (what the ad hoc warning callbacks used to collect). */
  readonly warnings: string[];
  /** The messages of every entry, in order. */
  readonly lines: string[];
  readonly #scope: string;

  constructor(scope = '', shared?: { entries: LogEntry[]; warnings: string[]; lines: string[] }) {
    this.#scope = scope;
    this.entries = shared?.entries ?? [];
    this.warnings = shared?.warnings ?? [];
    this.lines = shared?.lines ?? [];
  }

  /** The messages logged at `level`. */
  messages(level: LogLevel): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.msg);
  }

  debug(msg: string, fields?: LogFields): void { this.#add('debug', msg, fields); }
  info(msg: string, fields?: LogFields): void { this.#add('info', msg, fields); }
  warn(msg: string, fields?: LogFields): void { this.#add('warn', msg, fields); }
  error(msg: string, fields?: LogFields): void { this.#add('error', msg, fields); }

  scope(name: string): Logger {
    return new CaptureLogger(this.#scope ? `${this.#scope}/${name}` : name, this);
  }

  #add(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    this.entries.push({ level, scope: this.#scope, msg, fields });
    this.lines.push(msg);
    if (level === 'warn') this.warnings.push(msg);
  }
}
