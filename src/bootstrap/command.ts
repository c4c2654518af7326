/** The server verbs (`isthmus discovery`), added to the CLI by src/main.ts. */
import { Command } from '@commander-js/extra-typings';
import { describeFeatures, loadFeatures } from '../config/features.ts';
import { parseDuration } from '../model/duration.ts';
import { parseLogLevel, streamLogger } from '../observability/log.ts';
import { VERSION } from '../version.ts';
import { untilSignal } from '../process/signals.ts';
import { Discovery, defaultPodName } from './discovery.ts';
import { defaultGenerators } from './generators.ts';
import type { GeneratorLookup } from '../xds/server/types.ts';

interface DiscoveryFlags {
  kubeconfig?: string;
  context?: string;
  clusterId?: string;
  systemNamespace?: string;
  grpcAddr: string;
  secureGRPCAddr: string;
  httpAddr?: string;
  debugAddr?: string;
  monitoringAddr: string;
  httpsAddr: string;
  meshConfig?: string;
  networksConfig?: string;
  logLevel?: string;
  leaderLeaseDuration: string;
  shutdownTimeout: string;
}

/** `generators` is replaceable so tests can run the real process with a deliberate fault. */
export function discoveryCommand(generators: GeneratorLookup = defaultGenerators()): Command {
  return new Command('discovery')
    .description('run the control plane (istiod\'s pilot-discovery): registries of every cluster, xDS, debug endpoints')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster the control plane runs in (default: $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--cluster-id <id>', 'this cluster\'s id (env CLUSTER_ID, default Kubernetes)')
    .option('--system-namespace <ns>', 'system namespace (env POD_NAMESPACE, default istio-system)')
    .option('--grpcAddr <addr>', 'plaintext xDS address; loopback by default because it is unauthenticated', 'localhost:15010')
    .option('--secureGRPCAddr <addr>', 'TLS xDS and CA address (callers authenticate)', ':15012')
    .option('--httpAddr <addr>', 'debug and readiness HTTP address (default :8080)')
    .option('--debug-addr <addr>', 'alias of --httpAddr')
    .option('--monitoringAddr <addr>', 'metrics address', ':15014')
    .option('--httpsAddr <addr>', 'HTTPS address of the sidecar injection webhook (/inject); empty to turn it off', ':15017')
    .option('--meshConfig <file>', 'mesh config YAML (trustDomain, ...)')
    .option('--networksConfig <file>', 'meshNetworks YAML')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--leader-lease-duration <duration>', 'lease of the namespace-controller election lock (istiod: 30s)', '30s')
    .option('--shutdown-timeout <duration>', 'after SIGTERM, exit within this time even when API servers do not answer', '5s')
    .addHelpText('after', `\nEnvironment:\n${describeFeatures()}\n`)
    .action(async (flags: DiscoveryFlags) => {
      const features = loadFeatures(process.env);
      const log = streamLogger('discovery', parseLogLevel(flags.logLevel));
      const d = new Discovery({
        kubeconfig: flags.kubeconfig, context: flags.context, features,
        clusterId: flags.clusterId ?? features.clusterId,
        systemNamespace: flags.systemNamespace ?? features.podNamespace,
        podName: features.podName || defaultPodName(),
        grpcAddr: flags.grpcAddr, secureGRPCAddr: flags.secureGRPCAddr, httpAddr: flags.httpAddr ?? flags.debugAddr ?? ':8080', monitoringAddr: flags.monitoringAddr, httpsAddr: flags.httpsAddr,
        meshConfigFile: flags.meshConfig, networksConfigFile: flags.networksConfig,
        generators, version: VERSION, leaderLeaseMs: parseDuration(flags.leaderLeaseDuration, '--leader-lease-duration'),
      }, log);
      const shutdownMs = parseDuration(flags.shutdownTimeout, '--shutdown-timeout');
      await d.start();
      const sig = await untilSignal();
      const t0 = Date.now();
      log.info('shutting down', { signal: sig, budgetMs: shutdownMs });
      void untilSignal().then((again) => { log.warn('second signal: exiting at once', { signal: again }); process.exit(1); });
      const late = await d.stop(shutdownMs);
      log.info('stopped', { ms: Date.now() - t0, abandoned: late.length });
      // Abandoned calls (and idle keep-alive sockets) could keep the event loop alive: leave now
      // if anything was abandoned, else give the loop a moment to empty by itself.
      if (late.length > 0) process.exit(0);
      setTimeout(() => { process.exit(0); }, 1_000).unref();
    });
}
