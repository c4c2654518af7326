/**
 * Process entry: the CLI verbs plus the server verbs. The CLI (src/cli) never imports bootstrap;
 * this file is where the two meet. Each verb's modules load only when it runs: a server verb given
 * first (`isthmus discovery ...`, the control-plane image's command) runs on the bare root command,
 * without the CLI's verbs and their modules, which would cost CPU at every start.
 */
import type { Command } from '@commander-js/extra-typings';

const SERVER_VERBS: Readonly<Record<string, () => Promise<Command>>> = {
  discovery: async () => (await import('./bootstrap/command.ts')).discoveryCommand(),
  'xds-proxy': async () => (await import('./aggregator/command.ts')).xdsProxyCommand(),
  agent: async () => (await import('./dataplane/command.ts')).agentCommand(),
};

export async function main(argv: readonly string[]): Promise<number> {
  const verb = argv[0] === undefined ? undefined : SERVER_VERBS[argv[0]];
  if (verb !== undefined) {
    const [{ rootProgram, runProgram }, command] = await Promise.all([import('./cli/program.ts'), verb()]);
    const program = rootProgram();
    program.addCommand(command);
    return runProgram(program, argv);
  }
  const [{ main: cliMain }, servers] = await Promise.all([import('./cli/main.ts'), Promise.all(Object.values(SERVER_VERBS).map((v) => v()))]);
  return cliMain(argv, servers);
}
