/**
 * Process entry: the CLI verbs plus the server verbs. The CLI (src/cli) never imports bootstrap;
 * this file is where the two meet.
 */
import { discoveryCommand } from './bootstrap/command.ts';
import { xdsProxyCommand } from './aggregator/command.ts';
import { main as cliMain } from './cli/main.ts';
import { agentCommand } from './dataplane/command.ts';

export async function main(argv: readonly string[]): Promise<number> {
  return cliMain(argv, [discoveryCommand(), xdsProxyCommand(), agentCommand()]);
}
