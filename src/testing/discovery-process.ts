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
  /** Picks a free loopback port (default: bind port 0 and release it); tests inject a taken one. */
  readonly pickPort?: () => Promise<number>;
  /** Processes to try when another process takes a picked port first (default 5). */
  readonly maxAttempts?: number;
  /** How long `start` waits for the child to listen before handing it over anyway (default 60 s). */
  readonly listenTimeoutMs?: number;
}

interface Addresses { readonly http: string; readonly grpc: string; readonly secure: string; readonly monitoring: string; readonly https: string }

/** `n` ports from `pick`, no two alike (a port picker may hand the same free port out twice). */
async function distinctPorts(pick: () => Promise<number>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let tries = 0; out.length < n; tries++) {
    if (tries >= 20 * n) throw new Error(`the port picker gave only ${out.length} distinct ports in ${tries} calls`);
    const port = await pick();
    if (!out.includes(port)) out.push(port);
  }
  return out;
}

const BIN = fileURLToPath(new URL('../../bin/isthmus.mjs', import.meta.url));

/** The line discovery logs once every listener is bound (src/bootstrap/discovery.ts). */
const LISTENING = 'control plane listening';

export class DiscoveryProcess {
  readonly httpAddr: string;
  readonly grpcAddr: string;
  readonly secureGrpcAddr: string;
  readonly monitoringAddr: string;
  /** The injection webhook (HTTPS, `/inject`). */
  readonly httpsAddr: string;
  /** How many processes `start` ran to get this one listening (more than 1 after a port race). */
  readonly attempts: number;
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  #exit: number | string | undefined;
  readonly #listening: Promise<void>;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, addrs: Addresses, attempts: number) {
    this.#child = child;
    this.attempts = attempts;
    this.httpAddr = addrs.http;
    this.grpcAddr = addrs.grpc;
    this.secureGrpcAddr = addrs.secure;
    this.monitoringAddr = addrs.monitoring;
    this.httpsAddr = addrs.https;
    let listening = (): void => undefined;
    this.#listening = new Promise((r) => { listening = r; });
    const lines = (): ((b: Buffer) => void) => {
      let partial = '';
      return (b) => {
        const parts = (partial + b.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) this.#keep(l, listening);
      };
    };
    child.stdout?.on('data', lines());
    child.stderr?.on('data', lines());
    this.#exited = new Promise((r) => {
      child.on('exit', (code, sig) => { this.#exit = code ?? sig ?? 'unknown'; r(); });
      child.on('error', (err) => { this.#log.push(`spawn failed: ${err.message}`); this.#exit ??= 'spawn error'; r(); });
    });
  }

  #keep(line: string, listening: () => void): void {
    if (line === '') return;
    this.#log.push(line);
    if (this.#log.length > 2000) this.#log.shift();
    if (line.includes(LISTENING)) listening();
  }

  /**
   * Starts discovery on free loopback ports (except the addresses given in `opts`) and waits until
   * it listens on all of them. A port picked free can be taken by another process before the child
   * binds it: a child that exits with EADDRINUSE is retried on freshly picked ports, up to
   * `opts.maxAttempts` times. Any other early exit is left for `ready()`/`get()` to report.
   */
  static async start(opts: DiscoveryProcessOptions): Promise<DiscoveryProcess> {
    const pick = opts.pickPort ?? freePort;
    const maxAttempts = opts.maxAttempts ?? 5;
    const tried: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const p = await distinctPorts(pick, 5);
      const addrs: Addresses = {
        http: opts.httpAddr ?? `127.0.0.1:${p[0]}`, grpc: opts.grpcAddr ?? `127.0.0.1:${p[1]}`,
        secure: `127.0.0.1:${p[2]}`, monitoring: `127.0.0.1:${p[3]}`, https: `127.0.0.1:${p[4]}`,
      };
      const child = spawn(process.execPath, [...(opts.command ?? [BIN, 'discovery']), '--kubeconfig', opts.kubeconfig, '--cluster-id', opts.clusterId,
        '--httpAddr', addrs.http, '--grpcAddr', addrs.grpc, '--secureGRPCAddr', addrs.secure, '--monitoringAddr', addrs.monitoring,
        '--httpsAddr', addrs.https, ...(opts.args ?? [])], {
        env: { ...process.env, POD_NAME: `istiod-${opts.clusterId}-test`, PILOT_DEBOUNCE_AFTER: '10ms', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const proc = new DiscoveryProcess(child, addrs, attempt);
      const outcome = await proc.#listeningOrExit(opts.listenTimeoutMs ?? 60_000);
      if (outcome !== 'exited' || !proc.logs().includes('EADDRINUSE')) return proc;
      const line = proc.#log.find((l) => l.includes('EADDRINUSE')) ?? 'EADDRINUSE';
      tried.push(`attempt ${attempt}: ${line}`);
      if (attempt >= maxAttempts) {
        throw new Error(`discovery could not bind its ports in ${attempt} attempts (another process took a port each time):\n${tried.join('\n')}`);
      }
    }
  }

  /** Resolves when every listener is bound, the child exited, or `timeoutMs` passed (then `ready()` reports). */
  async #listeningOrExit(timeoutMs: number): Promise<'listening' | 'exited' | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => { r('timeout'); }, timeoutMs); });
    try {
      return await Promise.race([this.#listening.then(() => 'listening' as const), this.#exited.then(() => 'exited' as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
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
