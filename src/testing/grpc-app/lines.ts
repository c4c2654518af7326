/**
 * A child process that prints one JSON object per line (the gRPC test apps and the gateway data
 * plane): keeps every event, lets a test wait for one, and keeps the raw tail for failure messages.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild } from '../netns.ts';

export type JsonEvent = Record<string, unknown> & { readonly t: number; readonly event?: string };

export class JsonLineProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly events: JsonEvent[] = [];
  readonly #raw: string[] = [];
  #partial = '';
  #exit: string | undefined;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    child.stdout?.on('data', (b: Buffer) => { this.#onStdout(b.toString('utf8')); });
    child.stderr?.on('data', (b: Buffer) => { this.#keep(`[stderr] ${b.toString('utf8').trimEnd()}`); });
    child.on('exit', (code, sig) => { this.#exit = String(code ?? sig); });
  }

  #keep(line: string): void {
    this.#raw.push(line);
    if (this.#raw.length > 400) this.#raw.shift();
  }

  #onStdout(s: string): void {
    const lines = (this.#partial + s).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const l of lines) {
      if (l.trim() === '') continue;
      this.#keep(l);
      try {
        const v = JSON.parse(l) as unknown;
        if (typeof v === 'object' && v !== null && typeof (v as { t?: unknown }).t === 'number') this.events.push(v as JsonEvent);
      } catch {
        // not an event line (e.g. a library's own log): kept in the raw tail only
      }
    }
  }

  get exited(): string | undefined {
    return this.#exit;
  }

  tail(n = 30): string {
    return `--- ${this.name}${this.#exit === undefined ? '' : ` (exited ${this.#exit})`} ---\n${this.#raw.slice(-n).join('\n')}`;
  }

  /** Events of one kind, optionally only those at or after `since` (ms epoch). */
  of(event: string, since = 0): JsonEvent[] {
    return this.events.filter((e) => e.event === event && e.t >= since);
  }

  /** Waits for an event matching `pred` (scanning from `fromIndex`), failing early if the process exits. */
  async waitFor(what: string, pred: (e: JsonEvent) => boolean, timeoutMs = 20_000, fromIndex = 0): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs;
    let i = fromIndex;
    for (;;) {
      for (; i < this.events.length; i++) {
        const e = this.events[i];
        if (e !== undefined && pred(e)) return e;
      }
      if (this.#exit !== undefined) throw new Error(`${this.name} exited (${this.#exit}) before ${what}\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`);
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
