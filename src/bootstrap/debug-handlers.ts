/**
 * istiod's debug paths over this control plane's state, as JSON shaped like istiod's where istiod
 * has the path: clusterz, registryz, endpointShardz, networkz, syncz, connections, config_dump,
 * push_status, plus the path list.
 */
import type { DebugServer, DebugResult } from '../debug/server.ts';
import type { RemoteClusterStatus } from '../kube/multicluster/secretcontroller.ts';
import type { Endpoint } from '../model/endpoint.ts';
import { localityString } from '../model/endpoint.ts';
import type { TypeUrl } from '../model/ids.ts';
import { XDS_SHORT_NAMES } from '../model/type-urls.ts';
import type { RegistrySnapshot } from '../registry/shards.ts';
import { configStatus } from '../xds/protocol/watch.ts';
import type { AdsServer } from '../xds/server/ads-server.ts';

export interface ClusterInfo extends RemoteClusterStatus {
  /** Whether this control plane may lead the cluster (EXTERNAL_ISTIOD + controlPlaneClusters). */
  readonly shouldLead?: boolean;
  /** Whether this replica holds the cluster's election lock right now. */
  readonly leading?: boolean;
  readonly healthy?: boolean;
}

export interface DebugSources {
  readonly clusters: () => readonly ClusterInfo[];
  readonly registry: () => RegistrySnapshot;
  readonly ads: AdsServer;
  readonly pushStatus: () => unknown;
}

const json = (v: unknown): DebugResult => ({ status: 200, json: v });

function endpointJson(e: Endpoint) {
  return {
    address: e.address, ports: e.ports, cluster: e.cluster, network: e.network, locality: localityString(e.locality),
    serviceAccount: e.serviceAccount, tlsMode: e.tlsMode, healthy: e.healthy, labels: e.labels,
    ...(e.pod ? { pod: `${e.pod.namespace}/${e.pod.name}` } : {}),
  };
}

function typeName(t: TypeUrl): string {
  return XDS_SHORT_NAMES.get(t) ?? t;
}

export function registerDebugHandlers(server: DebugServer, src: DebugSources): void {
  server.handle('/debug/list', () => ({ status: 200, text: `${server.paths().join('\n')}\n` }));
  server.handle('/debug/clusterz', () => json(src.clusters().map(({ secret, ...rest }) => ({ secretName: secret, ...rest }))));
  server.handle('/debug/registryz', () => json(src.registry().services().map((s) => ({
    hostname: s.hostname, namespace: s.namespace, name: s.name, ports: s.ports, resolution: s.resolution,
    clusterVIPs: Object.fromEntries(s.clusterVIPs), externalAddresses: Object.fromEntries(s.clusterExternalAddresses),
    serviceAccounts: s.serviceAccounts, labels: s.labels,
  }))));
  server.handle('/debug/endpointShardz', () => {
    const reg = src.registry();
    const out: Record<string, Record<string, { Shards: Record<string, unknown[]> }>> = {};
    for (const h of reg.endpointHostnames()) {
      for (const shard of reg.shardsFor(h)) {
        const byNs = (out[h] ??= {});
        const entry = (byNs[shard.namespace] ??= { Shards: {} });
        entry.Shards[shard.cluster] = shard.endpoints.map(endpointJson);
      }
    }
    return json(out);
  });
  server.handle('/debug/networkz', () => json(src.registry().gateways.map((g) => ({
    Network: g.network, Cluster: g.cluster ?? '', Addr: g.address, Port: g.port, HBONEPort: g.hbonePort, Source: g.source,
  }))));
  server.handle('/debug/connections', () => json(src.ads.connections().map((c) => ({
    conId: c.conId, node: c.proxy.id, name: c.proxy.name, peer: c.peer, connectedAt: c.connectedAt.toISOString(),
    clusterId: c.proxy.clusterId, network: c.proxy.network, identity: c.identity?.spiffe ?? null,
    watched: [...c.watches.keys()].map(typeName),
  }))));
  server.handle('/debug/syncz', () => json(src.ads.connections().filter((c) => c.proxy.generator !== 'event').map((c) => ({
    proxy: c.proxy.name, cluster_id: c.proxy.clusterId, istio_version: c.proxy.istioVersion, proxy_type: c.proxy.type,
    types: Object.fromEntries([...c.watches.values()].map((w) => [typeName(w.typeUrl), {
      status: configStatus(w), sent: w.nonceSent, acked: w.nonceAcked, version: w.versionSent, error: w.lastError || undefined,
    }])),
  }))));
  server.handle('/debug/config_dump', (q) => {
    const id = q.get('proxyID') ?? '';
    const conn = src.ads.connections().find((c) => c.proxy.name === id || c.proxy.id === id || c.conId === id);
    if (!conn) return { status: 404, text: `Proxy not connected to this Pilot instance: ${id}\n` };
    return json({ proxy: conn.proxy.id, watched: [...conn.watches.values()].map((w) => ({ type: typeName(w.typeUrl), version: w.versionSent, resources: [...w.sentNames] })) });
  });
  server.handle('/debug/push_status', () => json(src.pushStatus()));
}
