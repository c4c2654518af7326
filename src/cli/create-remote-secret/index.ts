/**
 * `isthmus create-remote-secret`: prepare a remote cluster for access by the control plane and
 * print the Secret to apply on the primary (`... | kubectl apply -f -`). Progress and warnings go
 * to standard error so standard output stays valid YAML.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { KubeClient } from '../../kube/client.ts';
import { createRemoteSecret } from '../../operator/remote-secret.ts';
import { isLoopbackServer, type RemoteSecretType } from '../../operator/remote-secret-render.ts';
import { parseDuration } from '../../model/duration.ts';
import { lineLogger } from '../../observability/log.ts';

interface Flags {
  context?: string;
  kubeconfig?: string;
  name?: string;
  type: RemoteSecretType;
  server?: string;
  tlsServerName?: string;
  serviceAccount?: string;
  namespace?: string;
  createServiceAccount: string;
  secretName?: string;
  timeout: string;
}

const err = (line: string) => { process.stderr.write(`${line}\n`); };

function parseBool(flag: string, v: string): boolean {
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new IsthmusError(ErrorCodes.Usage, `${flag} must be true or false, got ${JSON.stringify(v)}`);
}

export async function runCreateRemoteSecret(f: Flags): Promise<void> {
  const client = KubeClient.load({ kubeconfig: f.kubeconfig, context: f.context });
  const result = await createRemoteSecret({
    client,
    type: f.type,
    name: f.name,
    namespace: f.namespace,
    serviceAccount: f.serviceAccount,
    createServiceAccount: parseBool('--create-service-account', f.createServiceAccount),
    server: f.server,
    tlsServerName: f.tlsServerName,
    secretName: f.secretName,
    tokenTimeoutMs: parseDuration(f.timeout, '--timeout'),
    log: lineLogger((l) => { err(l); }),
  });
  if (isLoopbackServer(result.server)) {
    err(`warning: the server address ${result.server} is a loopback address; a control plane in another cluster or machine cannot reach it. Pass --server with an address the control plane can reach.`);
  }
  process.stdout.write(result.yaml);
}

export function register(program: Command): void {
  program
    .command('create-remote-secret')
    .description('create the reader service account and token in a remote cluster and print the Secret that gives the control plane access to it')
    .option('--context <name>', 'kubeconfig context of the REMOTE cluster')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--name <cluster>', 'cluster ID (must equal the remote proxies\' CLUSTER_ID; default: the UID of kube-system)')
    .addOption(new Option('--type <type>', 'remote: access for a control plane; config: the config-cluster kubeconfig').choices(['remote', 'config']).default('remote'))
    .option('--server <url>', 'API server address to write into the kubeconfig (default: the one of the context)')
    .option('--tls-server-name <name>', 'TLS server name to verify the API server\'s certificate against')
    .option('--service-account <name>', 'service account (default: istio-reader-service-account, or istiod for --type config)')
    .option('-n, --namespace <ns>', 'namespace of the service account and the Secret (default: the context\'s, else istio-system)')
    .option('--create-service-account <bool>', 'create the service account and its RBAC if missing', 'true')
    .option('--secret-name <name>', 'use this existing service-account token Secret')
    .option('--timeout <duration>', 'how long to wait for the token to be populated', '10s')
    .action(async (opts: Flags) => { await runCreateRemoteSecret(opts); });
}
