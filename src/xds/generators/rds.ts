/**
 * RDS for Envoy sidecars: route configuration `<port>` for every port some visible service declares
 * with an HTTP protocol (the name the `0.0.0.0_<port>` listener asks for). One virtual host
 * `<host>:<port>` per such service, with domains: the FQDN, the short names a client in the proxy's
 * namespace may use (scope.shortHostnames), for headless services `*.`-prefixed forms of those (pod
 * names under the service), the VIPs of the proxy's cluster, each also with
 * `:<port>`; a domain already used by an earlier host (by host name order) is left out, as Envoy
 * rejects duplicates. Last, `allow_any` (`*`) to PassthroughCluster (outbound policy ALLOW_ANY).
 * Service routes carry the default retry policy (retry.ts); every virtual host counts attempts.
 * A VirtualService bound to `mesh` for the service replaces the default route with its `http`
 * routes (vs-routes.ts), on both the `<port>` and the sniffed `<host>:<port>` configurations;
 * configuration `80` also gets virtual hosts for VirtualService hosts that are no service on port 80.
 * A port declared without a protocol is sniffed on its `<vip>_<port>` listener, whose HTTP chain asks
 * for route configuration `<host>:<port>`: one virtual host for any authority to that service.
 * Reads proxy.namespace (visibility, short names) and proxy.clusterId (VIPs).
 */
import type { MeshView, SidecarConfig } from '../../model/mesh-view.ts';
import type { Proxy } from '../../model/proxy.ts';
import { isHttpProtocol, type Service } from '../../model/service.ts';
import { ROUTE_CONFIGURATION_TYPE_URL } from '../../model/type-urls.ts';
import { routeConfigurationCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { PASSTHROUGH_CLUSTER } from './names.ts';
import { clusterName } from '../../model/cluster-names.ts';
import { defaultRetryPolicy } from './retry.ts';
import { portEightyVirtualHosts, virtualServiceRoutes } from './vs-routes.ts';
import { shortHostnames, vipsForCluster, visibleServices } from './scope.ts';
import { sidecarFor, sidecarKey } from './sidecar-scope.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from './types.ts';

export const reads = ['namespace', 'clusterId', 'labels (Sidecar selectors)'] as const;

export function cacheKey(proxy: Proxy, view: MeshView): string {
  return `${proxy.namespace}|${proxy.clusterId}|${sidecarKey(sidecarFor(view, proxy.namespace, proxy.labels))}`;
}

function route(cluster: string, operation: string): T.Route {
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster, timeout: { seconds: '0' }, maxGrpcTimeout: { seconds: '0' }, retryPolicy: defaultRetryPolicy() },
    decorator: { operation },
  };
}

function domainsFor(svc: Service, port: number, namespace: string, domainSuffix: string, clusterId: string): string[] {
  const hostNames = [svc.hostname as string, ...shortHostnames(svc.hostname, namespace, domainSuffix)];
  // A headless service's pods have names of their own under it (`<pod>.<service>...`, StatefulSets).
  const podNames = svc.resolution === 'Passthrough' ? hostNames.map((n) => `*.${n}`) : [];
  const names = [...hostNames, ...podNames, ...vipsForCluster(svc, clusterId)];
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

/** The route configuration for one port (only `allow_any` when no visible service serves HTTP on it). */
export function routeConfigForPort(view: MeshView, port: number, namespace: string, clusterId: string, sidecar?: SidecarConfig): T.RouteConfiguration {
  const used = new Set<string>();
  const virtualHosts: T.VirtualHost[] = [];
  for (const svc of visibleServices(view, namespace, sidecar)) {
    const sp = svc.ports.find((p) => p.port === port && isHttpProtocol(p.protocol));
    if (sp === undefined) continue;
    const domains = domainsFor(svc, port, namespace, view.mesh.domainSuffix, clusterId).filter((d) => !used.has(d));
    if (domains.length === 0) continue;
    for (const d of domains) used.add(d);
    const host = `${svc.hostname}:${port}`;
    virtualHosts.push({
      name: host,
      domains,
      includeRequestAttemptCount: true,
      routes: virtualServiceRoutes(view, svc, port, namespace) ?? [route(clusterName({ direction: 'outbound', port, subset: '', host: svc.hostname }), `${host}/*`)],
    });
  }
  if (port === 80) virtualHosts.push(...portEightyVirtualHosts(view, visibleServices(view, namespace, sidecar), namespace, used));
  virtualHosts.push({ name: 'allow_any', domains: ['*'], includeRequestAttemptCount: true, routes: [{ name: 'allow_any', match: { prefix: '/' }, route: { cluster: PASSTHROUGH_CLUSTER, timeout: { seconds: '0' }, maxGrpcTimeout: { seconds: '0' } } }] });
  return { name: String(port), virtualHosts, validateClusters: { value: false } };
}

/** The route configuration of a sniffed port (declared without a protocol): `<host>:<port>`. */
export function sniffedRouteName(host: string, port: number): string {
  return `${host}:${port}`;
}

/** One virtual host matching any authority, to the service's cluster (the listener already picked the service by VIP). */
function sniffedRouteConfig(view: MeshView, svc: Service, port: number, namespace: string): T.RouteConfiguration {
  const name = sniffedRouteName(svc.hostname, port);
  return {
    name,
    virtualHosts: [{ name, domains: ['*'], includeRequestAttemptCount: true, routes: virtualServiceRoutes(view, svc, port, namespace) ?? [route(clusterName({ direction: 'outbound', port, subset: '', host: svc.hostname }), `${name}/*`)] }],
    validateClusters: { value: false },
  };
}

function sniffedRoutes(view: MeshView, namespace: string, sidecar: SidecarConfig | undefined): Map<string, T.RouteConfiguration> {
  const out = new Map<string, T.RouteConfiguration>();
  for (const svc of visibleServices(view, namespace, sidecar)) {
    for (const p of svc.ports) if (p.protocol === 'UnsupportedProtocol') out.set(sniffedRouteName(svc.hostname, p.port), sniffedRouteConfig(view, svc, p.port, namespace));
  }
  return out;
}

function httpPorts(view: MeshView, namespace: string, sidecar: SidecarConfig | undefined): number[] {
  const ports = new Set<number>();
  for (const svc of visibleServices(view, namespace, sidecar)) for (const p of svc.ports) if (isHttpProtocol(p.protocol)) ports.add(p.port);
  return [...ports].sort((a, b) => a - b);
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.RouteConfiguration>[] {
  const sidecar = sidecarFor(view, proxy.namespace, proxy.labels);
  const sniffed = sniffedRoutes(view, proxy.namespace, sidecar);
  const wanted = names === 'wildcard' ? [...httpPorts(view, proxy.namespace, sidecar).map(String), ...sniffed.keys()] : names;
  const out: GeneratedResource<T.RouteConfiguration>[] = [];
  for (const name of new Set(wanted)) {
    const s = sniffed.get(name);
    if (s !== undefined) out.push({ name, resource: s });
    else if (/^[0-9]{1,5}$/.test(name)) out.push({ name, resource: routeConfigForPort(view, Number(name), proxy.namespace, proxy.clusterId, sidecar) });
    // other names (gateway routes) are not served yet
  }
  return out;
}

export const rdsGenerator: ResourceGenerator<T.RouteConfiguration> = {
  typeUrl: ROUTE_CONFIGURATION_TYPE_URL,
  codec: routeConfigurationCodec,
  reads,
  cacheKey,
  generate,
};
