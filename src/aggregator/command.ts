/**
 * `isthmus xds-proxy`: the aggregating xDS proxy (istioctl-proxy's role, docs/istio-compat.md §16) on port 9090.
 * Added to the CLI by src/main.ts, next to `discovery`.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { KubeClient } from '../kube/client.ts';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { parseLogLevel, streamLogger } from '../observability/log.ts';
import { VERSION } from '../version.ts';
import { parseDuration } from '../model/duration.ts';
import { untilSignal } from '../process/signals.ts';
import { kubeReplicas, staticReplicas } from './replicas.ts';
import { XdsProxy } from './server.ts';
import { loadServingCert, selfSignedCert } from './tls.ts';

interface XdsProxyFlags {
  port: string;
  address: string;
  cert?: string;
  key?: string;
  kubeconfig?: string;
  context?: string;
  istioNamespace?: string;
  selector: string;
  xdsPort: string;
  replica: readonly string[];
  plaintextUpstream?: boolean;
  attributeReplicas?: boolean;
  replicaTimeout: string;
  maxConcurrent: string;
  maxStreams: string;
  maxResponseBytes: string;
  logLevel?: string;
}

function positiveInt(v: string, flag: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new IsthmusError(ErrorCodes.Usage, `${flag} ${JSON.stringify(v)}: want an integer >= ${min}`);
  return n;
}

export function xdsProxyCommand(): Command {
  return new Command('xds-proxy')
    .description('run the aggregating xDS proxy: answers istioctl\'s debug requests (syncz, config_dump, connections) for the whole control plane')
    .option('--port <port>', 'gRPC (TLS) port', '9090')
    .option('--address <host>', 'listen host', '0.0.0.0')
    .option('--cert <file>', 'serving certificate (PEM); default: a self-signed one made at start')
    .option('--key <file>', 'serving key (PEM)')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster the control plane runs in (default: $KUBECONFIG, ~/.kube/config, in-cluster)')
    .option('--context <name>', 'kubeconfig context')
    .option('--istio-namespace <ns>', 'namespace of the control plane pods (env POD_NAMESPACE, default istio-system)')
    .option('--selector <labels>', 'control plane pod selector', 'app=istiod')
    .option('--xds-port <port>', 'control plane pod xDS port', '15012')
    .addOption(new Option('--replica <[name=]host:port>', 'a replica to ask instead of listing pods (repeatable)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]).default([]))
    .option('--plaintext-upstream', 'dial replicas without TLS (plaintext xDS ports such as 15010)')
    .option('--attribute-replicas', 'keep each proxy\'s replica instead of reporting the control plane as <external>')
    .option('--replica-timeout <duration>', 'how long to wait for each replica', '5s')
    .option('--max-concurrent <n>', 'requests fanned out at once', '16')
    .option('--max-streams <n>', 'caller streams open at once', '1000')
    .option('--max-response-bytes <n>', 'largest replica answer and merged answer', String(64 * 1024 * 1024))
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (flags: XdsProxyFlags) => {
      const log = streamLogger('xds-proxy', parseLogLevel(flags.logLevel));
      if ((flags.cert === undefined) !== (flags.key === undefined)) throw new IsthmusError(ErrorCodes.Usage, '--cert and --key go together');
      const namespace = flags.istioNamespace ?? (process.env['POD_NAMESPACE'] || 'istio-system');
      const xdsPort = positiveInt(flags.xdsPort, '--xds-port');
      const useKube = flags.replica.length === 0;
      const replicas = useKube
        ? kubeReplicas({ client: KubeClient.load({ kubeconfig: flags.kubeconfig, context: flags.context }), namespace, selector: flags.selector, port: xdsPort })
        : staticReplicas(flags.replica);
      const cert = flags.cert !== undefined && flags.key !== undefined
        ? loadServingCert(flags.cert, flags.key)
        : await selfSignedCert(['xds-proxy', `xds-proxy.${namespace}.svc`, 'localhost'], ['127.0.0.1', '::1']);
      const proxy = await XdsProxy.start({
        address: `${flags.address}:${positiveInt(flags.port, '--port', 0)}`,
        cert, replicas,
        describeSource: useKube ? `${JSON.stringify(namespace)} (selector ${flags.selector})` : `the --replica list`,
        plaintextUpstream: flags.plaintextUpstream === true,
        upstreamServerName: `istiod.${namespace}.svc`,
        replicaTimeoutMs: parseDuration(flags.replicaTimeout, '--replica-timeout'),
        attributeReplicas: flags.attributeReplicas === true,
        limits: {
          maxConcurrentRequests: positiveInt(flags.maxConcurrent, '--max-concurrent'),
          maxStreams: positiveInt(flags.maxStreams, '--max-streams'),
          maxResponseBytes: positiveInt(flags.maxResponseBytes, '--max-response-bytes'),
        },
        log, version: VERSION,
      });
      log.info('listening', {
        address: `${flags.address}:${proxy.port}`, tls: cert.selfSigned ? 'self-signed' : 'from --cert/--key',
        replicas: useKube ? `pods ${flags.selector} in ${namespace}, port ${xdsPort}` : flags.replica.join(','),
        upstream: flags.plaintextUpstream === true ? 'plaintext' : 'TLS (not verified)',
      });
      process.stdout.write(`xds-proxy listening on ${flags.address}:${proxy.port}\n`);
      const sig = await untilSignal();
      log.info('shutting down', { signal: sig });
      await proxy.close();
    });
}
