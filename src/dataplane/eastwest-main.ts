/**
 * Runs the east-west gateway data plane as a process for tests, logging one JSON object per line:
 *
 *   node src/dataplane/eastwest-main.ts --xds 10.99.1.1:15010 --listen 10.99.3.2:15443 \
 *     --pod istio-eastwestgateway-0 --namespace istio-system --cluster cluster2 --network network2
 *
 * `isthmus agent router` starts the same thing from a pod's environment.
 */
import { runEastWestGateway } from './run-gateway.ts';

function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < argv.length; i += 2) out.set((argv[i] ?? '').replace(/^--/, ''), argv[i + 1] ?? '');
  return out;
}

const f = flags(process.argv.slice(2));
const need = (k: string): string => {
  const v = f.get(k);
  if (v === undefined || v === '') throw new Error(`--${k} is required`);
  return v;
};
const gw = await runEastWestGateway({
  xdsAddress: need('xds'), listen: need('listen'), pod: f.get('pod') ?? 'istio-eastwestgateway-0', namespace: f.get('namespace') ?? 'istio-system',
  cluster: need('cluster'), network: need('network'),
  log: (e) => { process.stdout.write(`${JSON.stringify({ t: Date.now(), ...e })}\n`); },
});
process.once('SIGTERM', () => { void gw.close().then(() => process.exit(0)); });
