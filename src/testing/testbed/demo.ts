/**
 * The main job: a guide on two local test-bed clusters with real nodes, printed as the commands a
 * user types and what they answer.
 *
 * `primary-remote` (default): guide 1 (src/testing/guides/multinetwork.ts), ending with calls from
 * sleep in each cluster answered by helloworld v1 (cluster1) and v2 (cluster2) through the east-west
 * gateways, and `isthmus proxy-status`.
 * `external`: guide 2 (src/testing/guides/external.ts), ending with calls in the remote cluster and
 * `proxy-status` through the aggregating proxy, as a user who cannot reach the control plane runs it.
 * Everything keeps running until `npm run testbed -- down`.
 */
import { join, resolve } from 'node:path';
import {
  callHelloworld, CLUSTER1, CLUSTER2, deploySamples, installMultiNetwork, summarize, untilBothVersions,
} from '../guides/multinetwork.ts';
import { CP_NAMESPACE, deployRemoteSamples, EXTERNAL, forwardXdsProxy, installExternal, PROXY_STATUS_ENV, REMOTE } from '../guides/external.ts';
import { mergeKubeconfigs, Shell } from '../guides/shell.ts';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { Testbed } from './testbed.ts';

export const DEMOS = ['primary-remote', 'external'] as const;

export async function demo(dirArg: string, name: string, log: (line: string) => void): Promise<void> {
  if (!(DEMOS as readonly string[]).includes(name)) {
    throw new IsthmusError(ErrorCodes.Usage, `unknown demo ${JSON.stringify(name)}; have: ${DEMOS.join(', ')}`);
  }
  const started = Date.now();
  if (name === 'external') await externalDemo(dirArg, started, log);
  else await primaryRemoteDemo(dirArg, started, log);
}

const out = (line: string) => { process.stdout.write(`${line}\n`); };

/** What both demos start from: their two clusters with a node each, one kubeconfig naming both, a Shell printing the transcript. */
interface DemoBed {
  readonly bed: Testbed;
  readonly dir: string;
  readonly kubeconfig: string;
  readonly sh: Shell;
}

async function upDemoBed(dirArg: string, clusters: readonly [string, string], roles: string, log: (line: string) => void): Promise<DemoBed> {
  const dir = resolve(dirArg);
  out(`# Starting two clusters with a node each: ${roles} (about a minute)`);
  const bed = await Testbed.up({ dir, clusters, nodes: true, log });
  const kubeconfig = join(dir, 'kubeconfig');
  mergeKubeconfigs(bed.clusters.map((c) => c.kubeconfigPath), kubeconfig);
  out(`$ export KUBECONFIG=${kubeconfig}`);
  return { bed, dir, kubeconfig, sh: new Shell({ kubeconfig, transcript: out }) };
}

/** The closing note: time taken, what runs where, what to try, how to stop. */
function printDone(started: number, dirArg: string, kubeconfig: string, where: readonly string[], tryLines: readonly string[]): void {
  out([
    '',
    `Done in ${((Date.now() - started) / 1000).toFixed(0)} s. What runs where:`,
    ...where,
    'Try:',
    `  export KUBECONFIG=${kubeconfig}`,
    ...tryLines,
    `Stop everything: npm run testbed -- down${dirArg === '.testbed' ? '' : ` --dir ${dirArg}`}`,
  ].join('\n'));
}

