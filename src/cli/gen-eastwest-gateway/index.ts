/** `isthmus gen-eastwest-gateway`: print the east-west gateway IstioOperator (as gen-eastwest-gateway.sh). */
import type { Command } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { eastWestGateway } from '../../operator/eastwest.ts';
import { labelValue } from '../../operator/iop-schema.ts';

interface Flags { network?: string; mesh?: string; cluster?: string; revision: string; singleCluster: boolean }

export function generate(f: Flags): string {
  if (!f.singleCluster && (f.network === undefined || f.network === '')) throw new IsthmusError(ErrorCodes.Usage, '--network is required (or --single-cluster)');
  for (const [flag, v] of [['--network', f.network], ['--cluster', f.cluster], ['--mesh', f.mesh]] as const) {
    const bad = v === undefined ? undefined : labelValue(v);
    if (bad !== undefined) throw new IsthmusError(ErrorCodes.Usage, `${flag} ${bad}`);
  }
  return stringify(eastWestGateway({ network: f.network, revision: f.revision, singleCluster: f.singleCluster, cluster: f.cluster, mesh: f.mesh }), { lineWidth: 0 });
}

export function register(program: Command): void {
  program
    .command('gen-eastwest-gateway')
    .description('print the IstioOperator of an east-west gateway; pipe it into `isthmus install -y -f -`')
    .option('--network <name>', 'network of this cluster (required unless --single-cluster)')
    .option('--mesh <id>', 'mesh ID (written into values.global.meshID)')
    .option('--cluster <name>', 'cluster ID (written into values.global.multiCluster.clusterName; the gateway proxy reports it)')
    .option('--revision <rev>', 'control plane revision', '')
    .option('--single-cluster', 'a gateway for a single network (no network label or network view)', false)
    .action((opts: Flags) => { process.stdout.write(generate(opts)); });
}
