/**
 * `npm run testbed -- build|build-istioctl|build-istio|build-envoy|images|up|status|down|demo`: the multi-cluster test bed from the command line.
 * Processes started by `up` keep running after this command exits; `down` stops them.
 */
import { Command, CommanderError } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { ErrorCodes, IsthmusError, errorMessage, isIsthmusError } from '../../model/errors.ts';
import { isTestbedError } from './errors.ts';
import { ensureImages, IMAGE_NAMES, type ImageName } from './images.ts';
import { ensureBinaries, ensureNodeBinaries } from './binaries.ts';
import { ensureIstioctl, ensureIstioProgram } from '../interop/istioctl.ts';
import { ensureEnvoy } from '../envoy/binary.ts';
import { demo, DEMOS } from './demo.ts';
import { downAll, readState, recordAlive, Testbed } from './testbed.ts';

const log = (line: string) => { process.stderr.write(`${line}\n`); };

function printStatus(dir: string): number {
  const state = readState(resolve(dir));
  const recs = Object.values(state.clusters);
  if (recs.length === 0) {
    process.stdout.write(`no test-bed clusters in ${resolve(dir)}\n`);
    return 0;
  }
  const rows = [['CLUSTER', 'STATE', 'SERVER', 'ISSUER', 'KUBECONFIG', 'NODE']];
  for (const r of recs) rows.push([r.name, recordAlive(r) ? 'running' : 'stopped', r.server, r.issuer, r.kubeconfig, r.node ? `${r.node.name} ${r.node.net.nodeIp}` : '-']);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  for (const row of rows) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('   ').trimEnd()}\n`);
  return 0;
}

async function up(clusters: string, dir: string, nodes: boolean): Promise<Testbed> {
  const started = Date.now();
  const bed = await Testbed.up({ dir, clusters: clusters.split(',').map((s) => s.trim()).filter(Boolean), log, nodes });
  log(`testbed: ${bed.clusters.length} cluster(s) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return bed;
}

export async function run(argv: readonly string[]): Promise<number> {
  let code = 0;
  const program = new Command('testbed')
    .description('Independent Kubernetes API servers on loopback, one per cluster, for Isthmus tests and demos')
    .exitOverride();
  const dirOpt = ['--dir <dir>', 'state and data directory', '.testbed'] as const;

  program.command('build')
    .description('build (or find cached) kube-apiserver, kube-controller-manager and etcd; print their paths')
    .option('--nodes', 'also kubelet, kube-scheduler, kube-proxy, the pause and busybox images, and the Debian packages nodes need')
    .action(async (o: { nodes?: true }) => {
      const bins = await ensureBinaries(log);
      process.stdout.write(`${bins.kubeApiserver}\n${bins.kubeControllerManager}\n${bins.etcd}\n`);
      if (o.nodes) process.stdout.write(`${Object.values(await ensureNodeBinaries(log)).join('\n')}\n`);
    });

  program.command('build-istioctl')
    .description('build (or find cached) the real istioctl for the interop tests; print its path')
    .action(async () => {
      process.stdout.write(`${await ensureIstioctl(log)}\n`);
    });

  program.command('build-istio')
    .description("build (or find cached) istiod's pilot-discovery and Istio's pilot-agent; print their paths")
    .action(async () => {
      for (const p of ['pilot-discovery', 'pilot-agent'] as const) process.stdout.write(`${await ensureIstioProgram(p, log)}\n`);
    });

  program.command('build-envoy')
    .description('fetch (or find cached) the upstream Envoy binary the Envoy integration tests run; print its path')
    .action(async () => {
      process.stdout.write(`${await ensureEnvoy(log)}\n`);
    });

  program.command('images')
    .description('build (or find up to date) the images nodes run: isthmus, proxyv2, helloworld v1/v2, sleep; print their archives')
    .argument('[names...]', `a subset of ${IMAGE_NAMES.join(', ')}`)
    .action(async (names: string[]) => {
      const unknown = names.filter((n) => !(IMAGE_NAMES as readonly string[]).includes(n));
      if (unknown.length > 0) throw new IsthmusError(ErrorCodes.Usage, `unknown image(s) ${unknown.join(', ')}; have ${IMAGE_NAMES.join(', ')}`);
      const archives = await ensureImages(names.length > 0 ? names as ImageName[] : IMAGE_NAMES, log);
      process.stdout.write(`${archives.join('\n')}\n`);
    });

  program.command('up')
    .description('build (once) and start the named clusters')
    .option('--clusters <names>', 'comma-separated cluster names', 'cluster1,cluster2')
    .option('--nodes', 'real nodes: a kube-scheduler and one node (containerd + kubelet) per cluster, with the images of `images` (root only)')
    .option(...dirOpt)
    .action(async (o: { clusters: string; dir: string; nodes?: true }) => {
      await up(o.clusters, o.dir, o.nodes === true);
      code = printStatus(o.dir);
    });

  program.command('status')
    .description('list the clusters of a test bed and whether they run')
    .option(...dirOpt)
    .action((o: { dir: string }) => { code = printStatus(o.dir); });

  program.command('down')
    .description('stop every cluster of the test bed and delete its data')
    .option(...dirOpt)
    .option('--keep-data', 'keep each cluster\'s directory (logs, etcd data)')
    .action(async (o: { dir: string; keepData?: true }) => {
      const names = await downAll(o.dir, o.keepData === true);
      process.stdout.write(names.length > 0 ? `stopped ${names.join(', ')}\n` : 'nothing was running\n');
    });

  program.command('demo')
    .description('the main job: a guide on two clusters with real nodes, ending in traffic; primary-remote (guide 1, default) or external (guide 2)')
    .argument('[guide]', `which guide: ${DEMOS.join(' or ')}`, 'primary-remote')
    .option(...dirOpt)
    .action(async (guide: string, o: { dir: string }) => {
      await demo(o.dir, guide, log);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`testbed: ${isIsthmusError(err) || isTestbedError(err) ? `[${err.code}] ` : ''}${errorMessage(err)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await run(process.argv.slice(2));
}