async function primaryRemoteDemo(dirArg: string, started: number, log: (line: string) => void): Promise<void> {
  const { bed, dir, kubeconfig, sh } = await upDemoBed(dirArg, [CLUSTER1, CLUSTER2], 'cluster1 on network1, cluster2 on network2', log);
  const mesh = await installMultiNetwork(bed, sh, dir);
  await deploySamples(sh, dir);
  out('# Verify: sleep in each cluster calls helloworld; v1 runs in cluster1, v2 in cluster2');
  for (const ctx of [CLUSTER1, CLUSTER2]) await untilBothVersions(sh, ctx, 180_000);
  for (const ctx of [CLUSTER1, CLUSTER2]) {
    const answers = await callHelloworld(sh, ctx, 10);
    for (const a of answers) out(`  ${a.status} Hello version: ${a.version}, instance: ${a.instance}`);
    out(`  # ${summarize(answers)}`);
  }
  out(await sh.run('isthmus', ['proxy-status', '--context', CLUSTER1]));

  const pods = await sh.run('kubectl', ['--context', CLUSTER1, 'get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].status.podIP}'], { quiet: true });
  const c1 = bed.cluster(CLUSTER1);
  const c2 = bed.cluster(CLUSTER2);
  printDone(started, dirArg, kubeconfig, [
    `  cluster1 (network1)  API server ${c1.server}, node ${c1.node?.net.nodeIp ?? '?'}; control plane pod ${pods.trim()};`,
    `                       east-west gateway ${mesh.gateways.cluster1} (15443 mTLS, 15012 xDS+CA, 15017 webhook)`,
    `  cluster2 (network2)  API server ${c2.server} (public ${c2.publicServer ?? '?'}), node ${c2.node?.net.nodeIp ?? '?'};`,
    `                       east-west gateway ${mesh.gateways.cluster2} (15443); control plane through ${mesh.discoveryAddress}`,
  ], [
    '  kubectl --context cluster2 exec -n sample deploy/sleep -c sleep -- curl -sS helloworld.sample:5000/hello',
    '  kubectl --context cluster1 logs -n istio-system deploy/istiod | tail',
    '  npm run isthmus -- proxy-status --context cluster1',
  ]);
}

async function externalDemo(dirArg: string, started: number, log: (line: string) => void): Promise<void> {
  const { bed, dir, kubeconfig, sh } = await upDemoBed(dirArg, [EXTERNAL, REMOTE], `${EXTERNAL} (the control plane) and ${REMOTE} (the workloads)`, log);
  const mesh = await installExternal(bed, sh, dir);
  await deployRemoteSamples(sh, dir);
  out('# Verify: sleep calls helloworld in the remote cluster');
  const answers = await callHelloworld(sh, REMOTE, 10);
  for (const a of answers) out(`  ${a.status} Hello version: ${a.version}, instance: ${a.instance}`);
  out(`  # ${summarize(answers)}`);
  out('# proxy-status for a user who cannot reach the control plane: through the aggregating proxy');
  const forward = await forwardXdsProxy(sh);
  try {
    out(await sh.run('isthmus', ['x', 'proxy-status', '--context', REMOTE], { env: PROXY_STATUS_ENV }));
  } finally {
    forward.kill('SIGTERM');
  }
  const replicas = await sh.run('kubectl', ['--context', EXTERNAL, 'get', 'pods', '-n', CP_NAMESPACE, '-l', 'app=istiod', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{"; "}{end}'], { quiet: true });
  const ext = bed.cluster(EXTERNAL);
  const rem = bed.cluster(REMOTE);
  printDone(started, dirArg, kubeconfig, [
    `  ${EXTERNAL}  API server ${ext.server}; control plane replicas ${replicas.trim()}`,
    `            reachable at ${mesh.controlPlaneAddress} (15012 xDS+CA, 15017 webhook); xds-proxy (9090) beside them`,
    `  ${REMOTE}    API server ${rem.server} (public ${rem.publicServer ?? '?'}): the config cluster, helloworld v1 and v2, sleep`,
  ], [
    `  kubectl --context ${EXTERNAL} port-forward -n ${CP_NAMESPACE} svc/xds-proxy 9090:9090 &`,
    `  ISTIOCTL_XDS_ADDRESS=localhost:9090 ISTIOCTL_ISTIONAMESPACE=${CP_NAMESPACE} ISTIOCTL_PREFER_EXPERIMENTAL=true istioctl --context ${REMOTE} proxy-status`,
    `  (or npm run isthmus -- x proxy-status --context ${REMOTE} with the same variables)`,
  ]);
}
