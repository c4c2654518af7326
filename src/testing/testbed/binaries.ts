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
import { TestbedErrorCodes, TestbedError } from './errors.ts';

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
    throw new TestbedError(TestbedErrorCodes.ToolMissing,
      'the test bed builds kube-apiserver and etcd with Go, and no `go` was found on PATH. Install Go >= 1.24 ' +
      '(e.g. `apt-get install golang-go`) or put prebuilt binaries named kube-apiserver, kube-controller-manager and etcd in ' + cacheDir());
  }
  const dir = cacheDir();
  const script = fileURLToPath(new URL('../../../scripts/testbed-build.sh', import.meta.url));
  const started = Date.now();
  log(`testbed: binaries not cached in ${dir}; building them (only once per machine)`);
  const { code, output } = await runBuildScript(script, [dir, K8S_VERSION, ETCD_VERSION], 'testbed:', log);
  if (code !== 0) {
    throw new TestbedError(TestbedErrorCodes.BuildFailed,
      `building the test-bed binaries failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}\n` +
      `Fix the cause above and run again; set K8S_VERSION in src/testing/testbed/binaries.ts to try another release.`);
  }
  log(`testbed: built binaries in ${Math.round((Date.now() - started) / 1000)} s`);
  const built = cachedBinaries();
  if (!built) throw new TestbedError(TestbedErrorCodes.BuildFailed, `the build finished but binaries are missing from ${dir}`);
  return built;
}

export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeScheduler: string;
  readonly kubeProxy: string;
  /** CoreDNS with the plugins cluster DNS needs, run per node. */
  readonly coredns: string;
  /** Docker archives for `ctr images import`: the sandbox image and a busybox-static image. */
  readonly pauseImage: string;
  readonly busyboxImage: string;
}

/** The image names inside those archives (scripts/testbed-node-build.sh tags them so). */
export const PAUSE_IMAGE = 'localhost/pause:3.10.1';
export const BUSYBOX_IMAGE = 'localhost/busybox:static';

/** Node parts live in their own subdirectory, so the API-server-only cache check is unchanged. */
export function nodeCacheDir(): string {
  return join(cacheDir(), 'node');
}

function nodePaths(dir: string): NodeBinaries {
  return {
    kubelet: join(dir, 'kubelet'), kubeScheduler: join(dir, 'kube-scheduler'), kubeProxy: join(dir, 'kube-proxy'), coredns: join(dir, 'coredns'),
    pauseImage: join(dir, 'images', 'pause.tar'), busyboxImage: join(dir, 'images', 'busybox.tar'),
  };
}

export function cachedNodeBinaries(): NodeBinaries | undefined {
  const p = nodePaths(nodeCacheDir());
  return [p.kubelet, p.kubeScheduler, p.kubeProxy, p.coredns, p.pauseImage, p.busyboxImage].every((f) => existsSync(f)) ? p : undefined;
}

/**
 * kubelet, kube-scheduler, kube-proxy, CoreDNS and the local images a real node needs, built once per machine;
 * also installs the Debian packages nodes need (containerd, runc, CNI plugins, umoci, skopeo, ...).
 * Even when everything is cached, checks that those tools are still installed (and installs them if not).
 */
export async function ensureNodeBinaries(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<NodeBinaries> {
  const scripts = fileURLToPath(new URL('../../../scripts/', import.meta.url));
  const have = cachedNodeBinaries();
  if (have) {
    // The cache may outlive the packages (another machine image): install what is missing.
    const { code, output } = await runBuildScript(join(scripts, 'testbed-node-packages.sh'), [], 'testbed:', log);
    if (code === 0) return have;
    throw new TestbedError(TestbedErrorCodes.ToolMissing, `real nodes need Debian packages that could not be installed:\n${output.slice(-20).join('\n')}`);
  }
  const dir = nodeCacheDir();
  const started = Date.now();
  log(`testbed: node binaries not cached in ${dir}; building them (only once per machine)`);
  const { code, output } = await runBuildScript(join(scripts, 'testbed-node-build.sh'), [dir, K8S_VERSION], 'testbed:', log);
  if (code !== 0) {
    throw new TestbedError(code === 5 ? TestbedErrorCodes.ToolMissing : TestbedErrorCodes.BuildFailed,
      `building the test-bed node binaries failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}`);
  }
  log(`testbed: built node binaries in ${Math.round((Date.now() - started) / 1000)} s`);
  const built = cachedNodeBinaries();
  if (!built) throw new TestbedError(TestbedErrorCodes.BuildFailed, `the node build finished but files are missing from ${dir}`);
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
