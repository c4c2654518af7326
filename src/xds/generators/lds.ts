/**
 * LDS for Envoy sidecars (Istio's sidecar listeners, simplified):
 * - `virtualOutbound` (0.0.0.0:15001, use_original_dst): hands each captured connection to the
 *   listener of its original destination, else TCP-proxies it to PassthroughCluster (a connection
 *   to 15001 itself to BlackHoleCluster);
 * - `0.0.0.0_<port>` for every port some visible service declares with an HTTP protocol: an
 *   HttpConnectionManager with RDS route config `<port>` for plaintext HTTP, anything else to
 *   PassthroughCluster (sidecar-http.ts; bind_to_port false);
 * - `<vip>_<port>` for every other (TCP, TLS, undeclared) port of a visible service with a VIP:
 *   tcp_proxy to `outbound|<port>||<host>`, or, for a port declared without a protocol, HTTP sniffing
 *   (sidecar-http.ts). VIPs are those of the proxy's cluster (scope.vipsForCluster);
 *   a name already taken is skipped. Headless services get no TCP listener;
 * - `virtualInbound` (0.0.0.0:15006, original_dst + tls_inspector listener filters): per own
 *   service port an Istio mTLS chain (SDS `default`/`ROOTCA`, client certificate of the trust domain
 *   required) and a plaintext chain (PERMISSIVE) to `inbound|<port>||`, through an HTTP connection
 *   manager for HTTP ports (the app gets the caller's identity in `x-forwarded-client-cert`) and a
 *   tcp_proxy for the others (sidecar-inbound.ts); PeerAuthentication (peer-authn.ts) keeps only the
 *   mTLS chain (STRICT) or only the plaintext chain (DISABLE); anything else to InboundPassthroughCluster,
 *   except connections to 15006 itself (BlackHoleCluster).
 * UDP ports get nothing. Reads proxy.namespace (visibility), proxy.clusterId (VIPs), proxy.ip +
 * proxy.clusterId (inbound ports) and proxy.labels (PeerAuthentication selectors). Routers are served by lds-gateway.ts.
 */
import type { MeshView, SidecarConfig } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { isHttpProtocol } from '../../model/service.ts';
import { LISTENER_TYPE_URL } from '../../model/type-urls.ts';
import { listenerCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { originalDstFilter, socketAddress, tcpProxyFilter, tlsInspectorFilter } from './filters.ts';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, VIRTUAL_INBOUND_LISTENER, VIRTUAL_INBOUND_PORT, VIRTUAL_OUTBOUND_LISTENER, VIRTUAL_OUTBOUND_PORT, listenerName } from './names.ts';
import { clusterName } from '../../model/cluster-names.ts';
import { inboundChains } from './sidecar-inbound.ts';
import { inboundMtlsPolicy, modeForPort, type InboundMtlsPolicy } from './peer-authn.ts';
import { httpInspectorFilter, outboundHttpListenerParts, sniffedListenerParts } from './sidecar-http.ts';
import { passthroughChains } from './sidecar-passthrough.ts';
import { sniffedRouteName } from './rds.ts';
import { inboundPorts, inboundPortsKey, vipsForCluster, visibleServices, type InboundPort } from './scope.ts';
import { sidecarFor, sidecarKey } from './sidecar-scope.ts';
import { selectRequested, type GeneratedResource, type RequestedNames, type ResourceGenerator } from './types.ts';

export const reads = ['namespace', 'clusterId', 'ip (inbound ports)', 'labels (PeerAuthentication and Sidecar selectors)'] as const;

/**
 * The part of the inbound chains PeerAuthentication decides: `<port>=<mode>` of every inbound port,
 * the workload's mode (passthrough chains) and the port-level modes of ports no Service declares.
 */
function inboundModesKey(ports: readonly InboundPort[], policy: InboundMtlsPolicy): string {
  // Both are shared while unchanged (the default policy; the inbound index's port lists across views).
  let byPorts = modesKeys.get(policy);
  if (byPorts === undefined) modesKeys.set(policy, byPorts = new WeakMap<readonly InboundPort[], string>());
  let key = byPorts.get(ports);
  if (key === undefined) byPorts.set(ports, key = modesKeyOf(ports, policy));
  return key;
}

