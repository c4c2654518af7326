/**
 * VirtualService `http` routes on a sidecar's virtual host `<host>:<port>`, as istiod builds them for
 * mesh traffic. The VirtualService used for a service is the first (by namespace/name) that binds
 * to `mesh`, is exported to the proxy's namespace (`exportTo`: absent/`*` all, `.` its own, or
 * names) and names the service among its hosts (short names resolve in its namespace; wildcard
 * hosts are not matched yet). Each match of each route becomes one Envoy route (none: `/` prefix),
 * routes whose match names another port are left out, and routes after a match-all are dropped.
 * Facts followed: one destination → `cluster`, several → `weighted_clusters` without zero-weight
 * entries and without total_weight; a destination without a port takes the service's only port,
 * else the listener's; `timeout` (default 0s) is copied to max_grpc_timeout; retries absent → the
 * default policy, attempts 0 → none, else the default with num_retries, per_try_timeout and
 * retry_on (status codes in it go to retriable_status_codes); the route carries the object's
 * config path in `istio` metadata; the decorator names `<host>:<port><path>` for one cluster, else
 * `<vs name>:<port><path>`. On port 80 only, a VirtualService host that is no service on port 80
 * gets a virtual host of its own (`<host>:80`, domain the host). A VirtualService with a destination host the mesh does not know is
 * not used (the service keeps its default route): istiod would route to a cluster that does not exist.
 */
import type { HttpMatch, HttpRetries, HttpRoute, MeshView, DurationValue, RouteDestination, StringCondition, VirtualService } from '../../model/mesh-view.ts';
import type { Service } from '../../model/service.ts';
import { clusterName } from '../../model/cluster-names.ts';
import type * as T from '../../proto/types.ts';
import { defaultRetryPolicy } from './retry.ts';

type RouteAction = NonNullable<T.Route['route']>;
type StringMatcher = NonNullable<NonNullable<T.RouteMatch['headers']>[number]['stringMatch']>;

function resolveHost(h: string, namespace: string, domainSuffix: string): string {
  return h.includes('.') ? h : `${h}.${namespace}.svc.${domainSuffix}`;
}

function exportedTo(vs: VirtualService, namespace: string): boolean {
  const e = vs.exportTo ?? [];
  return e.length === 0 || e.some((x) => x === '*' || (x === '.' ? vs.namespace === namespace : x === namespace));
}

/** The VirtualService that routes mesh traffic to `hostname` for a proxy in `namespace`. */
export function meshVirtualServiceFor(view: MeshView, hostname: string, namespace: string): VirtualService | undefined {
  const suffix = view.mesh.domainSuffix;
  return (view.virtualServices?.() ?? []).find((vs) =>
    (vs.http ?? []).length > 0 && vs.gateways.includes('mesh') && exportedTo(vs, namespace) &&
    vs.hosts.some((h) => resolveHost(h, vs.namespace, suffix).toLowerCase() === hostname));
}

function duration(d: DurationValue | undefined): T.Duration {
  if (d === undefined) return { seconds: '0' };
  return d.nanos === 0 ? { seconds: String(d.seconds) } : { seconds: String(d.seconds), nanos: d.nanos };
}

function isZero(d: DurationValue | undefined): boolean {
  return d === undefined || (d.seconds === 0 && d.nanos === 0);
}

function stringMatcher(c: StringCondition): StringMatcher {
  if ('exact' in c) return { exact: c.exact };
  if ('prefix' in c) return { prefix: c.prefix };
  return { safeRegex: { regex: c.regex } };
}

function routeMatch(m: HttpMatch | undefined): T.RouteMatch {
  if (m === undefined) return { prefix: '/' };
  const uri = m.uri;
  const path: T.RouteMatch = uri === undefined || 'prefix' in uri ? { prefix: uri?.prefix ?? '/' } : 'exact' in uri ? { path: uri.exact } : { safeRegex: { regex: uri.regex } };
  const headers = [...m.headers.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => ({ name, stringMatch: stringMatcher(c) }));
  return { ...path, caseSensitive: { value: !m.ignoreUriCase }, ...(headers.length === 0 ? {} : { headers }) };
}

/** istiod's split of `retryOn`: HTTP status codes become retriable_status_codes. */
function parseRetryOn(retryOn: string): { on: string; codes: number[] } {
  const on: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    if (/^[0-9]+$/.test(part) && Number(part) >= 100 && Number(part) <= 599) codes.push(Number(part));
    else on.push(part);
  }
  let joined = on.join(',');
  if (codes.length > 0 && !joined.includes('retriable-status-codes')) joined += ',retriable-status-codes';
  return { on: joined, codes };
}

function retryPolicy(r: HttpRetries | undefined): T.RetryPolicy | undefined {
  if (r === undefined) return defaultRetryPolicy();
  if (r.attempts <= 0) return undefined;
  const out: T.RetryPolicy = { ...defaultRetryPolicy(), numRetries: { value: r.attempts } };
  if (r.retryOn !== undefined) {
    const { on, codes } = parseRetryOn(r.retryOn);
    out.retryOn = on;
    if (codes.length > 0) out.retriableStatusCodes = codes;
  }
  if (r.perTryTimeout !== undefined) out.perTryTimeout = duration(r.perTryTimeout);
  return out;
}

