/**
 * Traffic that keeps running while something breaks: a loop of calls from sleep to helloworld in
 * one `kubectl exec`, each answer time-stamped as it arrives, so a fault test can count failed calls
 * and time the first answer from a new pod.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { parseAnswers, type Answer } from './multinetwork.ts';
import type { Shell } from './shell.ts';

export interface TimedAnswer extends Answer {
  /** `Date.now()` when the answer arrived. */
  readonly at: number;
}

export class CallLoop {
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #answers: TimedAnswer[] = [];
  readonly #exited: Promise<number>;
  #pending = '';
  #stderr = '';

  private constructor(proc: ChildProcessWithoutNullStreams) {
    this.#proc = proc;
    proc.stdout.on('data', (d: Buffer) => { this.#take(d.toString()); });
    proc.stderr.on('data', (d: Buffer) => { this.#stderr = (this.#stderr + d.toString()).slice(-4000); });
    this.#exited = new Promise((resolve) => { proc.on('close', (code) => { resolve(code ?? -1); }); });
  }

  /** Calls from sleep in `ctx` every ~200 ms for `seconds` (curl's own timeout: 3 s per call). */
  static start(sh: Shell, ctx: string, seconds: number): CallLoop {
    const loop = `end=$(( $(date +%s) + ${seconds} )); while [ $(date +%s) -lt $end ]; do ` +
      "curl -sS -m 3 -o /dev/stdout -w '\\n%{http_code}\\n' http://helloworld.sample:5000/hello 2>/dev/null || true; sleep 0.2; done";
    return new CallLoop(sh.start('kubectl', ['--context', ctx, 'exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--', 'sh', '-c', loop]));
  }

  #take(chunk: string): void {
    this.#pending += chunk;
    // Answers end with their status line; keep an unfinished one for the next chunk.
    const cut = this.#pending.search(/\n\d{3}\n(?![\s\S]*\n\d{3}\n)/);
    if (cut < 0) return;
    const end = cut + 5;
    const at = Date.now();
    for (const a of parseAnswers(this.#pending.slice(0, end))) this.#answers.push({ ...a, at });
    this.#pending = this.#pending.slice(end);
  }

  get answers(): readonly TimedAnswer[] { return this.#answers; }

  /** Waits for the loop's end; throws if kubectl exec itself failed. */
  async done(): Promise<readonly TimedAnswer[]> {
    const code = await this.#exited;
    if (code !== 0) throw new Error(`the call loop's kubectl exec exited ${code}: ${this.#stderr}`);
    return this.#answers;
  }

  stop(): void {
    this.#proc.kill('SIGTERM');
  }
}

export function failures(answers: readonly Answer[]): number {
  return answers.filter((a) => a.status !== '200').length;
}
