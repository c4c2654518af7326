/**
 * RDS for proxyless gRPC: route configuration `<host>:<port>` (the name the client listener asks
 * for) with one virtual host whose domains are the host as written, the FQDN, and each with
 * `:<port>` (gRPC matches the channel authority), routing prefix `/` to `outbound|<port>||<fqdn>`
 * with the default retry policy (retry.ts; gRPC acts on the status codes it knows: unavailable, cancelled),
 * or the routes of the mesh VirtualService for the host (vs-routes.ts), as sidecars get them.
 * Reads proxy.namespace (short names, visibility).
 */
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { ROUTE_CONFIGURATION_TYPE_URL } from '../../../model/type-urls.ts';
import { routeConfigurationCodec } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { clusterName } from '../../../model/cluster-names.ts';
import { defaultRetryPolicy } from '../retry.ts';
import { virtualServiceRoutes } from '../vs-routes.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from '../types.ts';
import { allTargetNames, resolveTarget } from './target.ts';

export const reads = ['namespace'] as const;

export function cacheKey(proxy: Proxy): string {
  return `grpc|${proxy.namespace}`;
}

/**
 * A sidecar's VirtualService route, for a gRPC client: the request timeout is a maximum stream
 * duration (gRPC's deadline, as istiod writes it) instead of Envoy's max_grpc_timeout.
 */
function forGrpc(r: T.Route): T.Route {
  const action = r.route;
  if (action === undefined) return r;
  const { maxGrpcTimeout, ...rest } = action;
  const positive = maxGrpcTimeout !== undefined && (Number(maxGrpcTimeout.seconds ?? 0) > 0 || (maxGrpcTimeout.nanos ?? 0) > 0);
  return { ...r, route: positive ? { ...rest, maxStreamDuration: { maxStreamDuration: maxGrpcTimeout } } : rest };
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.RouteConfiguration>[] {
  const wanted = names === 'wildcard' ? allTargetNames(view, proxy.namespace) : names;
  const out: GeneratedResource<T.RouteConfiguration>[] = [];
  for (const name of new Set(wanted)) {
    const t = resolveTarget(view, name, proxy.namespace);
    if (t === undefined) continue;
    const fqdn = t.service.hostname as string;
    const domains = [...new Set([t.host, `${t.host}:${t.port}`, fqdn, `${fqdn}:${t.port}`])];
    const cluster = clusterName({ direction: 'outbound', port: t.port, subset: '', host: fqdn });
    out.push({
      name,
      resource: {
        name,
        virtualHosts: [{
          name, domains, includeRequestAttemptCount: true,
          // A mesh VirtualService for the host routes it (weights, subsets, retries, timeouts, matches), as for sidecars.
          routes: virtualServiceRoutes(view, t.service, t.port, proxy.namespace)?.map(forGrpc)
            ?? [{ name: 'default', match: { prefix: '/' }, route: { cluster, retryPolicy: defaultRetryPolicy() } }],
        }],
      },
    });
  }
  return out;
}

export const grpcRdsGenerator: ResourceGenerator<T.RouteConfiguration> = {
  typeUrl: ROUTE_CONFIGURATION_TYPE_URL,
  codec: routeConfigurationCodec,
  reads,
  cacheKey: (proxy) => cacheKey(proxy),
  generate,
};
