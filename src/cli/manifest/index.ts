/**
 * `isthmus manifest generate | expose-services | expose-istiod`: print what install would apply,
 * and the east-west Gateway / VirtualService objects of the multi-network guide.
 */
import type { Command } from '@commander-js/extra-typings';
import { documents, exposeIstiod, exposeServices } from '../../operator/eastwest.ts';
import { planInstall } from '../../operator/manifest.ts';
import { toYaml } from '../../operator/render/index.ts';
import { collect, readInputs } from '../install/inputs.ts';

export function register(program: Command): void {
  const manifest = program.command('manifest').description('render manifests without applying them');

  manifest
    .command('generate')
    .description('print the Kubernetes objects an IstioOperator renders to')
    .option('-f, --filename <file>', 'IstioOperator file, or - for standard input (repeatable)', collect, [])
    .option('-s, --set <path=value>', 'override a spec field (repeatable)', collect, [])
    .action(async (opts: { filename: string[]; set: string[] }) => {
      const plan = planInstall(await readInputs(opts.filename), opts.set);
      process.stdout.write(toYaml(plan.rendered.map((r) => r.object)));
    });

  manifest
    .command('expose-services')
    .description('print the Gateway that passes cross-network mTLS through the east-west gateway (port 15443, *.local)')
    .action(() => { process.stdout.write(documents(exposeServices())); });

  manifest
    .command('expose-istiod')
    .description('print the Gateway and VirtualService that expose the control plane (15012, 15017) through the east-west gateway')
    .option('-r, --revision <rev>', 'control plane revision', '')
    .option('--istio-namespace <ns>', 'namespace of the control plane', 'istio-system')
    .action((opts: { revision: string; istioNamespace: string }) => {
      process.stdout.write(documents(exposeIstiod({ revision: opts.revision, namespace: opts.istioNamespace })));
    });
}
