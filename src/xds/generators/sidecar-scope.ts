/**
 * Which Sidecar resource governs a proxy and which services it lets the proxy see, as istiod picks
 * it: a Sidecar of the proxy's namespace whose workloadSelector matches the proxy's labels, else
 * its namespace's Sidecar without a selector, else the root namespace's Sidecar without a selector,
 * else none (every service exported to the namespace is visible). Of several at one scope the
 * oldest wins (then by name). Egress hosts `<namespace>/<host>` admit a service when the namespace
 * part is `*` or the service's namespace (`~` admits none) and the host part is `*`, a `*.<suffix>`
 * the hostname ends with, or the hostname. Pure functions of the view and the proxy's namespace and labels.
 */
import type { EgressHost, MeshView, SidecarConfig } from '../../model/mesh-view.ts';
import type { Service } from '../../model/service.ts';
import { oldest } from './config-precedence.ts';

const hasSelector = (s: SidecarConfig) => Object.keys(s.selector).length > 0;

/** The Sidecar in force for a sidecar proxy in `namespace` with `labels`; undefined: none. */
export function sidecarFor(view: MeshView, namespace: string, labels: Readonly<Record<string, string>>): SidecarConfig | undefined {
  const all = view.sidecars?.() ?? [];
  if (all.length === 0) return undefined;
  const own = all.filter((s) => s.namespace === namespace);
  return oldest(own.filter((s) => hasSelector(s) && Object.entries(s.selector).every(([k, v]) => labels[k] === v)))
    ?? oldest(own.filter((s) => !hasSelector(s)))
    ?? oldest(all.filter((s) => s.inRootNamespace && !hasSelector(s)));
}

/** `ns/name` of the Sidecar in force (`''`: none): what the config of a proxy depends on. */
export function sidecarKey(sidecar: SidecarConfig | undefined): string {
  return sidecar === undefined ? '' : `${sidecar.namespace}/${sidecar.name}`;
}

function admits(h: EgressHost, svc: Service): boolean {
  if (h.namespace === '~' || (h.namespace !== '*' && h.namespace !== svc.namespace)) return false;
  if (h.host === '*') return true;
  if (h.host.startsWith('*.')) return svc.hostname.endsWith(h.host.slice(1));
  return svc.hostname === h.host;
}

/** Whether the Sidecar lets its proxies see `svc` (no Sidecar: yes). */
export function egressAdmits(sidecar: SidecarConfig | undefined, svc: Service): boolean {
  return sidecar === undefined || sidecar.egressHosts.some((h) => admits(h, svc));
}
