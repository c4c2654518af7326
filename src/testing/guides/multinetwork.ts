/**
 * Guide 1, "primary-remote on different networks", on two test-bed clusters with real nodes, every
 * step a command a user types (shell.ts): cluster1 runs the control plane (EXTERNAL_ISTIOD=true) on
 * network1 and exposes it through its east-west gateway; cluster2 on network2 gets the `remote`
 * profile, whose `istiod` Service points at that gateway, its own east-west gateway, and a remote
 * secret in cluster1. Then the guide's verification: helloworld v1 in cluster1, v2 in cluster2,
 * sleep in both, and calls from each sleep.
 *
 * The one step that differs from the guide: `create-remote-secret --server`. The test bed's own
 * kubeconfigs name loopback addresses; cluster1's control plane reaches cluster2's API server at
 * the address other networks see (`TestbedCluster.publicServer`), as with a cloud cluster's
 * public endpoint.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { VERSION } from '../../version.ts';
import { errorMessage } from '../../model/errors.ts';
import { until } from '../wait.ts';
import { PRIMARY_IOP } from '../mesh-install.ts';
import { IMAGE_HUB } from '../testbed/images.ts';
import { helloworldDeployment, helloworldService, sleepObjects } from '../testbed/samples.ts';
import type { Testbed } from '../testbed/testbed.ts';
import type { Shell } from './shell.ts';

export const CLUSTER1 = 'cluster1';
export const CLUSTER2 = 'cluster2';
const GATEWAY = 'istio-eastwestgateway';
/** The test bed's images: every install names them. */
const IMAGES = ['--set', `values.global.hub=${IMAGE_HUB}`, '--set', `values.global.tag=${VERSION}`];

export interface MultiNetworkMesh {
  /** The east-west gateways' LoadBalancer addresses. */
  readonly gateways: Readonly<Record<typeof CLUSTER1 | typeof CLUSTER2, string>>;
  /** DISCOVERY_ADDRESS: where cluster2 reaches the control plane (cluster1's gateway). */
  readonly discoveryAddress: string;
}

const remoteIop = (discoveryAddress: string): string => `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: remote
  values:
    istiodRemote:
      injectionPath: /inject/cluster/cluster2/net/network2
    global:
      remotePilotAddress: ${discoveryAddress}
`;

