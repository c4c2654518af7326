/**
 * Istio's resource-name conventions (docs/istio-compat.md §3.4): the well-known cluster names,
 * listener names and ALPNs; cluster keys `<direction>|<port>|<subset>|<host>` and the SNI form
 * `outbound_.<port>_.<subset>_.<host>` are built and parsed by src/model/cluster-names.ts alone.
 */

export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const VIRTUAL_INBOUND_LISTENER = 'virtualInbound';
/** Sidecar capture ports (iptables redirect targets). */
export const VIRTUAL_OUTBOUND_PORT = 15001;
export const VIRTUAL_INBOUND_PORT = 15006;

/** SDS secret names Istio's agent serves to its Envoy: the workload certificate and the root bundle. */
export const SDS_DEFAULT_SECRET = 'default';
export const SDS_ROOT_SECRET = 'ROOTCA';

/** ALPN a client sidecar offers for Istio mTLS (peer metadata exchange, then `istio`). */
export const ALPN_IN_MESH = ['istio-peer-exchange', 'istio'] as const;
/** ALPN an Istio mTLS client may present; the AUTO_PASSTHROUGH chains match any of them (docs/istio-compat.md §3.4). */
export const ALPN_ISTIO_MTLS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] as const;

/** Listener name prefix proxyless gRPC servers use (`server_listener_resource_name_template`). */
export const GRPC_SERVER_LISTENER_PREFIX = 'xds.istio.io/grpc/lds/inbound/';

/** `0.0.0.0_9080`, `10.96.0.10_3306`: Istio's `<address>_<port>` listener names. */
export function listenerName(address: string, port: number): string {
  return `${address}_${port}`;
}
