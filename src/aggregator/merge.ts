/**
 * Merging the replicas' answers into one DiscoveryResponse istioctl reads as if one istiod had
 * answered (docs/istio-compat.md §16.3, without the sample's flaws). Pure.
 *
 * - syncz: every ClientConfig once, keyed by `node.id`; when two replicas report the same proxy
 *   (it reconnected and the old stream has not closed yet) the report with the newest
 *   `last_updated` over its types wins (ties: the replica listed first). Resources are sorted by
 *   node id. Other resource types pass through.
 * - config_dump: the first replica that holds the proxy answers for it.
 * - connections: no resources, only the control plane.
 * - control_plane: istiod's JSON with `ID` = `<external>` (with `attributeReplicas`: the answering
 *   replicas, comma-separated), `Info` from the first replica that sent one, and a `Replicas` list
 *   istioctl ignores but our CLI reads (per-replica counts, errors, and with `attributeReplicas`
 *   the proxies each row came from); see src/cli/xds-client/control-plane.ts.
 */
import type { GrpcStatusCode } from '../model/grpc-status.ts';
import protobuf from 'protobufjs';
import type { Any, DiscoveryResponse } from '../proto/types.ts';
import { EXTERNAL_ID, parseControlPlane, type ControlPlaneIdentity, type ReplicaReport } from '../xds/client/control-plane.ts';

export const CLIENT_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.service.status.v3.ClientConfig';

export interface Replica {
  /** Pod name, or the address for replicas named with `--replica`. */
  readonly name: string;
  readonly address: string;
}

export type ReplicaAnswer =
  | { readonly replica: Replica; readonly response: DiscoveryResponse }
  | { readonly replica: Replica; readonly error: string; readonly code?: GrpcStatusCode | undefined };

export interface Merged {
  readonly resources: readonly Any[];
  readonly controlPlane: ControlPlaneIdentity;
}

export interface MergeOptions {
  readonly attributeReplicas: boolean;
  /** Info for the control plane when no replica sent one. */
  readonly fallbackInfo: Readonly<Record<string, unknown>>;
}

/** The replica's own name for itself (istiod's POD_NAME), else the configured name. */
function replicaId(a: ReplicaAnswer): string {
  if ('response' in a) {
    const id = parseControlPlane(a.response.controlPlane?.identifier).identity?.ID;
    if (id) return id;
  }
  return a.replica.name;
}

interface Kept { readonly any: Any; readonly fresh: number; readonly replica: number }

function controlPlaneOf(answers: readonly ReplicaAnswer[], counts: readonly number[], proxies: readonly string[][], opts: MergeOptions): ControlPlaneIdentity {
  let info: Readonly<Record<string, unknown>> | undefined;
  const replicas: ReplicaReport[] = answers.map((a, i) => {
    if (!('response' in a)) return { ID: a.replica.name, Address: a.replica.address, Error: a.error };
    info ??= parseControlPlane(a.response.controlPlane?.identifier).identity?.Info;
    return { ID: replicaId(a), Address: a.replica.address, Count: counts[i] ?? 0, ...(opts.attributeReplicas ? { Proxies: proxies[i] ?? [] } : {}) };
  });
  const answered = answers.filter((a) => 'response' in a).map(replicaId);
  return {
    Component: 'istiod',
    ID: opts.attributeReplicas ? answered.join(',') : EXTERNAL_ID,
    Info: info ?? opts.fallbackInfo,
    Replicas: replicas,
  };
}

export function mergeSyncz(answers: readonly ReplicaAnswer[], opts: MergeOptions): Merged {
  const byNode = new Map<string, Kept>();
  const passThrough: Any[] = [];
  answers.forEach((a, i) => {
    if (!('response' in a)) return;
    for (const any of a.response.resources ?? []) {
      if (any.typeUrl !== CLIENT_CONFIG_TYPE_URL) { passThrough.push(any); continue; }
      const { id, fresh } = scanClientConfig(any.value ?? new Uint8Array(0));
      const prev = byNode.get(id);
      if (!prev || fresh > prev.fresh) byNode.set(id, { any, fresh, replica: i });
    }
  });
  const ids = [...byNode.keys()].sort();
  const counts = answers.map(() => 0);
  const proxies: string[][] = answers.map(() => []);
  const resources: Any[] = [];
  for (const id of ids) {
    const k = byNode.get(id);
    if (!k) continue;
    resources.push(k.any);
    counts[k.replica] = (counts[k.replica] ?? 0) + 1;
    proxies[k.replica]?.push(id);
  }
  return { resources: [...resources, ...passThrough], controlPlane: controlPlaneOf(answers, counts, proxies, opts) };
}

/** config_dump: the resources of the first replica that answered (the one holding the proxy). */
export function mergeFirst(answers: readonly ReplicaAnswer[], opts: MergeOptions): Merged {
  const idx = answers.findIndex((a) => 'response' in a);
  const first = answers[idx];
  const resources = first && 'response' in first ? first.response.resources ?? [] : [];
  const counts = answers.map((_, i) => (i === idx ? resources.length : 0));
  const cp = controlPlaneOf(answers, counts, answers.map(() => []), { ...opts, attributeReplicas: false });
  return { resources, controlPlane: opts.attributeReplicas && first ? { ...cp, ID: replicaId(first) } : cp };
}

/** connections: nothing but the control plane. */
export function mergeEmpty(answers: readonly ReplicaAnswer[], opts: MergeOptions): Merged {
  return { resources: [], controlPlane: controlPlaneOf(answers, answers.map(() => 0), answers.map(() => []), opts) };
}

/**
 * `node.id` and the newest `generic_xds_configs[].last_updated` (ms, -1 when none) of an encoded
 * ClientConfig, read straight off the wire without decoding the rest (the merge's hot path).
 * Field numbers: ClientConfig.node = 1, .generic_xds_configs = 3; Node.id = 1;
 * GenericXdsConfig.last_updated = 5; Timestamp.seconds = 1, .nanos = 2.
 */
export function scanClientConfig(bytes: Uint8Array): { id: string; fresh: number } {
  const r = protobuf.Reader.create(bytes);
  let id = '';
  let fresh = -1;
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === 2) id = r.string(); else r.skipType(t & 7);
      }
    } else if (field === 3 && (tag & 7) === 2) {
      const end = r.uint32() + r.pos;
      while (r.pos < end) {
        const t = r.uint32();
        if (t >>> 3 === 5 && (t & 7) === 2) {
          const tsEnd = r.uint32() + r.pos;
          let seconds = 0;
          let nanos = 0;
          while (r.pos < tsEnd) {
            const u = r.uint32();
            if (u >>> 3 === 1 && (u & 7) === 0) { const v: unknown = r.int64(); seconds = typeof v === 'number' ? v : Number((v as { toString(): string }).toString()); }
            else if (u >>> 3 === 2 && (u & 7) === 0) nanos = r.int32();
            else r.skipType(u & 7);
          }
          fresh = Math.max(fresh, seconds * 1000 + Math.floor(nanos / 1e6));
        } else r.skipType(t & 7);
      }
    } else r.skipType(tag & 7);
  }
  return { id, fresh };
}
