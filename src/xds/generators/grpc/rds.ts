/**
 * RDS for proxyless gRPC: route configuration `<host>:<port>` (the name the client listener asks
 * for) with one virtual host whose domains are the host as written, the FQDN, and each with
 * `:<port>` (gRPC matches the channel authority), routing prefix `/` to `outbound|<port>||<fqdn>`
 * with the default retry policy (retry.ts; gRPC acts on the status codes it knows: unavailable, cancelled).
 * Reads proxy.namespace (short names, visibility).
 */
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { ROUTE_CONFIGURATION_TYPE_URL } from '../../../model/type-urls.ts';
import { routeConfigurationCodec } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { clusterName } from '../../../model/cluster-names.ts';
import { defaultRetryPolicy } from '../retry.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from '../types.ts';
import { allTargetNames, resolveTarget } from './target.ts';

export const reads = ['namespace'] as const;

export function cacheKey(proxy: Proxy): string {
  return `grpc|${proxy.namespace}`;
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
        virtualHosts: [{ name, domains, includeRequestAttemptCount: true, routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, retryPolicy: defaultRetryPolicy() } }] }],
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
