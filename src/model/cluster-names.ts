/**
 * The one place cluster (and load assignment) names are built and parsed: Istio's cluster keys
 * `<direction>|<port>|<subset>|<host>` and the DNS-SRV style SNI / SNI-DNAT form
 * `<direction>_.<port>_.<subset>_.<host>` (docs/istio-compat.md §3.4). Generators build names with
 * these functions; the push pipeline maps a load assignment's name back to its service with
 * `serviceHostOf`, so both sides always agree. Pure functions only.
 */

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

/** Either form; `sni` tells which one matched. */
export function parseAnyClusterName(name: string): { readonly key: ClusterKey; readonly sni: boolean } | undefined {
  const k = parseClusterName(name);
  if (k !== undefined) return { key: k, sni: false };
  const s = parseSniName(name);
  return s === undefined ? undefined : { key: s, sni: true };
}

/**
 * The service host name a cluster or load assignment name belongs to (either form), or undefined
 * for names of no service (`inbound|80||`, `BlackHoleCluster`, anything malformed).
 */
export function serviceHostOf(name: string): string | undefined {
  const host = parseAnyClusterName(name)?.key.host;
  return host === undefined || host === '' ? undefined : host;
}
