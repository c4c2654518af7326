/**
 * Where the test bed's binaries live, and building them (once) when they are missing.
 * The cache survives `testbed down` and new checkouts on the same machine.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';

export const K8S_VERSION = 'v1.34.4';
export const ETCD_VERSION = 'v3.6.16';

export interface Binaries {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly etcd: string;
}

/** The machine-wide cache root of the test bed's (and the interop tests') third-party binaries. */
export function cacheRoot(): string {
  return process.env['ISTHMUS_TESTBED_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'isthmus', 'testbed');
}

export function cacheDir(): string {
  return join(cacheRoot(), `k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}`);
}

function paths(dir: string): Binaries {
  return {
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    etcd: join(dir, 'etcd'),
  };
}

export function cachedBinaries(): Binaries | undefined {
  const p = paths(cacheDir());
  return [p.kubeApiserver, p.kubeControllerManager, p.etcd].every((f) => existsSync(f)) ? p : undefined;
}

/** Returns the binaries, building whatever is missing. Build output goes to `log`. */
export async function ensureBinaries(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<Binaries> {
  const have = cachedBinaries();
  if (have) return have;
  try {
    await promisify(execFile)('go', ['version']);
  } catch {
    throw new IsthmusError(ErrorCodes.ToolMissing,
      'the test bed builds kube-apiserver and etcd with Go, and no `go` was found on PATH. Install Go >= 1.24 ' +
      '(e.g. `apt-get install golang-go`) or put prebuilt binaries named kube-apiserver, kube-controller-manager and etcd in ' + cacheDir());
  }
  const dir = cacheDir();
  const script = fileURLToPath(new URL('../../../scripts/testbed-build.sh', import.meta.url));
  const started = Date.now();
  log(`testbed: binaries not cached in ${dir}; building them (only once per machine)`);
  const { code, output } = await runBuildScript(script, [dir, K8S_VERSION, ETCD_VERSION], 'testbed:', log);
  if (code !== 0) {
    throw new IsthmusError(ErrorCodes.BuildFailed,
      `building the test-bed binaries failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}\n` +
      `Fix the cause above and run again; set K8S_VERSION in src/testing/testbed/binaries.ts to try another release.`);
  }
  log(`testbed: built binaries in ${Math.round((Date.now() - started) / 1000)} s`);
  const built = cachedBinaries();
  if (!built) throw new IsthmusError(ErrorCodes.BuildFailed, `the build finished but binaries are missing from ${dir}`);
  return built;
}

/**
 * Runs a `scripts/*-build.sh` with bash; lines starting with `prefix` go to `log`, the last 200
 * lines of all output are returned for error messages.
 */
export async function runBuildScript(script: string, args: readonly string[], prefix: string, log: (line: string) => void): Promise<{ code: number; output: string[] }> {
  const output: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n').filter(Boolean)) {
        output.push(line);
        if (output.length > 200) output.shift();
        if (line.startsWith(prefix)) log(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (c) => { resolve(c ?? 1); });
    child.on('error', () => { resolve(127); });
  });
  return { code, output };
}