const modesKeys = new WeakMap<InboundMtlsPolicy, WeakMap<readonly InboundPort[], string>>();

function modesKeyOf(ports: readonly InboundPort[], policy: InboundMtlsPolicy): string {
  const declared = new Set(ports.map((p) => p.port));
  const undeclared = [...policy.ports].filter(([p]) => !declared.has(p)).sort(([a], [b]) => a - b).map(([p, m]) => `${p}=${m}`);
  return `${ports.map((p) => `${p.port}=${modeForPort(policy, p.port)}`).join(',')}|*=${policy.mode}|${undeclared.join(',')}`;
}

export function cacheKey(proxy: Proxy, view: MeshView): string {
  const ports = inboundPorts(proxy, view);
  return `sidecar|${proxy.namespace}|${sidecarKey(sidecarFor(view, proxy.namespace, proxy.labels))}|${proxy.clusterId}|${inboundPortsKey(ports)}|${inboundModesKey(ports, inboundMtlsPolicy(view, proxy.namespace, proxy.labels))}`;
}

const WILDCARD = '0.0.0.0';

function virtualOutbound(): T.Listener {
  return {
    name: VIRTUAL_OUTBOUND_LISTENER,
    address: socketAddress(WILDCARD, VIRTUAL_OUTBOUND_PORT),
    useOriginalDst: { value: true },
    trafficDirection: 'OUTBOUND',
    filterChains: [
      // A connection addressed to 15001 itself would loop through the capture forever: drop it.
      { name: 'virtualOutbound-blackhole', filterChainMatch: { destinationPort: { value: VIRTUAL_OUTBOUND_PORT } }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER)] },
      { name: 'virtualOutbound-catchall-tcp', filters: [tcpProxyFilter(PASSTHROUGH_CLUSTER)] },
    ],
  };
}

type ListenerFilter = NonNullable<T.Listener['listenerFilters']>[number];

/** Envoy's predicate "the destination port is one of `ports`". */
function onPorts(ports: readonly number[]): NonNullable<ListenerFilter['filterDisabled']> {
  const rules = ports.map((p) => ({ destinationPortRange: { start: p, end: p + 1 } }));
  return rules.length === 1 && rules[0] !== undefined ? rules[0] : { orMatch: { rules } };
}

/**
 * The listener filters of virtualInbound, as istiod picks them: original_dst; tls_inspector when some
 * chain matches on TLS, and http_inspector when some chain sniffs plaintext HTTP (a passthrough chain
 * not under STRICT), each turned off on 15006 and on the ports whose chains do not need it (port 0
 * stands for the passthrough chains of all other ports, which never arrive on port 0: istiod lists it
 * too). No listener filter timeout: a client that is slow to speak is waited for, as with istiod.
 */
function inboundListenerFilters(ports: readonly InboundPort[], policy: InboundMtlsPolicy): Pick<T.Listener, 'listenerFilters' | 'listenerFiltersTimeout' | 'continueOnListenerFiltersTimeout'> {
  const needs = new Map<number, { tls: boolean; sniff: boolean }>();
  for (const p of ports) needs.set(p.port, { tls: modeForPort(policy, p.port) !== 'DISABLE', sniff: false });
  for (const [port, mode] of policy.ports) if (!needs.has(port)) needs.set(port, { tls: mode !== 'DISABLE', sniff: mode !== 'STRICT' });
  needs.set(0, { tls: policy.mode !== 'DISABLE', sniff: policy.mode !== 'STRICT' });
  const sorted = [...needs.entries()].sort(([a], [b]) => a - b);
  const off = (k: 'tls' | 'sniff'): number[] => [...sorted.filter(([, n]) => !n[k]).map(([p]) => p), VIRTUAL_INBOUND_PORT].sort((a, b) => a - b);
  const any = (k: 'tls' | 'sniff'): boolean => sorted.some(([, n]) => n[k]);
  return {
    listenerFilters: [
      originalDstFilter(),
      ...(any('tls') ? [{ ...tlsInspectorFilter(), filterDisabled: onPorts(off('tls')) }] : []),
      ...(any('sniff') ? [{ ...httpInspectorFilter(), filterDisabled: onPorts(off('sniff')) }] : []),
    ],
    listenerFiltersTimeout: { seconds: '0' },
    continueOnListenerFiltersTimeout: true,
  };
}

