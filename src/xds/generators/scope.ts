/**
 * What a proxy may see of the mesh and how it names it: service visibility (`exportTo`), the VIPs a
 * proxy in a given cluster uses, the short host names a client in a namespace may write, and the
 * proxy's own (inbound) service ports. Pure functions of the view and the proxy fields they name.
 */
import type { Endpoint } from '../../model/endpoint.ts';
import type { MeshView, SidecarConfig } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { egressAdmits } from './sidecar-scope.ts';
import { UNSPECIFIED_IP, type Service } from '../../model/service.ts';
import { buildInboundIndex, inboundKey, type InboundIndex, type InboundPort } from './inbound-index.ts';

export type { InboundPort } from './inbound-index.ts';

/**
 * `networking.istio.io/exportTo`: absent or `*` = everyone, `.` = own namespace, `~` = nobody,
 * anything else = that namespace. Reads only the namespace asking.
 */
export function serviceVisibleTo(svc: Service, namespace: string): boolean {
  const exportTo = svc.exportTo;
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' ? svc.namespace === namespace : e !== '~' && e === namespace));
}

/**
 * Services a proxy in `namespace` gets config for (ExternalName aliases are not served yet): those
 * exported to the namespace and, for a sidecar under a Sidecar resource, admitted by its egress hosts.
 */
export function visibleServices(view: MeshView, namespace: string, sidecar?: SidecarConfig): Service[] {
  return view.services().filter((s) => s.resolution !== 'Alias' && serviceVisibleTo(s, namespace) && egressAdmits(sidecar, s));
}

function realVips(vips: readonly string[] | undefined): string[] {
  return (vips ?? []).filter((v) => v !== UNSPECIFIED_IP && v !== '');
}

/**
 * The VIPs a proxy in `clusterId` dials for a service: that cluster's ClusterIPs, or, when the
 * service has none there (it lives only in other clusters), every cluster's ClusterIPs, sorted.
 */
export function vipsForCluster(svc: Service, clusterId: string): string[] {
  const own = realVips([...svc.clusterVIPs.entries()].find(([c]) => c === clusterId)?.[1]);
  if (own.length > 0) return own;
  const all = new Set<string>();
  for (const vips of svc.clusterVIPs.values()) for (const v of realVips(vips)) all.add(v);
  return [...all].sort();
}

/**
 * Shorter names a client in `namespace` may use for `hostname` (Istio's alternate virtual hosts):
 * drop the DNS suffix shared with the proxy's domain `<namespace>.svc.<domainSuffix>`, then add the
 * unique part followed by each longer prefix of the shared suffix. `reviews.default.svc.cluster.local`
 * seen from `default`: `reviews`, `reviews.default.svc.cluster`, `reviews.default.svc`, `reviews.default`;
 * from another namespace: `reviews.default`, `reviews.default.svc.cluster`, `reviews.default.svc`.
 */
export function shortHostnames(hostname: string, namespace: string, domainSuffix: string): string[] {
  const host = hostname.split('.');
  const domain = `${namespace}.svc.${domainSuffix}`.split('.');
  let shared = 0;
  while (shared < host.length - 1 && shared < domain.length
    && host[host.length - 1 - shared] === domain[domain.length - 1 - shared]) shared++;
  if (shared === 0) return [];
  const unique = host.slice(0, host.length - shared).join('.');
  const suffix = host.slice(host.length - shared);
  const out = [unique];
  for (let keep = suffix.length - 1; keep > 0; keep--) out.push(`${unique}.${suffix.slice(0, keep).join('.')}`);
  return out;
}

const inboundIndexes = new WeakMap<MeshView, InboundIndex>();

/**
 * The proxy's own service ports: ports of services with an endpoint at the proxy's IP (in the
 * proxy's cluster when it names one, since pod CIDRs of different clusters may overlap).
 * Reads proxy.ip and proxy.clusterId. Memoised per (immutable) view.
 */
export function inboundPorts(proxy: Proxy, view: MeshView): readonly InboundPort[] {
  let index = inboundIndexes.get(view);
  if (index === undefined) inboundIndexes.set(view, index = buildInboundIndex(view));
  return index.get(inboundKey(proxy.ip, proxy.clusterId)) ?? NO_PORTS;
}

const NO_PORTS: readonly InboundPort[] = Object.freeze([]);
/** Keys of port lists: the index shares a list across views while it is unchanged. */
const portsKeys = new WeakMap<readonly InboundPort[], string>();

/** `9080/HTTP,3306/TCP`: what inbound config depends on, for cache keys. */
export function inboundPortsKey(ports: readonly InboundPort[]): string {
  let key = portsKeys.get(ports);
  if (key === undefined) portsKeys.set(ports, key = ports.map((p) => `${p.port}/${p.protocol}`).join(','));
  return key;
}

/** The endpoint's target port for a service port name. */
export function endpointPort(ep: Endpoint, portName: string): number | undefined {
  return ep.ports[portName];
}

/** Whether every `selector` entry is among `labels`. */
export function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** DestinationRule subsets declared for a host (first rule wins per subset name). */
export function subsetsFor(view: MeshView, host: string): { readonly name: string; readonly labels: Readonly<Record<string, string>> }[] {
  const seen = new Set<string>();
  const out: { name: string; labels: Readonly<Record<string, string>> }[] = [];
  for (const dr of view.destinationRules()) {
    if (dr.host !== host) continue;
    for (const s of dr.subsets) {
      if (s.name === '' || seen.has(s.name)) continue;
      seen.add(s.name);
      out.push({ name: s.name, labels: s.labels });
    }
  }
  return out;
}
