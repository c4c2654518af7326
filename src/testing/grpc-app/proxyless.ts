/**
 * Starts the real @grpc/grpc-js-xds client app (`client.ts`) as a child process connected to a
 * control plane's plaintext xDS port, with an Istio-style bootstrap: node id `sidecar~<ip>~<pod>.<ns>~…`
 * and the metadata istiod and proxy-status read (PROXY_CONFIG, NAMESPACE, CLUSTER_ID, ISTIO_VERSION,
 * GENERATOR=grpc). Used where a test needs a real proxyless gRPC workload among the connected proxies.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineProcess } from './lines.ts';

export interface ProxylessClientOptions {
  /** Where the bootstrap file is written. */
  readonly dir: string;
  /** `host:port` of a plaintext xDS server. */
  readonly xdsAddress: string;
  readonly pod: string;
  readonly namespace: string;
  readonly clusterId: string;
  /** The node's IP in its id (not dialled). */
  readonly ip?: string;
  readonly istioVersion?: string;
  /** The xds:/// target the app calls (resolving it makes the app subscribe to LDS and the rest). */
  readonly target?: string;
  readonly intervalMs?: number;
}

const CLIENT = fileURLToPath(new URL('./client.ts', import.meta.url));

export function startProxylessClient(o: ProxylessClientOptions): JsonLineProcess {
  const bootstrap = {
    xds_servers: [{ server_uri: o.xdsAddress, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: {
      id: `sidecar~${o.ip ?? '10.1.9.9'}~${o.pod}.${o.namespace}~${o.namespace}.svc.cluster.local`,
      metadata: { GENERATOR: 'grpc', CLUSTER_ID: o.clusterId, NAMESPACE: o.namespace, ISTIO_VERSION: o.istioVersion ?? '1.28.0', PROXY_CONFIG: {} },
      locality: {},
    },
    server_listener_resource_name_template: 'xds.istio.io/grpc/lds/inbound/%s',
  };
  const file = join(o.dir, `bootstrap-${o.pod}.${o.namespace}.json`);
  writeFileSync(file, JSON.stringify(bootstrap, null, 2));
  const target = o.target ?? `xds:///helloworld.${o.namespace}.svc.cluster.local:5000`;
  const child = spawn(process.execPath, [CLIENT, '--target', target, '--interval', String(o.intervalMs ?? 1000)], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP: file }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new JsonLineProcess(`${o.pod}.${o.namespace}`, child);
}
