/**
 * Which mTLS mode a sidecar's inbound port runs in, from the mesh's PeerAuthentications (as istiod
 * composes them): the mesh-wide policy (root namespace, no selector), then the namespace-wide one
 * (the proxy's namespace, no selector), then the workload one (the proxy's namespace, selector
 * matching the proxy's labels) each override the wider one unless their mode is UNSET; of several
 * policies at one scope the oldest wins (then by name). The workload policy's `portLevelMtls` sets
 * the mode of single target ports (UNSET there: the workload's mode). Default PERMISSIVE.
 * Pure functions of the view, the proxy's namespace and labels.
 */
import type { MeshView, MtlsMode, PeerAuthentication } from '../../model/mesh-view.ts';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export interface InboundMtlsPolicy {
  /** The mode of ports without a port-level override. */
  readonly mode: EffectiveMtlsMode;
  /** Target port -> mode, from the workload policy's portLevelMtls. */
  readonly ports: ReadonlyMap<number, EffectiveMtlsMode>;
}

export const DEFAULT_POLICY: InboundMtlsPolicy = { mode: 'PERMISSIVE', ports: new Map() };

function older(a: PeerAuthentication, b: PeerAuthentication): boolean {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp;
  if (a.name !== b.name) return a.name < b.name;
  return a.namespace < b.namespace;
}

function oldest(list: readonly PeerAuthentication[]): PeerAuthentication | undefined {
  let best: PeerAuthentication | undefined;
  for (const p of list) if (best === undefined || older(p, best)) best = p;
  return best;
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function hasSelector(p: PeerAuthentication): boolean {
  return Object.keys(p.selector).length > 0;
}

/** The policy in force for a workload in `namespace` with `labels`. */
export function inboundMtlsPolicy(view: MeshView, namespace: string, labels: Readonly<Record<string, string>>): InboundMtlsPolicy {
  const all = view.peerAuthentications?.() ?? [];
  if (all.length === 0) return DEFAULT_POLICY;
  const mesh = oldest(all.filter((p) => p.inRootNamespace && !hasSelector(p)));
  const own = all.filter((p) => !p.inRootNamespace && p.namespace === namespace);
  const ns = oldest(own.filter((p) => !hasSelector(p)));
  const workload = oldest(own.filter((p) => hasSelector(p) && selects(p.selector, labels)));
  let mode: EffectiveMtlsMode = 'PERMISSIVE';
  for (const p of [mesh, ns, workload]) if (p !== undefined && p.mode !== 'UNSET') mode = p.mode;
  const ports = new Map<number, EffectiveMtlsMode>();
  for (const pl of workload?.portLevelMtls ?? []) ports.set(pl.port, pl.mode === 'UNSET' ? mode : pl.mode);
  return { mode, ports };
}

export function modeForPort(policy: InboundMtlsPolicy, port: number): EffectiveMtlsMode {
  return policy.ports.get(port) ?? policy.mode;
}
