/**
 * The `isthmus` command tree. Each verb lives in its own folder under src/cli and registers itself
 * here; verbs that are not built yet are not listed (no stubs).
 */
import type { Command } from '@commander-js/extra-typings';
import { rootProgram, runProgram } from './program.ts';
import { register as registerInstall } from './install/index.ts';
import { register as registerManifest } from './manifest/index.ts';
import { register as registerGenEastWest } from './gen-eastwest-gateway/index.ts';
import { register as registerCreateRemoteSecret } from './create-remote-secret/index.ts';
import { register as registerRemoteClusters } from './remote-clusters/index.ts';
import { register as registerProxyStatus } from './proxy-status/index.ts';
import { register as registerCheck } from './check/index.ts';

export function buildProgram(extra: readonly Command[] = []): Command {
  const program = rootProgram();
  registerInstall(program);
  registerManifest(program);
  registerGenEastWest(program);
  registerCreateRemoteSecret(program);
  registerRemoteClusters(program);
  registerProxyStatus(program);
  registerCheck(program);
  for (const cmd of extra) program.addCommand(cmd);

  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: readonly string[], extra: readonly Command[] = []): Promise<number> {
  return runProgram(buildProgram(extra), argv);
}
