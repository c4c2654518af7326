/**
 * The `isthmus` command tree. Each verb lives in its own folder under src/cli and registers itself
 * here; verbs that are not built yet are not listed (no stubs).
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { VERSION } from '../version.ts';
import { errorMessage, isIsthmusError } from '../model/errors.ts';
import { register as registerInstall } from './install/index.ts';
import { register as registerManifest } from './manifest/index.ts';
import { register as registerGenEastWest } from './gen-eastwest-gateway/index.ts';
import { register as registerCreateRemoteSecret } from './create-remote-secret/index.ts';
import { register as registerRemoteClusters } from './remote-clusters/index.ts';
import { register as registerProxyStatus } from './proxy-status/index.ts';
import { register as registerCheck } from './check/index.ts';

export function buildProgram(extra: readonly Command[] = []): Command {
  const program = new Command('isthmus')
    .description('A multi-cluster service-mesh control plane that speaks Istio\'s and Envoy\'s protocols')
    .version(VERSION, '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program
    .command('version')
    .description('print the version of this isthmus binary')
    .option('-o, --output <format>', 'output format: short or json', 'short')
    .action((opts: { output: string }) => {
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ clientVersion: { version: VERSION } })}\n`);
      else process.stdout.write(`${VERSION}\n`);
    });

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
  const program = buildProgram(extra);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`error: ${isIsthmusError(err) ? `[${err.code}] ` : ''}${errorMessage(err)}\n`);
    return 1;
  }
}
