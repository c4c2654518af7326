/**
 * `isthmus agent router`: the east-west gateway data plane in a gateway pod, configured from the
 * environment the install renders (POD_NAME, POD_NAMESPACE, INSTANCE_IP, ISTIO_META_CLUSTER_ID,
 * ISTIO_META_REQUESTED_NETWORK_VIEW / ISTIO_META_NETWORK, PROXY_CONFIG.discoveryAddress).
 */
import { Command } from '@commander-js/extra-typings';
import { readFileSync } from 'node:fs';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import type { XdsSecurity } from './xds-client.ts';
import { untilSignal } from '../process/signals.ts';
import { runEastWestGateway } from './run-gateway.ts';

interface RouterFlags { xdsAddress?: string; listen?: string; plaintext?: true; rootCert: string; tokenFile: string; xdsServerName: string }

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
    .option('--plaintext', 'plaintext xDS (the control plane\'s 15010 port), no token')
    .option('--root-cert <file>', 'root certificate of the control plane (the istio-ca-root-cert ConfigMap, mounted)', '/var/run/secrets/istio/root-cert.pem')
    .option('--token-file <file>', 'projected service-account token with audience istio-ca', '/var/run/secrets/tokens/istio-token')
    .option('--xds-server-name <name>', 'name expected in the control plane\'s certificate', 'istiod.istio-system.svc')
    .action(async (flags: RouterFlags) => {
      const env = process.env;
      const cluster = env['ISTIO_META_CLUSTER_ID'] ?? 'Kubernetes';
      let security: XdsSecurity | undefined;
      if (flags.plaintext !== true) {
        let rootCertPem: string;
        try {
          rootCertPem = readFileSync(flags.rootCert, 'utf8');
          readFileSync(flags.tokenFile, 'utf8');
        } catch (err) {
          throw new IsthmusError(ErrorCodes.Usage, `the TLS connection to the control plane needs --root-cert and --token-file (or --plaintext): ${errorMessage(err)}`);
        }
        security = { rootCertPem, serverName: flags.xdsServerName, clusterId: cluster, token: () => readFileSync(flags.tokenFile, 'utf8') };
      }
      const network = env['ISTIO_META_REQUESTED_NETWORK_VIEW'] || env['ISTIO_META_NETWORK'] || '';
      if (network === '') throw new IsthmusError(ErrorCodes.Usage, 'ISTIO_META_REQUESTED_NETWORK_VIEW or ISTIO_META_NETWORK must name the gateway\'s network');
      const gw = await runEastWestGateway({
        xdsAddress: flags.xdsAddress ?? discoveryAddress(env),
        listen: flags.listen ?? `${env['INSTANCE_IP'] ?? '0.0.0.0'}:15443`,
        pod: env['POD_NAME'] ?? 'istio-eastwestgateway', namespace: env['POD_NAMESPACE'] ?? 'istio-system',
        cluster, network, ...(security ? { security } : {}),
        log: (e) => { process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), ...e })}\n`); },
      });
      await untilSignal();
      await gw.close();
    });
  return agent;
}
