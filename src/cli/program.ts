/**
 * The `isthmus` root command without its verbs, and the way every command line runs: src/cli/main.ts
 * adds the CLI verbs to it; src/main.ts runs a server verb (`isthmus discovery`) on it alone, so a
 * control plane does not load the CLI's modules at start.
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { VERSION } from '../version.ts';
import { errorMessage, isIsthmusError } from '../model/errors.ts';

/** The root command with `--version` and the `version` verb. */
export function rootProgram(): Command {
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
  return program;
}

/** Runs `argv` on `program` and returns the process exit code. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`error: ${isIsthmusError(err) ? `[${err.code}] ` : ''}${errorMessage(err)}\n`);
    return 1;
  }
}
