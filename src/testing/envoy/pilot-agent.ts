/**
 * Istio's real pilot-agent for tests that run Istio's data plane against Isthmus, built once per
 * machine by scripts/pilot-agent-build.sh from the istio.io/istio module at istioctl's pinned
 * version (Go builds only this third-party test binary). Istio's Envoy bootstrap template is copied
 * from the module beside it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { ISTIO_MODULE_VERSION } from '../interop/istioctl.ts';
import { cacheRoot, runBuildScript } from '../testbed/binaries.ts';

export function pilotAgentDir(): string {
  return join(cacheRoot(), `pilot-agent-${ISTIO_MODULE_VERSION}`);
}

/** Returns `{ bin, bootstrapTemplate }`, building pilot-agent when it is not cached. */
export async function ensurePilotAgent(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<{ bin: string; bootstrapTemplate: string }> {
  const dir = pilotAgentDir();
  const out = { bin: join(dir, 'pilot-agent'), bootstrapTemplate: join(dir, 'envoy_bootstrap.json') };
  if (existsSync(out.bin) && existsSync(out.bootstrapTemplate)) return out;
  const script = fileURLToPath(new URL('../../../scripts/pilot-agent-build.sh', import.meta.url));
  log(`pilot-agent: not cached in ${dir}; building it (only once per machine)`);
  const { code, output } = await runBuildScript(script, [dir, ISTIO_MODULE_VERSION], 'pilot-agent:', log);
  if (code !== 0 || !existsSync(out.bin)) {
    throw new IsthmusError(code === 3 ? ErrorCodes.ToolMissing : ErrorCodes.BuildFailed,
      `building pilot-agent failed (exit ${code}). Last output:\n${output.slice(-30).join('\n')}`);
  }
  return out;
}