function virtualInbound(ports: readonly InboundPort[], trustDomain: string, policy: InboundMtlsPolicy): T.Listener {
  return {
    name: VIRTUAL_INBOUND_LISTENER,
    address: socketAddress(WILDCARD, VIRTUAL_INBOUND_PORT),
    trafficDirection: 'INBOUND',
    ...inboundListenerFilters(ports, policy),
    filterChains: [
      // A connection addressed to 15006 itself would come back here through InboundPassthroughCluster forever.
      { name: 'virtualInbound-blackhole', filterChainMatch: { destinationPort: { value: VIRTUAL_INBOUND_PORT } }, filters: [tcpProxyFilter(BLACKHOLE_CLUSTER)] },
      ...ports.flatMap((p) => inboundChains(p, trustDomain, modeForPort(policy, p.port))),
      ...passthroughChains(policy, new Set(ports.map((p) => p.port)), trustDomain),
    ],
  };
}

function httpListener(port: number): T.Listener {
  const name = listenerName(WILDCARD, port);
  return {
    name,
    address: socketAddress(WILDCARD, port),
    bindToPort: { value: false },
    trafficDirection: 'OUTBOUND',
    ...outboundHttpListenerParts(`outbound_${name}`, String(port)),
  };
}

function tcpListener(vip: string, port: number, cluster: string, sniffRoute?: string): T.Listener {
  const name = listenerName(vip, port);
  return {
    name,
    address: socketAddress(vip, port),
    bindToPort: { value: false },
    trafficDirection: 'OUTBOUND',
    ...(sniffRoute === undefined ? { filterChains: [{ filters: [tcpProxyFilter(cluster)] }] } : sniffedListenerParts(`outbound_${name}`, sniffRoute, cluster)),
  };
}

/** The outbound listeners, sorted by name; the first service (by host name) wins a contested name. */
export function outboundListeners(view: MeshView, namespace: string, clusterId: string, sidecar?: SidecarConfig): T.Listener[] {
  const byName = new Map<string, T.Listener>();
  for (const svc of visibleServices(view, namespace, sidecar)) {
    for (const p of svc.ports) {
      if (p.protocol === 'UDP') continue;
      if (isHttpProtocol(p.protocol)) {
        const l = httpListener(p.port);
        if (l.name !== undefined && !byName.has(l.name)) byName.set(l.name, l);
        continue;
      }
      const cluster = clusterName({ direction: 'outbound', port: p.port, subset: '', host: svc.hostname });
      for (const vip of vipsForCluster(svc, clusterId)) {
        const l = tcpListener(vip, p.port, cluster, p.protocol === 'UnsupportedProtocol' ? sniffedRouteName(svc.hostname, p.port) : undefined);
        if (l.name !== undefined && !byName.has(l.name)) byName.set(l.name, l);
      }
    }
  }
  return [...byName.keys()].sort().map((k) => byName.get(k)).filter((l): l is T.Listener => l !== undefined);
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Listener>[] {
  const policy = inboundMtlsPolicy(view, proxy.namespace, proxy.labels);
  const listeners = [virtualOutbound(), virtualInbound(inboundPorts(proxy, view), view.mesh.trustDomain, policy), ...outboundListeners(view, proxy.namespace, proxy.clusterId, sidecarFor(view, proxy.namespace, proxy.labels))];
  return selectRequested(listeners.map((l) => ({ name: l.name ?? '', resource: l })), names);
}

export const ldsGenerator: ResourceGenerator<T.Listener> = {
  typeUrl: LISTENER_TYPE_URL,
  codec: listenerCodec,
  reads,
  cacheKey,
  generate,
};
