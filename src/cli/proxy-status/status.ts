/**
 * From syncz answers to proxy-status rows (docs/istio-compat.md §14.7-§14.9). Pure: the clock is passed in.
 *
 * - NAME = `node.id`, CLUSTER = metadata `CLUSTER_ID`, VERSION = metadata `ISTIO_VERSION` (the proxy's),
 *   ISTIOD = the `ID` of the answering control plane (or, behind the xds-proxy with
 *   `--attribute-replicas`, the replica the row came from);
 * - per type: absent or UNKNOWN -> IGNORED, NOT_SENT -> `NOT SENT`, otherwise the enum name followed by
 *   ` (<age>)` when `last_updated` is set (istioctl 1.23+).
 */
import { clientConfigCodec } from '../../proto/codec.ts';
import type { ClientConfig, DiscoveryResponse, GenericXdsConfig } from '../../proto/types.ts';
import { structString, timestampToDate } from '../../proto/wkt.ts';
import { parseControlPlane } from '../../xds/client/control-plane.ts';

export const CLIENT_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.service.status.v3.ClientConfig';
const P = 'type.googleapis.com/';

/** Istio's short names (`pkg/model/xds.go`). */
export const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  [`${P}envoy.config.cluster.v3.Cluster`, 'CDS'],
  [`${P}envoy.config.listener.v3.Listener`, 'LDS'],
  [`${P}envoy.config.endpoint.v3.ClusterLoadAssignment`, 'EDS'],
  [`${P}envoy.config.route.v3.RouteConfiguration`, 'RDS'],
  [`${P}envoy.config.core.v3.TypedExtensionConfig`, 'ECDS'],
  [`${P}envoy.extensions.transport_sockets.tls.v3.Secret`, 'SDS'],
  [`${P}istio.networking.nds.v1.NameTable`, 'NDS'],
  [`${P}istio.mesh.v1alpha1.ProxyConfig`, 'PCDS'],
  [`${P}istio.workload.Address`, 'WDS'],
  [`${P}istio.workload.Workload`, 'WDS'],
  [`${P}istio.security.Authorization`, 'WADS'],
]);

export function shortName(typeUrl: string): string {
  return SHORT_NAMES.get(typeUrl) ?? typeUrl;
}

export const IGNORED = 'IGNORED';

export interface TypeStatus {
  readonly typeUrl: string;
  readonly type: string;
  /** The ConfigStatus enum name (`SYNCED`, `NOT_SENT`, `STALE`, `ERROR`, `UNKNOWN`). */
  readonly status: string;
  readonly lastUpdated?: Date;
  readonly error?: string;
}

export interface ProxyRow {
  readonly name: string;
  readonly cluster: string;
  readonly namespace: string;
  readonly istiod: string;
  readonly version: string;
  readonly types: readonly TypeStatus[];
}

export interface ParsedSyncz {
  readonly rows: ProxyRow[];
  /** Replicas the aggregating proxy reported as not answering. */
  readonly warnings: string[];
}

/**
 * kubectl's human-readable age (apimachinery `duration.HumanDuration`): `45s`, `3m12s`, `25m`,
 * `5h3m`, `20h`, `3d4h`, `40d`, `2y30d`, `9y`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) { const s = seconds % 60; return s === 0 ? `${minutes}m` : `${minutes}m${s}s`; }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) { const m = minutes % 60; return m === 0 ? `${hours}h` : `${hours}h${m}m`; }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) { const h = hours % 24; return h === 0 ? `${hours / 24}d` : `${Math.trunc(hours / 24)}d${h}h`; }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  const years = Math.trunc(hours / 24 / 365);
  if (hours < 24 * 365 * 8) { const d = Math.trunc(hours / 24) % 365; return d === 0 ? `${years}y` : `${years}y${d}d`; }
  return `${years}y`;
}

/** The cell istioctl prints for one type of one proxy. */
export function statusText(s: TypeStatus | undefined, now: number): string {
  if (!s || s.status === 'UNKNOWN') return IGNORED;
  if (s.status === 'NOT_SENT') return 'NOT SENT';
  return s.lastUpdated ? `${s.status} (${humanDuration(now - s.lastUpdated.getTime())})` : s.status;
}

function typeStatusOf(g: GenericXdsConfig): TypeStatus {
  const typeUrl = g.typeUrl ?? '';
  const status = typeof g.configStatus === 'string' ? g.configStatus : g.configStatus === undefined ? 'UNKNOWN' : String(g.configStatus);
  return {
    typeUrl, type: shortName(typeUrl), status,
    ...(g.lastUpdated ? { lastUpdated: timestampToDate(g.lastUpdated) } : {}),
    ...(g.errorState?.details ? { error: g.errorState.details } : {}),
  };
}

export function rowOf(cc: ClientConfig, istiod: string): ProxyRow {
  const meta = cc.node?.metadata;
  // The deprecated `xds_config` list (pre-1.14 servers) is not read: its types live in a oneof we do not model.
  const types = (cc.genericXdsConfigs ?? []).map(typeStatusOf);
  return {
    name: cc.node?.id ?? '',
    cluster: structString(meta, 'CLUSTER_ID') ?? '',
    namespace: structString(meta, 'NAMESPACE') ?? '',
    istiod,
    version: structString(meta, 'ISTIO_VERSION') ?? '',
    types,
  };
}

/** Rows of every ClientConfig in the answers, sorted by name; warnings for replicas that did not answer. */
export function parseSyncz(responses: readonly DiscoveryResponse[]): ParsedSyncz {
  const rows: ProxyRow[] = [];
  const warnings: string[] = [];
  for (const r of responses) {
    const cp = parseControlPlane(r.controlPlane?.identifier);
    for (const f of cp.failedReplicas) warnings.push(`control plane replica ${f}: its proxies are missing from this list`);
    for (const any of r.resources ?? []) {
      if (any.typeUrl !== CLIENT_CONFIG_TYPE_URL) continue;
      const cc = clientConfigCodec.decode(any.value ?? new Uint8Array(0));
      const id = cc.node?.id ?? '';
      rows.push(rowOf(cc, cp.attribution.get(id) ?? cp.id));
    }
  }
  rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { rows, warnings };
}
