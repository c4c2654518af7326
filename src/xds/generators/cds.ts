/**
 * CDS for Envoy proxies.
 *
 * Sidecar: for every service visible to the proxy's namespace (`exportTo`), each port and each
 * DestinationRule subset, `outbound|<port>|<subset>|<host>`; `inbound|<port>||` for the proxy's
 * own service ports (services with an endpoint at the proxy's IP in its cluster, see
 * scope.inboundPorts); BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster.
 * Reads proxy.namespace, proxy.ip and proxy.clusterId (only through the inbound port set).
 *
 * Router (gateways): the outbound clusters of every service, BlackHoleCluster, and for a gateway
 * selected by an AUTO_PASSTHROUGH server the SNI-DNAT clusters `outbound_.<port>_.<subset>_.<host>`
 * of the matching services. Reads proxy.type and proxy.labels (through the Gateways selecting it).
 *
 * Envoy subscribes to clusters with a wildcard; named requests get the named subset.
 */
import type { MeshView, SidecarConfig } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { CLUSTER_TYPE_URL } from '../../model/type-urls.ts';
import { clusterCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import {
  INBOUND_PASSTHROUGH_CLUSTER, blackHoleCluster, inboundCluster, outboundCluster, passthroughCluster, sniDnatCluster,
} from './cluster-builder.ts';
import { autoPassthroughServers, gatewayKey, sniTargets } from './gateway-scope.ts';
import { inboundPorts, inboundPortsKey, subsetsFor, visibleServices } from './scope.ts';
import { sidecarFor, sidecarKey } from './sidecar-scope.ts';
import { selectRequested, type GeneratedResource, type RequestedNames, type ResourceGenerator } from './types.ts';

export const reads = ['type', 'namespace', 'ip + clusterId (inbound ports)', 'labels (router: selecting Gateways; sidecar: selecting Sidecar resources)'] as const;

export function cacheKey(proxy: Proxy, view: MeshView): string {
  if (proxy.type === 'router') return `router|${proxy.namespace}|${gatewayKey(proxy, view)}`;
  return `sidecar|${proxy.namespace}|${sidecarKey(sidecarFor(view, proxy.namespace, proxy.labels))}|${inboundPortsKey(inboundPorts(proxy, view))}`;
}

function named(c: T.Cluster): GeneratedResource<T.Cluster> {
  return { name: c.name ?? '', resource: c };
}

/** Outbound clusters of the services exported to `namespace` (the proxy's: routers too, as istiod). */
function outboundClusters(view: MeshView, namespace: string, sidecar: SidecarConfig | undefined, onSidecar: boolean): GeneratedResource<T.Cluster>[] {
  const out: GeneratedResource<T.Cluster>[] = [];
  for (const svc of visibleServices(view, namespace, sidecar)) {
    const subsets = ['', ...subsetsFor(view, svc.hostname).map((s) => s.name)];
    for (const port of svc.ports) {
      for (const subset of subsets) out.push(named(outboundCluster(view, svc, port, subset, onSidecar)));
    }
  }
  return out;
}

export function generateSidecar(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Cluster>[] {
  const all = [
    ...outboundClusters(view, proxy.namespace, sidecarFor(view, proxy.namespace, proxy.labels), true),
    ...inboundPorts(proxy, view).map((p) => named(inboundCluster(p.port, p.protocol))),
    named(blackHoleCluster()),
    named(passthroughCluster()),
    named(passthroughCluster(INBOUND_PASSTHROUGH_CLUSTER)),
  ];
  return selectRequested(all, names);
}

export function generateRouter(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Cluster>[] {
  const targets = sniTargets(view, autoPassthroughServers(proxy, view), proxy.namespace);
  const all = [
    ...outboundClusters(view, proxy.namespace, undefined, false),
    ...targets.map((t) => named(sniDnatCluster(view, t.service, t.port, t.subset))),
    named(blackHoleCluster()),
  ];
  return selectRequested(all, names);
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Cluster>[] {
  return proxy.type === 'router' ? generateRouter(proxy, view, names) : generateSidecar(proxy, view, names);
}

export const cdsGenerator: ResourceGenerator<T.Cluster> = {
  typeUrl: CLUSTER_TYPE_URL,
  codec: clusterCodec,
  reads,
  cacheKey,
  generate,
};
