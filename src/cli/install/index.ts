/**
 * `isthmus install`: render an IstioOperator and apply it with server-side apply, pruning what a
 * previous install of the same IstioOperator rendered and this one does not; then wait for what
 * can become ready.
 */
import { createInterface } from 'node:readline/promises';
import type { Command } from '@commander-js/extra-typings';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { KubeClient } from '../../kube/client.ts';
import { applyAll, summarize } from '../../operator/apply.ts';
import { checkReachable } from '../../operator/kube-errors.ts';
import { clusterFromInjector, namesCluster } from '../../operator/gateway-cluster.ts';
import { loadIstioOperator, type IopInput, type Json } from '../../operator/iop.ts';
import { planInstall } from '../../operator/manifest.ts';
import { waitReady } from '../../operator/wait.ts';
import { parseDuration } from '../../model/duration.ts';
import { collect, readInputs } from './inputs.ts';
import { lineLogger } from '../../observability/log.ts';

interface InstallFlags {
  filename: string[];
  set: string[];
  context?: string;
  kubeconfig?: string;
  yes: boolean;
  dryRun: boolean;
  wait: boolean;
  readinessTimeout: string;
}

const out = (line: string) => { process.stdout.write(`${line}\n`); };

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} (y/N) `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Gateways rendered without a cluster name take the one the cluster's injector knows (see
 * operator/gateway-cluster.ts): returns the `--set` to add, or none.
 */
async function gatewayClusterSet(client: KubeClient, inputs: readonly IopInput[], sets: readonly string[]): Promise<string[]> {
  const plan = planInstall(inputs, sets);
  if (plan.effective.gateways.length === 0 || namesCluster(loadIstioOperator(inputs, sets).spec)) return [];
  const e = plan.effective;
  const name = e.revision === '' ? 'istio-sidecar-injector' : `istio-sidecar-injector-${e.revision}`;
  const found = clusterFromInjector(
    await client.getOptional<Json>(`/api/v1/namespaces/${e.namespace}/configmaps/${name}`),
    await client.getOptional<Json>(`/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`),
    { configMap: `${e.namespace}/${name}`, webhook: name },
  );
  if (found === undefined) {
    out(`gateways: no cluster name in the IstioOperator nor in ${e.namespace}/${name}; their ISTIO_META_CLUSTER_ID stays "${e.clusterName}" (set values.global.multiCluster.clusterName)`);
    return [];
  }
  out(`gateways: cluster name ${found.clusterName} (from ${found.from}), as the injector would give them`);
  return [`values.global.multiCluster.clusterName=${found.clusterName}`];
}

export async function runInstall(f: InstallFlags): Promise<void> {
  const inputs = await readInputs(f.filename);
  planInstall(inputs, f.set); // invalid input fails here, before any cluster is contacted
  const client = KubeClient.load({ kubeconfig: f.kubeconfig, context: f.context });
  // An unreachable cluster is reported by checkReachable below, with its own message.
  const sets = [...await gatewayClusterSet(client, inputs, f.set).catch((): string[] => []), ...f.set];
  const plan = planInstall(inputs, sets);
  const e = plan.effective;
  const objects = plan.rendered.map((r) => r.object);
  const timeoutMs = parseDuration(f.readinessTimeout, '--readiness-timeout');
  if (!f.yes && !f.dryRun) {
    const reading = f.filename.includes('-');
    if (reading || !process.stdin.isTTY) throw new IsthmusError(ErrorCodes.Usage, 'refusing to install without confirmation: pass -y (standard input is not an interactive terminal)');
    if (!await confirm(`This will install the "${e.profile}" profile (IstioOperator ${e.name}) into the cluster of context ${client.contextName}. Proceed?`)) {
      out('cancelled; nothing was applied');
      return;
    }
  }
  const version = await checkReachable(client);
  out(`installing IstioOperator ${e.name} (profile ${e.profile}${e.revision === '' ? '' : `, revision ${e.revision}`}) into context ${client.contextName} at ${client.server} (Kubernetes ${version})${f.dryRun ? ' [server-side dry run]' : ''}`);
  const result = await applyAll(objects, { client, owner: { name: e.name, namespace: e.namespace }, dryRun: f.dryRun, log: lineLogger((l) => { out(`  ${l}`); }) });
  out(`${summarize(result.changes)}${f.dryRun ? ' (dry run: nothing was changed)' : ''}`);
  if (f.dryRun) return;
  const states = await waitReady(client, objects, { timeoutMs, deployments: f.wait });
  const notReady = states.filter((s) => !s.ready);
  for (const s of states) out(`  ${s.ready ? 'ready' : 'NOT READY'} ${s.object}: ${s.reason}`);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  if (!f.wait && deployments.length > 0) {
    out(`not waiting for ${deployments.length} Deployment(s) (${deployments.map((d) => d.metadata.name).join(', ')}) to become ready; pass --wait to wait up to --readiness-timeout`);
  }
  if (notReady.length > 0) {
    throw new IsthmusError(ErrorCodes.WaitTimeout, `applied, but ${notReady.length} object(s) not ready after ${f.readinessTimeout}:\n${notReady.map((s) => `  ${s.object}: ${s.reason}`).join('\n')}`);
  }
  out('installation complete');
}

export function register(program: Command): void {
  program
    .command('install')
    .description('apply an IstioOperator to a cluster (server-side apply, field manager "isthmus"), prune what it no longer renders, wait for readiness')
    .option('-f, --filename <file>', 'IstioOperator file, or - for standard input (repeatable; later files win; none: the default profile)', collect, [])
    .option('-s, --set <path=value>', 'override a spec field, e.g. values.global.network=network1 (repeatable)', collect, [])
    .option('--context <name>', 'kubeconfig context to use')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('-y, --skip-confirmation', 'do not ask for confirmation', false)
    .option('--dry-run', 'server-side dry run: validate everything, change nothing', false)
    .option('--wait', 'also wait for Deployments to become ready (needs nodes running the pods)', false)
    .option('--readiness-timeout <duration>', 'how long to wait for readiness', '300s')
    .action(async (opts: Omit<InstallFlags, 'yes'> & { skipConfirmation: boolean }) => {
      await runInstall({ ...opts, yes: opts.skipConfirmation });
    });
}
