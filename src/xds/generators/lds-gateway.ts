/**
 * LDS for routers (gateways). TLS servers that keep the client's TLS untouched are served:
 * - AUTO_PASSTHROUGH (docs/istio-compat.md §3.4): per target (service matching a server host, non-UDP
 *   port, no subset + each DestinationRule subset) a filter chain matching SNI
 *   `outbound_.<port>_.<subset>_.<host>` and Istio's mTLS ALPNs, with a tcp_proxy to the SNI-DNAT
 *   cluster of the same name;
 * - PASSTHROUGH (docs/istio-compat.md §3.3, `istiod-gateway`): chains from the `tls` routes of the VirtualServices bound
 *   to the Gateway (gateway-tls.ts).
 * Per server port one listener `0.0.0.0_<port>` with the TLS inspector and no TLS context of its own;
 * a port without chains gets no listener, and an SNI no chain matches is refused (connection closed).
 * Servers that terminate TLS or speak HTTP (ingress) are not served yet.
 * Reads proxy.type and proxy.labels (the Gateways selecting the proxy).
 */
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { LISTENER_TYPE_URL } from '../../model/type-urls.ts';
import { listenerCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { socketAddress, tcpProxyFilter, tlsInspectorFilter } from './filters.ts';
import { autoPassthroughServers, gatewayKey, sniTargets, type PassthroughServer } from './gateway-scope.ts';
import { tlsPassthroughChains, tlsPassthroughServers, type TlsPassthroughServer } from './gateway-tls.ts';
import { ALPN_ISTIO_MTLS, listenerName } from './names.ts';
import { sniName } from '../../model/cluster-names.ts';
import { selectRequested, type GeneratedResource, type RequestedNames, type ResourceGenerator } from './types.ts';

export const reads = ['type', 'namespace (exportTo)', 'labels (selecting Gateways, and through them VirtualServices)'] as const;

export function cacheKey(proxy: Proxy, view: MeshView): string {
  return `router|${proxy.namespace}|${gatewayKey(proxy, view)}`;
}

function listener(view: MeshView, namespace: string, port: number, auto: readonly PassthroughServer[], tls: readonly TlsPassthroughServer[]): T.Listener | undefined {
  const chains: T.FilterChain[] = [...autoPassthroughChains(view, auto, namespace), ...tlsPassthroughChains(view, tls)];
  if (chains.length === 0) return undefined;
  return {
    name: listenerName('0.0.0.0', port),
    address: socketAddress('0.0.0.0', port),
    trafficDirection: 'OUTBOUND',
    listenerFilters: [tlsInspectorFilter()],
    filterChains: chains,
  };
}

function autoPassthroughChains(view: MeshView, servers: readonly PassthroughServer[], namespace: string): T.FilterChain[] {
  const chains: T.FilterChain[] = [];
  const seen = new Set<string>();
  for (const t of sniTargets(view, servers, namespace)) {
    const sni = sniName({ direction: 'outbound', port: t.port.port, subset: t.subset, host: t.service.hostname });
    if (seen.has(sni)) continue;
    seen.add(sni);
    chains.push({
      name: sni,
      filterChainMatch: { serverNames: [sni], applicationProtocols: [...ALPN_ISTIO_MTLS] },
      filters: [tcpProxyFilter(sni)],
    });
  }
  return chains;
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Listener>[] {
  const auto = autoPassthroughServers(proxy, view);
  const tls = tlsPassthroughServers(proxy, view);
  const ports = new Set([...auto.map((s) => s.port), ...tls.map((s) => s.port)]);
  const out: GeneratedResource<T.Listener>[] = [];
  for (const port of [...ports].sort((a, b) => a - b)) {
    const l = listener(view, proxy.namespace, port, auto.filter((s) => s.port === port), tls.filter((s) => s.port === port));
    if (l !== undefined) out.push({ name: l.name ?? '', resource: l });
  }
  return selectRequested(out, names);
}

export const gatewayLdsGenerator: ResourceGenerator<T.Listener> = {
  typeUrl: LISTENER_TYPE_URL,
  codec: listenerCodec,
  reads,
  cacheKey,
  generate,
};
