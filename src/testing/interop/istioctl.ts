/**
 * Istio's own programs (istioctl for the interop tests, pilot-discovery and pilot-agent as peers), built
 * once per machine from the `istio.io/istio` Go module by scripts/istio-build.sh into the test bed's
 * cache root. Go builds only these third-party test binaries.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestbedErrorCodes, TestbedError } from '../testbed/errors.ts';
import { cacheRoot, runBuildScript } from '../testbed/binaries.ts';

/**
 * Pinned istio.io/istio module version. Release tags (e.g. 1.29.0) are not semver, so the module
 * proxy serves istio only by pseudo-version, and the one reachable here refuses tags and branches;
 * this is the main branch at 2026-08-27 (VERSION file 1.31, i.e. 1.31-dev).
 */
export const ISTIO_MODULE_VERSION = 'v0.0.0-20260827124520-eed52ebb66ad';

/** Istio's programs that the tests run as peers and judges, all from the one pinned module version. */
export type IstioProgram = 'istioctl' | 'pilot-discovery' | 'pilot-agent';

export function istioctlPath(): string {
  return join(cacheRoot(), `istioctl-${ISTIO_MODULE_VERSION}`, 'istioctl');
}

/**
 * Where a program is cached: istioctl in `istioctl-<version>/` (where it has always been), istiod's
 * pilot-discovery and pilot-agent (with its Envoy bootstrap template) in `istio-<version>/`.
 */
export function istioProgramPath(program: IstioProgram): string {
  return program === 'istioctl' ? istioctlPath() : join(cacheRoot(), `istio-${ISTIO_MODULE_VERSION}`, program);
}

/** pilot-agent's Envoy bootstrap template, taken from the module beside the pilot-agent it built. */
export function pilotAgentBootstrapTemplate(): string {
  return join(istioProgramPath('pilot-agent'), '..', 'envoy_bootstrap_tmpl.json');
}

/** Returns the path of istioctl, building it when it is not cached (minutes; output to `log`). */
export async function ensureIstioctl(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<string> {
  return ensureIstioProgram('istioctl', log);
}

/** Returns the path of one of Istio's programs, building it from the Go module when it is not cached. */
export async function ensureIstioProgram(program: IstioProgram, log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<string> {
  const bin = istioProgramPath(program);
  if (existsSync(bin)) return bin;
  try {
    await promisify(execFile)('go', ['version']);
  } catch {
    throw new TestbedError(TestbedErrorCodes.ToolMissing,
      `the tests build ${program} with Go, and no \`go\` was found on PATH. Install Go >= 1.26 or put a ${program} binary at ${bin}`);
  }
  const script = fileURLToPath(new URL('../../../scripts/istio-build.sh', import.meta.url));
  log(`istio: ${program} not cached at ${bin}; building it (only once per machine)`);
  const { code, output } = await runBuildScript(script, [join(bin, '..'), ISTIO_MODULE_VERSION, program], 'istio:', log);
  if (code !== 0 || !existsSync(bin)) {
    throw new TestbedError(TestbedErrorCodes.BuildFailed,
      `building ${program} failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}\n` +
      'Fix the cause above and run again; set ISTIO_MODULE_VERSION in src/testing/interop/istioctl.ts to try another version.');
  }
  return bin;
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs istioctl with `env` added to (keys set to undefined: removed from) the environment. */
export async function runIstioctl(bin: string, args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 60_000): Promise<ToolResult> {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) merged[k] = v;
  const child = spawn(bin, args, { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stdout += b.toString('utf8'); });
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString('utf8'); });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => { resolve(c); });
    child.on('error', () => { resolve(127); });
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}
