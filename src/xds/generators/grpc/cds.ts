/**
 * CDS for proxyless gRPC: `outbound|<port>|<subset>|<host>` EDS clusters over ADS
 * (`service_name` = cluster name). As istiod, a DestinationRule decides what differs from gRPC's
 * defaults: `http2MaxRequests` as the only circuit
 * breaker gRPC honours, and mTLS only when its TLS mode is ISTIO_MUTUAL (tls.grpcMutualUpstream:
 * certificate-provider instance `default`, SANs of the service's identities). Without one the client
 * dials plaintext: a gRPC client cannot know whether the server is a proxyless server with xDS
 * credentials or a sidecar in PERMISSIVE mode, so istiod never turns mTLS on by itself.
 * (istiod also passes on a LEAST_REQUEST load balancer, which grpc-js-xds refuses: Isthmus keeps ROUND_ROBIN.)
 * Wildcard requests get every visible service port (and subsets). Reads proxy.namespace (visibility).
 */
import type { Hostname } from '../../../model/ids.ts';
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { CLUSTER_TYPE_URL } from '../../../model/type-urls.ts';
import { clusterCodec } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { clusterEndpoints } from '../eds.ts';
import { effectiveTrafficPolicy } from '../traffic-policy.ts';
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
  const policy = effectiveTrafficPolicy(view, key.host, key.port, key.subset);
  const c: T.Cluster = {
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS_CONFIG, serviceName: name },
    // istiod sends LEAST_REQUEST when the rule asks for it; @grpc/grpc-js-xds 1.14 NACKs that
    // cluster (only ROUND_ROBIN and RING_HASH), so Isthmus keeps gRPC's default.
    lbPolicy: 'ROUND_ROBIN',
  };
  const maxRequests = policy.connectionPool?.http?.http2MaxRequests ?? 0;
  if (maxRequests > 0) c.circuitBreakers = { thresholds: [{ maxRequests: { value: maxRequests } }] };
  if (policy.tls?.mode === 'ISTIO_MUTUAL') c.transportSocket = tlsTransportSocket(grpcMutualUpstream(serviceIdentities(view, svc)));
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
