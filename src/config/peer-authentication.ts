/**
 * `security.istio.io/v1` (and v1beta1, the same objects) PeerAuthentications, converted into the
 * model sidecar inbound reads: scope (root namespace = mesh-wide, selector = workload), mode and
 * per-port modes. Pure; every error names the field that is wrong. Checks as istiod's validation:
 * a known mode, port-level modes only with a selector, ports 1-65535.
 */
import type { KubeObject } from '../kube/types.ts';
import type { MtlsMode, PeerAuthentication } from '../model/mesh-view.ts';
import { type Result, isRecord, selectorLabels } from './fields.ts';

interface IstioObject extends KubeObject { readonly spec?: unknown }

export const MTLS_MODES: readonly MtlsMode[] = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'];

/** `{ mode }` (absent object or mode: UNSET). */
function mtlsMode(v: unknown, field: string): Result<MtlsMode> {
  if (v === undefined || v === null) return { ok: true, value: 'UNSET' };
  if (!isRecord(v)) return { ok: false, error: `${field}: want an object with mode` };
  const mode = v['mode'] ?? 'UNSET';
  if (typeof mode !== 'string' || !(MTLS_MODES as readonly string[]).includes(mode)) {
    return { ok: false, error: `${field}.mode: want one of ${MTLS_MODES.join(', ')}, got ${JSON.stringify(mode)}` };
  }
  return { ok: true, value: mode as MtlsMode };
}

/** A PeerAuthentication, validated; `rootNamespace` is the mesh's (the control plane's system namespace). */
export function convertPeerAuthentication(obj: IstioObject, rootNamespace: string): Result<PeerAuthentication> {
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) return { ok: false, error: 'spec: want an object' };
  const selector = selectorLabels(spec['selector'], 'spec.selector', 'matchLabels');
  if (!selector.ok) return selector;
  const mode = mtlsMode(spec['mtls'], 'spec.mtls');
  if (!mode.ok) return mode;
  const rawPorts = spec['portLevelMtls'] ?? {};
  if (!isRecord(rawPorts)) return { ok: false, error: 'spec.portLevelMtls: want a map of port number to { mode }' };
  const portLevelMtls: { port: number; mode: MtlsMode }[] = [];
  for (const [key, m] of Object.entries(rawPorts)) {
    const field = `spec.portLevelMtls.${key}`;
    const port = Number(key);
    if (!/^[0-9]+$/.test(key) || port < 1 || port > 65535) return { ok: false, error: `${field}: port want 1-65535` };
    const pm = mtlsMode(m, field);
    if (!pm.ok) return pm;
    portLevelMtls.push({ port, mode: pm.value });
  }
  if (portLevelMtls.length > 0 && Object.keys(selector.value).length === 0) {
    return { ok: false, error: 'spec.portLevelMtls: needs spec.selector (port-level modes apply to selected workloads only)' };
  }
  const namespace = obj.metadata.namespace ?? '';
  return {
    ok: true,
    value: {
      name: obj.metadata.name, namespace, inRootNamespace: namespace === rootNamespace,
      selector: selector.value, mode: mode.value,
      portLevelMtls: portLevelMtls.sort((a, b) => a.port - b.port),
      creationTimestamp: obj.metadata.creationTimestamp ?? '',
    },
  };
}