/**
 * The project's `until` for probes that may throw while things settle (a kubectl exec into a
 * restarting pod): an error counts as "not yet", and the last one (or `detail`) is in the timeout's message.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 1000, detail?: () => string): Promise<T> {
  let last = '';
  return until(what, async () => {
    try {
      return await probe();
    } catch (err) {
      last = errorMessage(err);
      return undefined;
    }
  }, { timeoutMs, intervalMs, context: () => detail?.() ?? (last === '' ? '' : `last error: ${last}`) });
}

async function gatewayAddress(sh: Shell, ctx: string): Promise<string> {
  sh.note(`$ kubectl --context ${ctx} get svc ${GATEWAY} -n istio-system   # until it has an EXTERNAL-IP`);
  const ip = await waitFor(`the external address of ${ctx}'s east-west gateway`, async () => {
    const out = await sh.run('kubectl', ['--context', ctx, 'get', 'svc', GATEWAY, '-n', 'istio-system', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'], { quiet: true });
    return out.trim() === '' ? undefined : out.trim();
  }, 120_000);
  sh.note(`  ${GATEWAY} EXTERNAL-IP ${ip}`);
  return ip;
}

export async function rollout(sh: Shell, ctx: string, ns: string, deploy: string, timeout = '300s'): Promise<void> {
  try {
    await sh.run('kubectl', ['--context', ctx, 'rollout', 'status', `deploy/${deploy}`, '-n', ns, `--timeout=${timeout}`], { timeoutMs: 330_000 });
  } catch (err) {
    const pods = await sh.attempt('kubectl', ['--context', ctx, 'get', 'pods', '-n', ns, '-o', 'wide'], { quiet: true });
    const events = await sh.attempt('kubectl', ['--context', ctx, 'get', 'events', '-n', ns, '--sort-by=.lastTimestamp'], { quiet: true });
    // What the deployment's containers said before they stopped (a crash loop shows only its back-off otherwise).
    const logs = await sh.attempt('kubectl', ['--context', ctx, 'logs', `deploy/${deploy}`, '-n', ns, '--all-containers', '--previous', '--tail=40'], { quiet: true });
    const now = logs.code === 0 ? logs : await sh.attempt('kubectl', ['--context', ctx, 'logs', `deploy/${deploy}`, '-n', ns, '--all-containers', '--tail=40'], { quiet: true });
    throw new Error(`${err instanceof Error ? err.message : String(err)}\npods:\n${pods.stdout}\nevents (last 20):\n${events.stdout.split('\n').slice(-20).join('\n')}\n` +
      `logs of deploy/${deploy} (last 40 lines):\n${now.stdout}${now.stderr}`, { cause: err });
  }
}

/** Guide 1's installation, step by step; returns the addresses it learned on the way. */
export async function installMultiNetwork(bed: Testbed, sh: Shell, dir: string): Promise<MultiNetworkMesh> {
  const c2 = bed.cluster(CLUSTER2);
  const publicServer = c2.publicServer;
  if (publicServer === undefined) throw new Error('guide 1 needs a test bed with nodes (cluster2 has no public API server address)');

  sh.note('# cluster1: the primary, on network1');
  await sh.run('kubectl', ['--context', CLUSTER1, 'create', 'namespace', 'istio-system']);
  await sh.run('kubectl', ['--context', CLUSTER1, 'label', 'namespace', 'istio-system', 'topology.istio.io/network=network1']);
  const primary = join(dir, 'cluster1.yaml');
  writeFileSync(primary, PRIMARY_IOP);
  await sh.run('isthmus', ['install', '--context', CLUSTER1, '-y', '-f', primary, ...IMAGES]);
  await sh.pipe(['isthmus', ['gen-eastwest-gateway', '--network', 'network1']], ['isthmus', ['install', '--context', CLUSTER1, '-y', '-f', '-', ...IMAGES]]);
  const gateway1 = await gatewayAddress(sh, CLUSTER1);
  await sh.pipe(['isthmus', ['manifest', 'expose-istiod']], ['kubectl', ['--context', CLUSTER1, 'apply', '-n', 'istio-system', '-f', '-']]);
  await sh.pipe(['isthmus', ['manifest', 'expose-services']], ['kubectl', ['--context', CLUSTER1, 'apply', '-n', 'istio-system', '-f', '-']]);

  sh.note('# cluster2: a remote on network2, its control plane in cluster1');
  await sh.run('kubectl', ['--context', CLUSTER2, 'create', 'namespace', 'istio-system']);
  await sh.run('kubectl', ['--context', CLUSTER2, 'annotate', 'namespace', 'istio-system', 'topology.istio.io/controlPlaneClusters=cluster1']);
  await sh.run('kubectl', ['--context', CLUSTER2, 'label', 'namespace', 'istio-system', 'topology.istio.io/network=network2']);
  sh.note(`$ export DISCOVERY_ADDRESS=$(kubectl --context cluster1 -n istio-system get svc ${GATEWAY} -o jsonpath='{.status.loadBalancer.ingress[0].ip}')   # ${gateway1}`);
  const remote = join(dir, 'cluster2.yaml');
  writeFileSync(remote, remoteIop(gateway1));
  await sh.run('isthmus', ['install', '--context', CLUSTER2, '-y', '-f', remote, ...IMAGES]);
  await sh.pipe(['isthmus', ['gen-eastwest-gateway', '--network', 'network2']], ['isthmus', ['install', '--context', CLUSTER2, '-y', '-f', '-', ...IMAGES]]);
  const gateway2 = await gatewayAddress(sh, CLUSTER2);
  await sh.pipe(['isthmus', ['manifest', 'expose-services']], ['kubectl', ['--context', CLUSTER2, 'apply', '-n', 'istio-system', '-f', '-']]);

  sh.note('# attach cluster2 to the control plane in cluster1 (--server: the address cluster1 reaches)');
  await sh.pipe(['isthmus', ['create-remote-secret', '--context', CLUSTER2, '--name', CLUSTER2, '--server', publicServer]],
    ['kubectl', ['--context', CLUSTER1, 'apply', '-f', '-']]);

  await rollout(sh, CLUSTER1, 'istio-system', 'istiod');
  await rollout(sh, CLUSTER1, 'istio-system', GATEWAY);
  await rollout(sh, CLUSTER2, 'istio-system', GATEWAY);
  return { gateways: { cluster1: gateway1, cluster2: gateway2 }, discoveryAddress: gateway1 };
}

