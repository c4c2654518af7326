/**
 * `isthmus agent router`: the east-west gateway data plane in a gateway pod, configured from the
 * environment the install renders (POD_NAME, POD_NAMESPACE, INSTANCE_IP, ISTIO_META_CLUSTER_ID,
 * ISTIO_META_REQUESTED_NETWORK_VIEW / ISTIO_META_NETWORK, PROXY_CONFIG.discoveryAddress).
 */
import { Command } from 'commander';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { untilSignal } from '../cli/signals.ts';
import { runEastWestGateway } from './run-gateway.ts';

interface RouterFlags { xdsAddress?: string; listen?: string; plaintext?: true }

function discoveryAddress(env: NodeJS.ProcessEnv): string {
  try {
    const pc = JSON.parse(env['PROXY_CONFIG'] ?? '{}') as { discoveryAddress?: string };
    return pc.discoveryAddress ?? 'istiod.istio-system.svc:15012';
  } catch {
    return 'istiod.istio-system.svc:15012';
  }
}

export function agentCommand(): Command {
  const agent = new Command('agent').description('data-plane agent of a workload or gateway pod');
  agent.command('router')
    .description('run the east-west gateway: SNI passthrough on 15443 to the endpoints of its own network')
    .option('--xds-address <host:port>', 'control plane xDS address (default: PROXY_CONFIG.discoveryAddress)')
    .option('--listen <ip:port>', 'listen address (default: $INSTANCE_IP:15443)')
    .option('--plaintext', 'plaintext xDS (the control plane\'s 15010 port)')
    .action(async (flags: RouterFlags) => {
      const env = process.env;
      if (flags.plaintext !== true) {
        throw new IsthmusError(ErrorCodes.Usage, 'the agent cannot yet authenticate to the control plane\'s TLS port (15012) with a pod token; run it with --plaintext and a 15010 address');
      }
      const network = env['ISTIO_META_REQUESTED_NETWORK_VIEW'] || env['ISTIO_META_NETWORK'] || '';
      if (network === '') throw new IsthmusError(ErrorCodes.Usage, 'ISTIO_META_REQUESTED_NETWORK_VIEW or ISTIO_META_NETWORK must name the gateway\'s network');
      const gw = await runEastWestGateway({
        xdsAddress: flags.xdsAddress ?? discoveryAddress(env),
        listen: flags.listen ?? `${env['INSTANCE_IP'] ?? '0.0.0.0'}:15443`,
        pod: env['POD_NAME'] ?? 'istio-eastwestgateway', namespace: env['POD_NAMESPACE'] ?? 'istio-system',
        cluster: env['ISTIO_META_CLUSTER_ID'] ?? 'Kubernetes', network,
        log: (e) => { process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), ...e })}\n`); },
      });
      await untilSignal();
      await gw.close();
    });
  return agent;
}
