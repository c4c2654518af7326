/**
 * CDS for proxyless gRPC: `outbound|<port>|<subset>|<host>` EDS clusters over ADS
 * (`service_name` = cluster name), lb_policy ROUND_ROBIN (grpc-js-xds accepts ROUND_ROBIN and
 * RING_HASH only). gRPC has no transport_socket_matches, so one cluster is either all mTLS or all
 * plaintext: mTLS when the cluster has endpoints and every one of them is `tlsMode: istio`
 * (tls.grpcMutualUpstream: certificate-provider instance `default`, SANs of the service's
 * identities). Wildcard requests get every visible service port (and subsets).
 * Reads proxy.namespace (visibility).
 */
import type { Hostname } from '../../../model/ids.ts';
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { CLUSTER_TYPE_URL } from '../../../model/type-urls.ts';
import { clusterCodec } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { clusterEndpoints } from '../eds.ts';
import { clusterName, parseClusterName, type ClusterKey } from '../../../model/cluster-names.ts';
import { serviceVisibleTo, subsetsFor } from '../scope.ts';
import { ADS_CONFIG, grpcMutualUpstream, serviceIdentities, tlsTransportSocket } from '../tls.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from '../types.ts';

export const reads = ['namespace'] as const;

export function cacheKey(proxy: Proxy): string {
  return `grpc|${proxy.namespace}`;
}

function cluster(view: MeshView, name: string, key: ClusterKey): T.Cluster | undefined {
  const svc = view.service(key.host as Hostname);
  if (svc === undefined) return undefined;
  const eps = clusterEndpoints(view, key);
  if (eps === undefined) return undefined;
  const c: T.Cluster = {
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS_CONFIG, serviceName: name },
    lbPolicy: 'ROUND_ROBIN',
  };
  if (eps.length > 0 && eps.every((e) => e.endpoint.tlsMode === 'istio')) {
    c.transportSocket = tlsTransportSocket(grpcMutualUpstream(serviceIdentities(view, svc)));
  }
  return c;
}

function allNames(view: MeshView, namespace: string): string[] {
  const out: string[] = [];
  for (const svc of view.services()) {
    if (svc.resolution === 'Alias' || !serviceVisibleTo(svc, namespace)) continue;
    const subsets = ['', ...subsetsFor(view, svc.hostname).map((s) => s.name)];
    for (const p of svc.ports) {
      if (p.protocol === 'UDP') continue;
      for (const subset of subsets) out.push(clusterName({ direction: 'outbound', port: p.port, subset, host: svc.hostname }));
    }
  }
  return out;
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Cluster>[] {
  const wanted = names === 'wildcard' ? allNames(view, proxy.namespace) : names;
  const out: GeneratedResource<T.Cluster>[] = [];
  for (const name of new Set(wanted)) {
    const key = parseClusterName(name);
    if (key?.direction !== 'outbound') continue;
    const svc = view.service(key.host as Hostname);
    if (svc === undefined || !serviceVisibleTo(svc, proxy.namespace)) continue;
    const c = cluster(view, name, key);
    if (c !== undefined) out.push({ name, resource: c });
  }
  return out;
}

export const grpcCdsGenerator: ResourceGenerator<T.Cluster> = {
  typeUrl: CLUSTER_TYPE_URL,
  codec: clusterCodec,
  reads,
  cacheKey: (proxy) => cacheKey(proxy),
  generate,
};
