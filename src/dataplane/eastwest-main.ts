/**
 * Runs the east-west gateway data plane as a process (what `isthmus agent` will start for an
 * `istio=eastwestgateway` pod), logging one JSON object per line:
 *
 *   node src/dataplane/eastwest-main.ts --xds 10.99.1.1:15010 --listen 10.99.3.2:15443 \
 *     --pod istio-eastwestgateway-0 --namespace istio-system --cluster cluster2 --network network2
 *
 * The node is `router~<listen ip>~<pod>.<ns>~<ns>.svc.cluster.local` with metadata CLUSTER_ID,
 * NETWORK, NAMESPACE, REQUESTED_NETWORK_VIEW=<network>, ISTIO_VERSION, PROXY_CONFIG and LABELS
 * (`istio=eastwestgateway`, `topology.istio.io/network=<network>`), as Istio's agent sends them.
 */
import { EastWestGateway } from './eastwest-gateway.ts';
import { XdsClient } from './xds-client.ts';

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
const listen = need('listen');
const m = /^(.*):(\d+)$/.exec(listen);
if (m === null) throw new Error(`--listen must be <ip>:<port>, got ${listen}`);
const [host = '', port = '0'] = [m[1], m[2]];
const pod = f.get('pod') ?? 'istio-eastwestgateway-0';
const ns = f.get('namespace') ?? 'istio-system';
const network = need('network');
const log = (e: Record<string, unknown>) => { process.stdout.write(`${JSON.stringify({ t: Date.now(), ...e })}\n`); };

const xds = new XdsClient({
  address: need('xds'),
  node: {
    id: `router~${host}~${pod}.${ns}~${ns}.svc.cluster.local`,
    metadata: {
      CLUSTER_ID: need('cluster'), NETWORK: network, NAMESPACE: ns, REQUESTED_NETWORK_VIEW: network,
      ISTIO_VERSION: '1.24.0', PROXY_CONFIG: {}, LABELS: { istio: 'eastwestgateway', 'topology.istio.io/network': network },
    },
  },
  log,
});
const gw = new EastWestGateway({ host, port: Number(port), xds, log });
await gw.start();
process.once('SIGTERM', () => { void gw.close().then(() => process.exit(0)); });
