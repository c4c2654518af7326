/**
 * Runs `isthmus discovery` as a real child process for integration tests, on free loopback ports,
 * and offers JSON access to its debug endpoints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './testbed/procs.ts';

export interface DiscoveryProcessOptions {
  readonly kubeconfig: string;
  readonly clusterId: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** Where plaintext xDS listens (default: a free loopback port), e.g. an address inside a test network. */
  readonly grpcAddr?: string;
  /** Debug HTTP address (default a free port on 127.0.0.1). */
  readonly httpAddr?: string;
  /** Script and leading arguments to run instead of `bin/isthmus.mjs discovery` (same flags). */
  readonly command?: readonly string[];
}

const BIN = fileURLToPath(new URL('../../bin/isthmus.mjs', import.meta.url));

export class DiscoveryProcess {
  readonly httpAddr: string;
  readonly grpcAddr: string;
  readonly secureGrpcAddr: string;
  readonly monitoringAddr: string;
  /** The injection webhook (HTTPS, `/inject`). */
  readonly httpsAddr: string;
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  #exit: number | string | undefined;

  private constructor(child: ChildProcess, http: string, grpc: string, secure: string, monitoring: string, https: string) {
    this.#child = child;
    this.httpAddr = http;
    this.grpcAddr = grpc;
    this.secureGrpcAddr = secure;
    this.monitoringAddr = monitoring;
    this.httpsAddr = https;
    const keep = (b: Buffer) => { for (const l of b.toString('utf8').split('\n')) if (l) { this.#log.push(l); if (this.#log.length > 2000) this.#log.shift(); } };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, sig) => { this.#exit = code ?? sig ?? 'unknown'; });
  }

  static async start(opts: DiscoveryProcessOptions): Promise<DiscoveryProcess> {
    const [h, g, sg, m, wh] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const grpcAddr = opts.grpcAddr ?? `127.0.0.1:${g}`;
    const httpAddr = opts.httpAddr ?? `127.0.0.1:${h}`;
    const child = spawn(process.execPath, [...(opts.command ?? [BIN, 'discovery']), '--kubeconfig', opts.kubeconfig, '--cluster-id', opts.clusterId,
      '--httpAddr', httpAddr, '--grpcAddr', grpcAddr, '--secureGRPCAddr', `127.0.0.1:${sg}`, '--monitoringAddr', `127.0.0.1:${m}`,
      '--httpsAddr', `127.0.0.1:${wh}`, ...(opts.args ?? [])], {
      env: { ...process.env, POD_NAME: `istiod-${opts.clusterId}-test`, PILOT_DEBOUNCE_AFTER: '10ms', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new DiscoveryProcess(child, httpAddr, grpcAddr, `127.0.0.1:${sg}`, `127.0.0.1:${m}`, `127.0.0.1:${wh}`);
  }

  /** The child's process id (for /proc CPU and memory readings); undefined if spawning failed. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  logs(): string {
    return this.#log.join('\n');
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    if (this.#exit !== undefined) throw new Error(`discovery exited (${String(this.#exit)}):\n${this.#log.slice(-20).join('\n')}`);
    const res = await fetch(`http://${this.httpAddr}${path}`);
    return { status: res.status, body: await res.text() };
  }

  async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  }

  /** Waits for /ready to answer 200. */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await this.get('/ready')).status === 200) return;
      } catch (err) {
        if (this.#exit !== undefined) throw err;
      }
      await sleep(50);
    }
    throw new Error(`discovery not ready after ${timeoutMs} ms:\n${this.#log.slice(-20).join('\n')}`);
  }

  async stop(): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}
