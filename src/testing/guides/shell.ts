/**
 * The commands a user of the guides types, run for real and echoed as a transcript: `kubectl` with
 * a merged kubeconfig and `--context`, and `isthmus` (this checkout's CLI). Every command is logged
 * as `$ ...` before it runs; a failing command throws with its exit code and output.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/isthmus.mjs', import.meta.url));

export interface Result { readonly code: number; readonly stdout: string; readonly stderr: string }

export type Transcript = (line: string) => void;

function exec(cmd: string, args: readonly string[], input: string, env: Readonly<Record<string, string>>, timeoutMs: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); }, timeoutMs);
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', (err) => { clearTimeout(timer); reject(err); });
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 124 : -1), stdout, stderr });
    });
    p.stdin.end(input);
  });
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

export interface ShellOptions {
  /** The merged kubeconfig every command uses (`KUBECONFIG`). */
  readonly kubeconfig: string;
  readonly transcript: Transcript;
  /** The istioctl binary, for guides that run the real one. */
  readonly istioctl?: string;
}

export type Program = 'kubectl' | 'isthmus' | 'istioctl';

/** Runs the guide's commands; `run` throws on a non-zero exit, `attempt` returns the result. */
export class Shell {
  readonly #opts: ShellOptions;

  constructor(opts: ShellOptions) {
    this.#opts = opts;
  }

  get kubeconfig(): string { return this.#opts.kubeconfig; }

  #argv(program: Program, args: readonly string[]): [string, string[]] {
    if (program === 'kubectl') return ['kubectl', [...args]];
    if (program === 'isthmus') return [process.execPath, [BIN, ...args]];
    if (this.#opts.istioctl === undefined) throw new Error('this shell has no istioctl');
    return [this.#opts.istioctl, [...args]];
  }

  async attempt(program: Program, args: readonly string[], opts: { input?: string; quiet?: boolean; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
    const envText = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join('');
    if (opts.quiet !== true) this.#opts.transcript(`$ ${envText}${program} ${args.map(quote).join(' ')}`);
    const [cmd, argv] = this.#argv(program, args);
    return exec(cmd, argv, opts.input ?? '', { KUBECONFIG: this.#opts.kubeconfig, ...opts.env }, opts.timeoutMs ?? 120_000);
  }

  async run(program: Program, args: readonly string[], opts: { input?: string; quiet?: boolean; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    const r = await this.attempt(program, args, opts);
    if (r.code !== 0) {
      throw new Error(`${program} ${args.join(' ')} exited ${r.code}\n${r.stderr.trim()}\n${r.stdout.trim().slice(-2000)}`);
    }
    return r.stdout;
  }

  /** `a | b`: runs `first`, pipes its output into `second`, logs both as one line. */
  async pipe(first: [Program, readonly string[]], second: [Program, readonly string[]]): Promise<string> {
    this.#opts.transcript(`$ ${first[0]} ${first[1].map(quote).join(' ')} | ${second[0]} ${second[1].map(quote).join(' ')}`);
    const out = await this.run(first[0], first[1], { quiet: true });
    return this.run(second[0], second[1], { input: out, quiet: true });
  }

  /** Starts a long-running command (e.g. a loop of calls) and hands back the process. */
  start(program: Program, args: readonly string[]): ChildProcessWithoutNullStreams {
    this.#opts.transcript(`$ ${program} ${args.map(quote).join(' ')} &`);
    const [cmd, argv] = this.#argv(program, args);
    return spawn(cmd, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: this.#opts.kubeconfig } });
  }

  note(line: string): void {
    this.#opts.transcript(line);
  }
}

interface KubeconfigFile {
  clusters?: unknown[];
  contexts?: unknown[];
  users?: unknown[];
}

/**
 * One kubeconfig holding every test-bed cluster's context (each file names its cluster, context and
 * user after the cluster), as a user with two clusters has: commands select one with `--context`.
 */
export function mergeKubeconfigs(files: readonly string[], out: string): void {
  const docs = files.map((f) => parse(readFileSync(f, 'utf8')) as KubeconfigFile);
  const first = files[0];
  if (first === undefined) throw new Error('no kubeconfig to merge');
  const merged = {
    apiVersion: 'v1', kind: 'Config',
    clusters: docs.flatMap((d) => d.clusters ?? []),
    contexts: docs.flatMap((d) => d.contexts ?? []),
    users: docs.flatMap((d) => d.users ?? []),
    'current-context': (parse(readFileSync(first, 'utf8')) as { 'current-context'?: string })['current-context'] ?? '',
  };
  writeFileSync(out, stringify(merged), { mode: 0o600 });
}
