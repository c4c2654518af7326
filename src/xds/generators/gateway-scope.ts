/**
 * Which Istio Gateways apply to a router proxy and what their AUTO_PASSTHROUGH servers expose
 * (docs/istio-compat.md §3.4): a Gateway applies when every selector label is on the proxy; a server
 * host `[<namespace>/]<host>` matches a service when the namespace part is `*`, `.` (the Gateway's
 * namespace) or the service's namespace, and the host part is `*`, `*.<suffix>` or the hostname.
 */
import type { IstioGateway, IstioGatewayServer, MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import type { Service, ServicePort } from '../../model/service.ts';
import { labelsMatch, serviceVisibleTo, subsetsFor } from './scope.ts';

/** Istio Gateways selecting this proxy (routers only). Reads proxy.type and proxy.labels. */
export function gatewaysForProxy(proxy: Proxy, view: MeshView): IstioGateway[] {
  if (proxy.type !== 'router') return [];
  return view.istioGateways().filter((g) => Object.keys(g.selector).length > 0 && labelsMatch(g.selector, proxy.labels));
}

/** `ns/name` of the applicable Gateways: what router config depends on besides the view. */
export function gatewayKey(proxy: Proxy, view: MeshView): string {
  return gatewaysForProxy(proxy, view).map((g) => `${g.namespace}/${g.name}`).sort().join(',');
}

export interface PassthroughServer {
  readonly port: number;
  readonly hosts: readonly string[];
  readonly gatewayNamespace: string;
}

function isAutoPassthrough(s: IstioGatewayServer): boolean {
  return s.tls?.mode === 'AUTO_PASSTHROUGH';
}

/** The AUTO_PASSTHROUGH servers of the Gateways selecting the proxy. */
export function autoPassthroughServers(proxy: Proxy, view: MeshView): PassthroughServer[] {
  const out: PassthroughServer[] = [];
  for (const g of gatewaysForProxy(proxy, view)) {
    for (const s of g.servers) if (isAutoPassthrough(s)) out.push({ port: s.port.number, hosts: s.hosts, gatewayNamespace: g.namespace });
  }
  return out;
}

export function hostMatches(entry: string, svc: Service, gatewayNamespace: string): boolean {
  const slash = entry.indexOf('/');
  const ns = slash >= 0 ? entry.slice(0, slash) : '*';
  const host = slash >= 0 ? entry.slice(slash + 1) : entry;
  if (ns !== '*' && (ns === '.' ? gatewayNamespace : ns) !== svc.namespace) return false;
  if (host === '*') return true;
  if (host.startsWith('*.')) return svc.hostname.endsWith(host.slice(1));
  return svc.hostname === host;
}

/** One SNI-DNAT target: a service port and a subset (`''` = the whole service). */
export interface SniTarget {
  readonly service: Service;
  readonly port: ServicePort;
  readonly subset: string;
}

/**
 * Targets of the given servers: every service (not an ExternalName alias) exported to the gateway's
 * own namespace (`proxyNamespace`) and matching a host, every non-UDP port, once without a subset and
 * once per DestinationRule subset. Sorted by host, port, subset. A namespace-private service is thus
 * never exposed cross-network by a gateway in another namespace, as with istiod.
 */
export function sniTargets(view: MeshView, servers: readonly PassthroughServer[], proxyNamespace: string): SniTarget[] {
  if (servers.length === 0) return [];
  const out: SniTarget[] = [];
  for (const svc of view.services()) {
    if (svc.resolution === 'Alias' || !serviceVisibleTo(svc, proxyNamespace)) continue;
    if (!servers.some((s) => s.hosts.some((h) => hostMatches(h, svc, s.gatewayNamespace)))) continue;
    const subsets = ['', ...subsetsFor(view, svc.hostname).map((s) => s.name)];
    for (const port of [...svc.ports].sort((a, b) => a.port - b.port)) {
      if (port.protocol === 'UDP') continue;
      for (const subset of subsets) out.push({ service: svc, port, subset });
    }
  }
  return out;
}
