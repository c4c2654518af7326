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
import type { Service } from '../../model/service.ts';
import { oldest } from './config-precedence.ts';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

export interface InboundMtlsPolicy {
  /** The mode of ports without a port-level override. */
  readonly mode: EffectiveMtlsMode;
  /** Target port -> mode, from the workload policy's portLevelMtls. */
  readonly ports: ReadonlyMap<number, EffectiveMtlsMode>;
}

export const DEFAULT_POLICY: InboundMtlsPolicy = { mode: 'PERMISSIVE', ports: new Map() };

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

/**
 * The mTLS mode a client assumes for a whole service (istiod's best-effort inference, used by auto
 * mTLS when no DestinationRule sets TLS): a headless (or PASSTHROUGH) service whose endpoints on the
 * port are missing or not all sidecar-injected is DISABLE; otherwise the service namespace's policy
 * (namespace-wide, else mesh-wide), PERMISSIVE by default. Workload-level policies are per endpoint.
 */
export function serviceMtlsMode(view: MeshView, svc: Service, port: number, passthrough: boolean): EffectiveMtlsMode {
  if (passthrough) {
    const sp = svc.ports.find((p) => p.port === port);
    const eps = view.endpoints(svc.hostname).filter((e) => sp === undefined || e.ports[sp.name] !== undefined);
    if (eps.length === 0 || eps.some((e) => e.tlsMode !== 'istio')) return 'DISABLE';
  }
  return inboundMtlsPolicy(view, svc.namespace, {}).mode;
}