/** A destination without a port goes to the port the request came in on (istiod's per-port service copies have only it). */
function destinationCluster(d: RouteDestination, port: number): string {
  return clusterName({ direction: 'outbound', port: d.port ?? port, subset: d.subset, host: d.host });
}

function operation(m: T.RouteMatch, cluster: string | undefined, vsName: string, port: number): string {
  const path = m.path ?? (m.safeRegex?.regex !== undefined ? m.safeRegex.regex : `${m.prefix ?? '/'}*`);
  const parts = cluster?.split('|');
  return parts?.length === 4 && parts[3] !== undefined ? `${parts[3]}:${parts[1] ?? ''}${path}` : `${vsName}:${port}${path}`;
}

function envoyRoute(vs: VirtualService, r: HttpRoute, m: HttpMatch | undefined, port: number): T.Route {
  const match = routeMatch(m);
  const action: RouteAction = { timeout: duration(r.timeout), maxGrpcTimeout: isZero(r.timeout) ? { seconds: '0' } : duration(r.timeout) };
  const [first] = r.route;
  if (r.route.length === 1 && first !== undefined) action.cluster = destinationCluster(first, port);
  else action.weightedClusters = { clusters: r.route.filter((d) => d.weight > 0).map((d) => ({ name: destinationCluster(d, port), weight: { value: d.weight } })) };
  const retry = retryPolicy(r.retries);
  if (retry !== undefined) action.retryPolicy = retry;
  const name = m !== undefined && m.name !== '' ? `${r.name}.${m.name}` : r.name;
  return {
    ...(name === '' ? {} : { name }),
    match,
    metadata: { filterMetadata: { istio: { fields: { config: { stringValue: `/apis/networking.istio.io/v1/namespaces/${vs.namespace}/virtual-service/${vs.name}` } } } } },
    route: action,
    decorator: { operation: operation(match, action.cluster, vs.name, port) },
  };
}

/**
 * The routes of `svc`'s virtual host on `port` for a proxy in `namespace`, or undefined when no
 * usable VirtualService covers it (the caller keeps its default route).
 */
export function virtualServiceRoutes(view: MeshView, svc: Service, port: number, namespace: string): T.Route[] | undefined {
  const vs = meshVirtualServiceFor(view, svc.hostname, namespace);
  return vs === undefined ? undefined : routesOf(view, vs, port);
}

function routesOf(view: MeshView, vs: VirtualService, port: number): T.Route[] | undefined {
  const http = vs.http ?? [];
  if (http.some((r) => r.route.some((d) => view.service(d.host) === undefined))) return undefined;
  const out: T.Route[] = [];
  for (const r of http) {
    if (r.match.length === 0) { out.push(envoyRoute(vs, r, undefined, port)); break; }
    for (const m of r.match) if (m.port === undefined || m.port === port) out.push(envoyRoute(vs, r, m, port));
  }
  return out;
}

/**
 * Route configuration `80`: a virtual host per VirtualService host that is not a service with port
 * 80 visible to the proxy (istiod lets VirtualServices reach such hosts on port 80). Domains in
 * `used` are left out (and added).
 */
export function portEightyVirtualHosts(view: MeshView, visible: readonly Service[], namespace: string, used: Set<string>): T.VirtualHost[] {
  const onPort = new Set(visible.filter((s) => s.ports.some((p) => p.port === 80)).map((s) => s.hostname as string));
  const out: T.VirtualHost[] = [];
  const suffix = view.mesh.domainSuffix;
  for (const vs of view.virtualServices?.() ?? []) {
    if ((vs.http ?? []).length === 0 || !vs.gateways.includes('mesh') || !exportedTo(vs, namespace)) continue;
    for (const h of vs.hosts) {
      const host = resolveHost(h, vs.namespace, suffix).toLowerCase();
      if (host.includes('*') || onPort.has(host) || used.has(host)) continue;
      const routes = routesOf(view, vs, 80);
      if (routes === undefined || routes.length === 0) continue;
      used.add(host);
      out.push({ name: `${host}:80`, domains: [host], includeRequestAttemptCount: true, routes });
    }
  }
  return out;
}

/** Problems that make a VirtualService unusable for sidecar routes, each naming the object and field. */
export function virtualServiceProblems(view: MeshView): string[] {
  const out: string[] = [];
  for (const vs of view.virtualServices?.() ?? []) {
    for (const [i, r] of (vs.http ?? []).entries()) {
      for (const [j, d] of r.route.entries()) {
        if (view.service(d.host) === undefined) out.push(`VirtualService ${vs.namespace}/${vs.name}: spec.http[${i}].route[${j}].destination.host: no service ${d.host} in the mesh; its http routes are not used`);
      }
    }
  }
  return out;
}
