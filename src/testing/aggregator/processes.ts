/**
 * Runs the real `isthmus` binary as a child process for integration tests: one-shot CLI verbs
 * (`run`), and long-running servers that print a "listening on host:port" line (`XdsProxyProcess`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/isthmus.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `isthmus <args>` with `env` added to (or, for keys set to undefined, removed from) the environment. */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => { child.on('exit', (c) => { resolve(c); }); });
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** `isthmus xds-proxy ...` as a child process; `port` is read from its "listening on" line. */
export class XdsProxyProcess {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #log: string[];

  private constructor(child: ChildProcess, port: number, log: string[]) {
    this.#child = child;
    this.port = port;
    this.#log = log;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  static async start(args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 20_000): Promise<XdsProxyProcess> {
    const child = spawn(process.execPath, [BIN, 'xds-proxy', '--address', '127.0.0.1', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: string[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`xds-proxy did not start within ${timeoutMs} ms:\n${log.join('\n')}`)); }, timeoutMs);
      const keep = (b: Buffer) => {
        for (const l of b.toString('utf8').split('\n')) {
          if (!l) continue;
          log.push(l);
          if (log.length > 2000) log.shift();
          const m = /xds-proxy listening on .*:(\d+)$/.exec(l);
          if (m) { clearTimeout(timer); resolve(Number(m[1])); }
        }
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('exit', (c) => { clearTimeout(timer); reject(new Error(`xds-proxy exited (${String(c)}):\n${log.join('\n')}`)); });
    });
    return new XdsProxyProcess(child, port, log);
  }

  logs(): string {
    return this.#log.join('\n');
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