/** The guide's verification workloads: helloworld v1 in cluster1, v2 in cluster2, sleep in both (files in `dir`). */
export async function deploySamples(sh: Shell, dir: string): Promise<void> {
  const file = (name: string, objs: readonly unknown[]): string => {
    const path = join(dir, name);
    writeFileSync(path, objs.map((o) => stringify(o)).join('---\n'));
    return path;
  };
  const service = file('helloworld-service.yaml', [helloworldService('sample')]);
  const sleepFile = file('sleep.yaml', sleepObjects('sample'));
  for (const [ctx, version] of [[CLUSTER1, 'v1'], [CLUSTER2, 'v2']] as const) {
    sh.note(`# ${ctx}: namespace sample with injection, helloworld ${version}, sleep`);
    await sh.run('kubectl', ['--context', ctx, 'create', 'namespace', 'sample']);
    await sh.run('kubectl', ['--context', ctx, 'label', 'namespace', 'sample', 'istio-injection=enabled']);
    await sh.run('kubectl', ['--context', ctx, 'apply', '-n', 'sample', '-f', service]);
    await sh.run('kubectl', ['--context', ctx, 'apply', '-n', 'sample', '-f', file(`helloworld-${version}.yaml`, [helloworldDeployment('sample', version)])]);
    await sh.run('kubectl', ['--context', ctx, 'apply', '-n', 'sample', '-f', sleepFile]);
  }
  for (const [ctx, version] of [[CLUSTER1, 'v1'], [CLUSTER2, 'v2']] as const) {
    await rollout(sh, ctx, 'sample', `helloworld-${version}`);
    await rollout(sh, ctx, 'sample', 'sleep');
  }
}

export interface Answer {
  /** `v1`, `v2`, or '' when the call failed. */
  readonly version: string;
  readonly instance: string;
  /** HTTP status, `000` when curl got no answer. */
  readonly status: string;
}

/** Parses curl's output of `<body>\n<status>` pairs (the body may be absent on failure). */
export function parseAnswers(out: string): Answer[] {
  const answers: Answer[] = [];
  let version = '';
  let instance = '';
  for (const line of out.split('\n')) {
    const m = /^Hello version: (v\d+), instance: (\S+)$/.exec(line.trim());
    if (m) {
      version = m[1] ?? '';
      instance = m[2] ?? '';
      continue;
    }
    if (/^\d{3}$/.test(line.trim())) {
      answers.push({ version, instance, status: line.trim() });
      version = '';
      instance = '';
    }
  }
  return answers;
}

/** `n` calls from sleep in `ctx` to helloworld, in one `kubectl exec`, each a new curl. */
export async function callHelloworld(sh: Shell, ctx: string, n: number, opts: { quiet?: boolean; path?: string } = {}): Promise<Answer[]> {
  const path = opts.path ?? '/hello';
  const loop = `i=0; while [ $i -lt ${n} ]; do curl -sS -m 5 -o /dev/stdout -w '\\n%{http_code}\\n' http://helloworld.sample:5000${path}; i=$((i+1)); done`;
  const out = await sh.run('kubectl', ['--context', ctx, 'exec', '-n', 'sample', 'deploy/sleep', '-c', 'sleep', '--', 'sh', '-c', loop],
    { quiet: opts.quiet ?? false, timeoutMs: 60_000 + n * 6_000 });
  return parseAnswers(out);
}

/** A one-line summary of answers: `40 calls: 21 v1, 19 v2, 40 x 200`. */
export function summarize(answers: readonly Answer[]): string {
  const count = (pred: (a: Answer) => boolean) => answers.filter(pred).length;
  const versions = [...new Set(answers.map((a) => a.version).filter((v) => v !== ''))].sort();
  const statuses = [...new Set(answers.map((a) => a.status))].sort();
  return `${answers.length} calls: ${versions.map((v) => `${count((a) => a.version === v)} ${v}`).join(', ') || 'no answer'}; ` +
    statuses.map((s) => `${count((a) => a.status === s)} x ${s}`).join(', ');
}

/** Calls until both versions answered from `ctx` (cross-network endpoints take a push to arrive). */
export async function untilBothVersions(sh: Shell, ctx: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(`answers from v1 and v2 to sleep in ${ctx}`, async () => {
    const got = new Set((await callHelloworld(sh, ctx, 6, { quiet: true })).map((a) => a.version));
    return got.has('v1') && got.has('v2') ? true : undefined;
  }, timeoutMs, 2000);
  return (Date.now() - started) / 1000;
}

/**
 * The sum of one endpoint statistic (e.g. `cx_total`) over the hosts of every Envoy cluster whose
 * name contains `service`, from `pilot-agent request GET clusters` in a pod's istio-proxy container
 * (or a gateway's only container). Host statistics are not limited by the bootstrap's stats matcher.
 */
export async function hostStat(sh: Shell, ctx: string, ns: string, target: string, container: string, service: string, stat: string, host?: string): Promise<number> {
  const out = await sh.run('kubectl', ['--context', ctx, 'exec', '-n', ns, target, '-c', container, '--', 'pilot-agent', 'request', 'GET', 'clusters'], { quiet: true });
  // Lines are `<cluster>::<host>:<port>::<stat>::<value>`.
  return out.split('\n').filter((l) => (l.split('::')[0] ?? '').includes(service) && l.includes(`::${stat}::`) && (host === undefined || l.split('::')[1] === host))
    .reduce((sum, l) => sum + Number(l.split('::').pop()), 0);
}
