/**
 * `isthmus check`: reads every cluster it is given (concurrently) and, when given, the control
 * plane's debug endpoints, then reports the multi-cluster mistakes users make: each finding with its
 * severity, what is wrong, where (cluster, namespace, object, field), why it matters and the command
 * that fixes it. Exits non-zero (ISTHMUS_CHECK_FAILED) when an error-severity finding exists.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import { KubeClient } from '../../kube/client.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import { parseDuration } from '../../model/duration.ts';
import { gatherDebug, isLoopbackAddress } from './debug.ts';
import { formatJson, formatTable, counts } from './format.ts';
import { gatherCluster } from './gather.ts';
import { runRules } from './rules.ts';
import { isPrimary } from './topology.ts';
import type { ClusterFacts, DebugFacts, Finding, MeshFacts } from './types.ts';

export interface CheckOptions {
  readonly contexts: readonly string[];
  readonly kubeconfig?: string | undefined;
  readonly debugAddr?: string | undefined;
  readonly systemNamespace: string;
  readonly timeoutMs: number;
}

export interface CheckResult {
  readonly facts: MeshFacts;
  readonly findings: readonly Finding[];
  readonly clusters: readonly string[];
  readonly durationMs: number;
}

async function debugToken(primary: ClusterFacts | undefined, clients: ReadonlyMap<string, KubeClient>, ns: string): Promise<string | undefined> {
  const client = primary ? clients.get(primary.context) : undefined;
  if (!client) return undefined;
  try {
    const r = await client.request<{ status?: { token?: string } }>('POST', `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['istio-ca'], expirationSeconds: 600 },
    });
    return r.status?.token;
  } catch {
    return undefined;
  }
}

/** Gathers everything and runs the rules. Only a bad kubeconfig or context throws. */
export async function runCheck(o: CheckOptions): Promise<CheckResult> {
  const started = performance.now();
  const clients = new Map<string, KubeClient>();
  const contexts = o.contexts.length > 0 ? [...new Set(o.contexts)] : [KubeClient.load({ kubeconfig: o.kubeconfig }).contextName];
  for (const ctx of contexts) clients.set(ctx, KubeClient.load({ kubeconfig: o.kubeconfig, context: ctx }, { timeoutMs: o.timeoutMs }));
  const gatherOpts = { systemNamespace: o.systemNamespace, probeTimeoutMs: o.timeoutMs };
  const debugOpts = (token?: string) => ({ address: o.debugAddr ?? '', timeoutMs: o.timeoutMs, staleRecheckMs: 750, ...(token === undefined ? {} : { token }) });
  const clustersP = Promise.all(contexts.map((ctx) => gatherCluster(ctx, clients.get(ctx) as KubeClient, gatherOpts)));
  let debug: DebugFacts | undefined;
  let clusters: ClusterFacts[];
  if (o.debugAddr === undefined) {
    clusters = await clustersP;
  } else if (isLoopbackAddress(o.debugAddr)) {
    [clusters, debug] = await Promise.all([clustersP, gatherDebug(debugOpts())]);
  } else {
    clusters = await clustersP;
    debug = await gatherDebug(debugOpts(await debugToken(clusters.find(isPrimary), clients, o.systemNamespace)));
  }
  const facts: MeshFacts = { clusters, now: Math.floor(Date.now() / 1000), ...(debug ? { debug } : {}) };
  return { facts, findings: runRules(facts), clusters: contexts, durationMs: performance.now() - started };
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function register(program: Command): void {
  program
    .command('check')
    .description('find multi-cluster mistakes (cluster ids, remote secrets, gateways, labels, roots of trust, webhooks, mTLS, sync) in the given clusters')
    .option('--context <name>', 'kubeconfig context of a cluster to check (repeat for each cluster; default: the current context)', collect, [])
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--debug-addr <host:port>', 'the control plane\'s debug address (8080), for proxy and remote-cluster status; loopback, or a token of the system namespace is minted in the primary')
    .option('--istio-namespace <ns>', 'the system namespace', 'istio-system')
    .option('--timeout <duration>', 'timeout of each API or debug call', '4s')
    .addOption(new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table'))
    .action(async (opts: { context: string[]; kubeconfig?: string; debugAddr?: string; istioNamespace: string; timeout: string; output: string }) => {
      let r: CheckResult;
      try {
        r = await runCheck({ contexts: opts.context, kubeconfig: opts.kubeconfig, debugAddr: opts.debugAddr, systemNamespace: opts.istioNamespace, timeoutMs: parseDuration(opts.timeout, '--timeout') });
      } catch (err) {
        if (err instanceof IsthmusError) throw err;
        throw new IsthmusError(ErrorCodes.Usage, `check: ${errorMessage(err)}`, { cause: err });
      }
      const report = { findings: r.findings, clusters: r.clusters, durationMs: r.durationMs, ...(opts.debugAddr === undefined ? {} : { controlPlane: opts.debugAddr }) };
      process.stdout.write(opts.output === 'json' ? formatJson(report) : formatTable(report));
      const c = counts(r.findings);
      if (c.errors > 0) throw new IsthmusError(ErrorCodes.CheckFailed, `check found ${c.errors} error(s) and ${c.warnings} warning(s)`);
    });
}
