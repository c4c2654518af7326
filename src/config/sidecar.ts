/**
 * `networking.istio.io/v1` Sidecar resources, converted into the model the generators read: scope
 * (root namespace = every namespace without its own, workloadSelector = selected workloads) and the
 * egress hosts that limit which services the proxies get config for. Pure; every error names the
 * field that is wrong, as istiod's validation does: hosts in `<namespace>/<host>` form, a namespace
 * part that is `*`, `.`, `~` or a name, a host part that is `*`, `*.<suffix>` or a host name.
 *
 * Isthmus applies the hosts of every egress listener to every port. The fields it does not apply
 * (an egress listener's `port`, `bind`, `captureMode`; `ingress`; `outboundTrafficPolicy`) are
 * reported back as notes, so the user knows what is ignored; the hosts still apply.
 */
import type { KubeObject } from '../kube/types.ts';
import type { EgressHost, SidecarConfig } from '../model/mesh-view.ts';
import { isRecord, selectorLabels } from './fields.ts';

interface IstioObject extends KubeObject { readonly spec?: unknown }

export type SidecarResult = { ok: true; value: SidecarConfig; notes: readonly string[] } | { ok: false; error: string };

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HOST = /^(\*|(\*\.)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*)$/;

function egressHost(raw: unknown, field: string, ownNamespace: string): { ok: true; value: EgressHost } | { ok: false; error: string } {
  if (typeof raw !== 'string') return { ok: false, error: `${field}: want a string "<namespace>/<host>"` };
  const slash = raw.indexOf('/');
  if (slash <= 0) return { ok: false, error: `${field}: ${JSON.stringify(raw)} is not "<namespace>/<host>"` };
  const ns = raw.slice(0, slash);
  const host = raw.slice(slash + 1);
  if (ns !== '*' && ns !== '.' && ns !== '~' && !NAMESPACE.test(ns)) return { ok: false, error: `${field}: namespace ${JSON.stringify(ns)} is not *, ., ~ or a namespace name` };
  if (!HOST.test(host)) return { ok: false, error: `${field}: host ${JSON.stringify(host)} is not *, *.<suffix> or a host name` };
  return { ok: true, value: { namespace: ns === '.' ? ownNamespace : ns, host: host.toLowerCase() } };
}

/** A Sidecar, validated; `rootNamespace` is the mesh's (the control plane's system namespace). */
export function convertSidecar(obj: IstioObject, rootNamespace: string): SidecarResult {
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) return { ok: false, error: 'spec: want an object' };
  const namespace = obj.metadata.namespace ?? '';
  const selector = selectorLabels(spec['workloadSelector'], 'spec.workloadSelector', 'labels');
  if (!selector.ok) return selector;
  const notes: string[] = [];
  const rawEgress = spec['egress'] ?? [];
  if (!Array.isArray(rawEgress)) return { ok: false, error: 'spec.egress: want a list' };
  const egressHosts: EgressHost[] = [];
  for (const [i, e] of rawEgress.entries()) {
    const at = `spec.egress[${i}]`;
    if (!isRecord(e)) return { ok: false, error: `${at}: want an object` };
    const hosts = e['hosts'];
    if (!Array.isArray(hosts) || hosts.length === 0) return { ok: false, error: `${at}.hosts: want a non-empty list of "<namespace>/<host>"` };
    for (const [j, h] of hosts.entries()) {
      const r = egressHost(h, `${at}.hosts[${j}]`, namespace);
      if (!r.ok) return r;
      egressHosts.push(r.value);
    }
    for (const f of ['port', 'bind', 'captureMode']) if (e[f] !== undefined) notes.push(`${at}.${f} is not applied by Isthmus: the listener's hosts apply to every port`);
  }
  for (const f of ['ingress', 'outboundTrafficPolicy', 'inboundConnectionPool']) if (spec[f] !== undefined) notes.push(`spec.${f} is not applied by Isthmus`);
  return {
    ok: true,
    value: {
      name: obj.metadata.name, namespace, inRootNamespace: namespace === rootNamespace, selector: selector.value,
      // No egress at all: istiod's default egress listener, every namespace's services.
      egressHosts: rawEgress.length === 0 ? [{ namespace: '*', host: '*' }] : egressHosts,
      creationTimestamp: obj.metadata.creationTimestamp ?? '',
    },
    notes,
  };
}
