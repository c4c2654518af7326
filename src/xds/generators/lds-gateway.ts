/**
 * LDS for routers (gateways). Only AUTO_PASSTHROUGH servers are served (docs/istio-compat.md §3.4): per
 * server port a listener `0.0.0.0_<port>` with the TLS inspector and, per target (service matching a
 * server host, non-UDP port, no subset + each DestinationRule subset), a filter chain matching
 * SNI `outbound_.<port>_.<subset>_.<host>` and Istio's mTLS ALPNs, with no TLS context of its own
 * (passthrough) and a tcp_proxy to the SNI-DNAT cluster of the same name. A port without targets
 * gets no listener. Other server modes (ingress) are not served yet.
 * Reads proxy.type and proxy.labels (the Gateways selecting the proxy).
 */
import type { MeshView } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { LISTENER_TYPE_URL } from '../../model/type-urls.ts';
import { listenerCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { socketAddress, tcpProxyFilter, tlsInspectorFilter } from './filters.ts';
import { autoPassthroughServers, gatewayKey, sniTargets, type PassthroughServer } from './gateway-scope.ts';
import { ALPN_ISTIO_MTLS, listenerName, sniName } from './names.ts';
import { selectRequested, type GeneratedResource, type RequestedNames, type ResourceGenerator } from './types.ts';

export const reads = ['type', 'labels (selecting Gateways)'] as const;

export function cacheKey(proxy: Proxy, view: MeshView): string {
  return `router|${gatewayKey(proxy, view)}`;
}

function passthroughListener(view: MeshView, port: number, servers: readonly PassthroughServer[]): T.Listener | undefined {
  const chains: T.FilterChain[] = [];
  const seen = new Set<string>();
  for (const t of sniTargets(view, servers)) {
    const sni = sniName({ direction: 'outbound', port: t.port.port, subset: t.subset, host: t.service.hostname });
    if (seen.has(sni)) continue;
    seen.add(sni);
    chains.push({
      name: sni,
      filterChainMatch: { serverNames: [sni], applicationProtocols: [...ALPN_ISTIO_MTLS] },
      filters: [tcpProxyFilter(sni)],
    });
  }
  if (chains.length === 0) return undefined;
  return {
    name: listenerName('0.0.0.0', port),
    address: socketAddress('0.0.0.0', port),
    trafficDirection: 'OUTBOUND',
    listenerFilters: [tlsInspectorFilter()],
    filterChains: chains,
  };
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Listener>[] {
  const byPort = new Map<number, PassthroughServer[]>();
  for (const s of autoPassthroughServers(proxy, view)) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s]);
  const out: GeneratedResource<T.Listener>[] = [];
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    const l = passthroughListener(view, port, byPort.get(port) ?? []);
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
