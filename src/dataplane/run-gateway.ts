/**
 * Starts the east-west gateway data plane: an xDS client that speaks for a `router` proxy with
 * Istio's node metadata, and the SNI passthrough listener it configures.
 */
import { EastWestGateway } from './eastwest-gateway.ts';
import { XdsClient, type XdsSecurity } from './xds-client.ts';

export interface GatewayRunOptions {
  readonly xdsAddress: string;
  /** `<ip>:<port>` to listen on (15443). */
  readonly listen: string;
  readonly pod: string;
  readonly namespace: string;
  readonly cluster: string;
  readonly network: string;
  /** TLS and token for the control plane's 15012; absent for plaintext 15010. */
  readonly security?: XdsSecurity;
  readonly log: (e: Record<string, unknown>) => void;
}

export async function runEastWestGateway(o: GatewayRunOptions): Promise<EastWestGateway> {
  const m = /^(.*):(\d+)$/.exec(o.listen);
  if (m === null) throw new Error(`listen address must be <ip>:<port>, got ${o.listen}`);
  const [host = '', port = '0'] = [m[1], m[2]];
  const xds = new XdsClient({
    address: o.xdsAddress,
    node: {
      id: `router~${host}~${o.pod}.${o.namespace}~${o.namespace}.svc.cluster.local`,
      metadata: {
        CLUSTER_ID: o.cluster, NETWORK: o.network, NAMESPACE: o.namespace, REQUESTED_NETWORK_VIEW: o.network,
        ISTIO_VERSION: '1.24.0', PROXY_CONFIG: {}, LABELS: { istio: 'eastwestgateway', 'topology.istio.io/network': o.network },
      },
    },
    log: o.log,
    ...(o.security ? { security: o.security } : {}),
  });
  const gw = new EastWestGateway({ host, port: Number(port), xds, log: o.log });
  await gw.start();
  return gw;
}
