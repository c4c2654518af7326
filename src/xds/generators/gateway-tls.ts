/**
 * TLS PASSTHROUGH servers of Istio Gateways (the guide's `istiod-gateway`, docs/istio-compat.md §3.3):
 * the connection stays encrypted end to end and is routed by its SNI with the `tls` routes of the
 * VirtualServices bound to the Gateway. Per route match one filter chain: `server_names` = the
 * match's `sniHosts` (none for `*`, a catch-all), a tcp_proxy to `outbound|<port>|<subset>|<host>`
 * (weighted when the route has several destinations). The first route claiming an SNI wins, as in
 * Istio; later claims of the same SNI are dropped so Envoy never sees two equal matches.
 */
import type { MeshView, RouteDestination, TlsMatch, VirtualService } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { packAny, tcpProxyCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { EXT } from './extra-codecs.ts';
import { tcpProxyFilter } from './filters.ts';
import { gatewaysForProxy } from './gateway-scope.ts';
import { clusterName } from '../../model/cluster-names.ts';

export interface TlsPassthroughServer {
  readonly port: number;
  readonly hosts: readonly string[];
  /** `<namespace>/<name>` of the Gateway. */
  readonly gateway: string;
  readonly gatewayNamespace: string;
}

/** The PASSTHROUGH servers of the Gateways selecting the proxy. */
export function tlsPassthroughServers(proxy: Proxy, view: MeshView): TlsPassthroughServer[] {
  const out: TlsPassthroughServer[] = [];
  for (const g of gatewaysForProxy(proxy, view)) {
    for (const s of g.servers) {
      if (s.tls?.mode === 'PASSTHROUGH') out.push({ port: s.port.number, hosts: s.hosts, gateway: `${g.namespace}/${g.name}`, gatewayNamespace: g.namespace });
    }
  }
  return out;
}

/** Whether two host patterns (`*`, `*.suffix`, exact) can name the same host. */
export function hostsOverlap(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  const wa = a.startsWith('*.');
  const wb = b.startsWith('*.');
  if (wa && wb) return a.endsWith(b.slice(1)) || b.endsWith(a.slice(1));
  if (wa) return b.endsWith(a.slice(1));
  if (wb) return a.endsWith(b.slice(1));
  return a === b;
}

/** Whether a server host entry `[<namespace>/]<host>` admits a VirtualService host. */
function serverAdmits(entry: string, vs: VirtualService, gatewayNamespace: string, vsHost: string): boolean {
  const slash = entry.indexOf('/');
  const ns = slash >= 0 ? entry.slice(0, slash) : '*';
  if (ns !== '*' && (ns === '.' ? gatewayNamespace : ns) !== vs.namespace) return false;
  return hostsOverlap(slash >= 0 ? entry.slice(slash + 1) : entry, vsHost);
}

function boundTo(vs: VirtualService, server: TlsPassthroughServer): boolean {
  return vs.gateways.includes(server.gateway)
    && vs.hosts.some((h) => server.hosts.some((e) => serverAdmits(e, vs, server.gatewayNamespace, h)));
}

function matchApplies(m: TlsMatch, vs: VirtualService, server: TlsPassthroughServer): boolean {
  if (m.port !== undefined && m.port !== server.port) return false;
  return m.gateways.length === 0 ? vs.gateways.includes(server.gateway) : m.gateways.includes(server.gateway);
}

/** The cluster of one destination; undefined when its port cannot be known (no port and not exactly one). */
function destinationCluster(view: MeshView, d: RouteDestination): string | undefined {
  let port = d.port;
  if (port === undefined) {
    const ports = view.service(d.host)?.ports ?? [];
    if (ports.length !== 1) return undefined;
    port = ports[0]?.port;
  }
  return port === undefined ? undefined : clusterName({ direction: 'outbound', port, subset: d.subset, host: d.host });
}

function routeFilter(view: MeshView, route: readonly RouteDestination[]): T.Filter | undefined {
  const clusters: { name: string; weight: number }[] = [];
  for (const d of route) {
    const name = destinationCluster(view, d);
    if (name === undefined) return undefined;
    if (route.length === 1 || d.weight > 0) clusters.push({ name, weight: d.weight });
  }
  const first = clusters[0];
  if (first === undefined) return undefined;
  if (clusters.length === 1) return tcpProxyFilter(first.name);
  const statPrefix = clusters.map((c) => c.name).join(',');
  return { name: EXT.tcpProxy, typedConfig: packAny(tcpProxyCodec, { statPrefix, weightedClusters: { clusters } }) };
}

/** Filter chains for the PASSTHROUGH servers on one port, from the VirtualServices bound to them. */
export function tlsPassthroughChains(view: MeshView, servers: readonly TlsPassthroughServer[]): T.FilterChain[] {
  const chains: T.FilterChain[] = [];
  const claimed = new Set<string>();
  let catchAll = false;
  for (const server of servers) {
    for (const vs of view.virtualServices?.() ?? []) {
      if (!boundTo(vs, server)) continue;
      for (const r of vs.tls) {
        const filter = routeFilter(view, r.route);
        if (filter === undefined) continue;
        for (const m of r.match) {
          if (!matchApplies(m, vs, server)) continue;
          if (m.sniHosts.includes('*')) {
            if (!catchAll) chains.push({ filters: [filter] });
            catchAll = true;
            continue;
          }
          const names = m.sniHosts.filter((h) => !claimed.has(h));
          if (names.length === 0) continue;
          for (const h of names) claimed.add(h);
          chains.push({ filterChainMatch: { serverNames: names }, filters: [filter] });
        }
      }
    }
  }
  // A catch-all chain has no match; Envoy picks the most specific chain, so its position does not matter.
  return chains;
}
