/**
 * Istio's resource-name conventions (docs/istio-compat.md §3.4): cluster keys
 * `<direction>|<port>|<subset>|<host>`, the DNS-SRV style SNI / SNI-DNAT cluster name
 * `outbound_.<port>_.<subset>_.<host>`, the well-known cluster names, listener names and ALPNs.
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

export type Direction = 'inbound' | 'outbound';

export interface ClusterKey {
  readonly direction: Direction;
  readonly port: number;
  readonly subset: string;
  /** FQDN, or `''` for inbound clusters. */
  readonly host: string;
}

/** `outbound|9080||reviews.default.svc.cluster.local`, `inbound|9080||`. */
export function clusterName(k: ClusterKey): string {
  return `${k.direction}|${k.port}|${k.subset}|${k.host}`;
}

/**
 * Istio's DNS-SRV style key: direction + `_.` + port + `_.` + subset + `_.` + host, so an empty
 * subset reads `outbound_.9080_._.reviews.default.svc.cluster.local` and subset v1
 * `outbound_.9080_.v1_.reviews.default.svc.cluster.local`.
 */
export function sniName(k: ClusterKey): string {
  return `${k.direction}_.${k.port}_.${k.subset}_.${k.host}`;
}

function parsePort(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

function parseDirection(s: string | undefined): Direction | undefined {
  return s === 'inbound' || s === 'outbound' ? s : undefined;
}

/** Parses `dir|port|subset|host`; undefined for anything else. */
export function parseClusterName(name: string): ClusterKey | undefined {
  const parts = name.split('|');
  if (parts.length !== 4) return undefined;
  const [d, p, subset = '', host = ''] = parts;
  const direction = parseDirection(d);
  const port = parsePort(p);
  if (direction === undefined || port === undefined) return undefined;
  return { direction, port, subset, host };
}

/** Parses `dir_.port_.subset_.host` (subset may be empty); undefined for anything else. */
export function parseSniName(name: string): ClusterKey | undefined {
  const m = /^(inbound|outbound)_\.([0-9]{1,5})_\.([^_]*)_\.(.+)$/.exec(name);
  if (m === null) return undefined;
  const direction = parseDirection(m[1]);
  const port = parsePort(m[2]);
  if (direction === undefined || port === undefined || m[4] === undefined) return undefined;
  return { direction, port, subset: m[3] ?? '', host: m[4] };
}

/** `0.0.0.0_9080`, `10.96.0.10_3306`: Istio's `<address>_<port>` listener names. */
export function listenerName(address: string, port: number): string {
  return `${address}_${port}`;
}
