/**
 * `DiscoveryResponse.control_plane.identifier`: istiod's JSON `{"Component":"istiod","ID":<pod>,
 * "Info":{version,...}}` (docs/istio-compat.md §14.6), which istioctl reads for the ISTIOD column
 * (absent: `MISSING`, not JSON: `INVALID`).
 *
 * The aggregating xds-proxy answers with the same object, `ID` = `<external>` (or the answering
 * replicas with `--attribute-replicas`), plus one field istioctl ignores (Go's encoding/json skips
 * unknown fields):
 *
 *   "Replicas": [{"ID":"istiod-a","Address":"10.0.0.5:15012","Count":12,"Proxies":["a.ns",...]},
 *                {"ID":"istiod-b","Address":"10.0.0.6:15012","Error":"deadline exceeded"}]
 *
 * `Error` marks a replica that did not answer (the result is partial); `Proxies` (only with
 * `--attribute-replicas`) names the proxies whose row came from that replica. Pure.
 */
import { isRecord } from '../../model/json.ts';
export const EXTERNAL_ID = '<external>';
export const MISSING_ID = 'MISSING';
export const INVALID_ID = 'INVALID';

export interface ReplicaReport {
  readonly ID: string;
  readonly Address?: string;
  readonly Count?: number;
  readonly Proxies?: readonly string[];
  readonly Error?: string;
}

export interface ControlPlaneIdentity {
  readonly Component: string;
  readonly ID: string;
  readonly Info?: Readonly<Record<string, unknown>>;
  readonly Replicas?: readonly ReplicaReport[];
}

export interface ParsedControlPlane {
  /** What the ISTIOD column shows for this response. */
  readonly id: string;
  readonly identity: ControlPlaneIdentity | undefined;
  /** node id -> replica, from `Replicas[].Proxies`. */
  readonly attribution: ReadonlyMap<string, string>;
  /** Replicas that did not answer, as `ID (Address): Error`. */
  readonly failedReplicas: readonly string[];
}

function replicasOf(v: unknown): ReplicaReport[] {
  if (!Array.isArray(v)) return [];
  const out: ReplicaReport[] = [];
  for (const r of v as unknown[]) {
    if (!isRecord(r) || typeof r['ID'] !== 'string') continue;
    const proxies = Array.isArray(r['Proxies']) ? (r['Proxies'] as unknown[]).filter((p): p is string => typeof p === 'string') : undefined;
    out.push({
      ID: r['ID'],
      ...(typeof r['Address'] === 'string' ? { Address: r['Address'] } : {}),
      ...(typeof r['Count'] === 'number' ? { Count: r['Count'] } : {}),
      ...(proxies ? { Proxies: proxies } : {}),
      ...(typeof r['Error'] === 'string' ? { Error: r['Error'] } : {}),
    });
  }
  return out;
}

export function parseControlPlane(identifier: string | undefined): ParsedControlPlane {
  const none = { attribution: new Map<string, string>(), failedReplicas: [] };
  if (identifier === undefined || identifier === '') return { id: MISSING_ID, identity: undefined, ...none };
  let raw: unknown;
  try {
    raw = JSON.parse(identifier);
  } catch {
    return { id: INVALID_ID, identity: undefined, ...none };
  }
  if (!isRecord(raw)) return { id: INVALID_ID, identity: undefined, ...none };
  const replicas = replicasOf(raw['Replicas']);
  const identity: ControlPlaneIdentity = {
    Component: typeof raw['Component'] === 'string' ? raw['Component'] : '',
    ID: typeof raw['ID'] === 'string' ? raw['ID'] : '',
    ...(isRecord(raw['Info']) ? { Info: raw['Info'] } : {}),
    ...(replicas.length > 0 ? { Replicas: replicas } : {}),
  };
  const attribution = new Map<string, string>();
  for (const r of replicas) for (const p of r.Proxies ?? []) attribution.set(p, r.ID);
  const failedReplicas = replicas.filter((r) => r.Error !== undefined).map((r) => `${r.ID}${r.Address && r.Address !== r.ID ? ` (${r.Address})` : ''}: ${r.Error ?? ''}`);
  return { id: identity.ID, identity, attribution, failedReplicas };
}

export function formatControlPlane(cp: ControlPlaneIdentity): string {
  return JSON.stringify(cp);
}
