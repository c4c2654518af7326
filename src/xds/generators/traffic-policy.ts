/**
 * DestinationRule traffic policies on outbound clusters, as istiod applies them. The settings for a
 * (host, port, subset) are the rule's top-level ones, replaced wholesale by its `portLevelSettings`
 * entry for the port when there is one; a subset's policy then replaces each part it sets (all four
 * parts when it has an entry for the port). On the cluster:
 * - connectTimeout from `tcp.connectTimeout`; circuit-breaker thresholds from `tcp.maxConnections`,
 *   `http.http1MaxPendingRequests`, `http.http2MaxRequests`, `http.maxRetries` (each only when > 0,
 *   else Istio's unlimited defaults); idle timeout and `maxRequestsPerConnection` as HTTP protocol options;
 * - the load balancer (`LEAST_REQUEST` by default, `ROUND_ROBIN`, `RANDOM`; `PASSTHROUGH` dials the
 *   original destination);
 * - outlier detection on consecutive 5xx and gateway errors, success-rate ejection off, and the panic
 *   threshold set to `minHealthPercent` (0 when unset);
 * - locality-weighted balancing when `localityLbSetting` distributes, or fails over with outlier
 *   detection on (the EDS side of locality load balancing is in locality-lb.ts);
 * - client TLS: `DISABLE` plaintext, `ISTIO_MUTUAL` Istio mTLS to every endpoint (not on SNI-DNAT
 *   clusters, which pass the client's TLS through).
 */
import type { DurationValue, MeshView, TrafficPolicy, TrafficPolicySettings } from '../../model/mesh-view.ts';
import type * as T from '../../proto/types.ts';
import type { HttpProtocolOptions } from './extra-codecs.ts';
import { effectiveLocalityLb } from './locality-lb.ts';

export type Parts = Pick<TrafficPolicySettings, 'loadBalancer' | 'localityLbSetting' | 'connectionPool' | 'outlierDetection' | 'tls'>;

function parts(s: TrafficPolicySettings): Parts {
  const out: { -readonly [K in keyof Parts]: Parts[K] } = {};
  if (s.loadBalancer !== undefined) out.loadBalancer = s.loadBalancer;
  if (s.localityLbSetting !== undefined) out.localityLbSetting = s.localityLbSetting;
  if (s.connectionPool !== undefined) out.connectionPool = s.connectionPool;
  if (s.outlierDetection !== undefined) out.outlierDetection = s.outlierDetection;
  if (s.tls !== undefined) out.tls = s.tls;
  return out;
}

/** A policy's settings for one port: its port-level entry replaces all parts, else the top level. */
function forPort(p: TrafficPolicy, port: number): { readonly settings: Parts; readonly portLevel: boolean } {
  const pl = p.portLevelSettings.find((x) => x.port === port);
  return pl ? { settings: parts(pl), portLevel: true } : { settings: parts(p), portLevel: false };
}

/** The settings in force for `host`'s `port` and `subset` (`''`: the whole service); `{}` without a rule. */
export function effectiveTrafficPolicy(view: MeshView, host: string, port: number, subset: string): Parts {
  const dr = view.destinationRules().find((d) => d.host === host);
  if (dr === undefined) return {};
  const base = dr.trafficPolicy ? forPort(dr.trafficPolicy, port).settings : {};
  const sp = subset === '' ? undefined : dr.subsets.find((s) => s.name === subset)?.trafficPolicy;
  if (sp === undefined) return base;
  const own = forPort(sp, port);
  if (own.portLevel) return own.settings;
  const merged = { ...base, ...own.settings };
  // A subset's `loadBalancer` section replaces the inherited one whole, `simple` and locality alike.
  if (own.settings.localityLbSetting !== undefined && own.settings.loadBalancer === undefined) delete merged.loadBalancer;
  return merged;
}

const duration = (d: DurationValue): { seconds: string; nanos?: number } => ({ seconds: String(d.seconds), ...(d.nanos > 0 ? { nanos: d.nanos } : {}) });

/** What the policy does to one cluster, given its HTTP protocol options (not yet packed). */
export function applyTrafficPolicy(c: T.Cluster, options: HttpProtocolOptions | undefined, p: Parts, mtls: T.TransportSocket | undefined): HttpProtocolOptions | undefined {
  let opts = options;
  const pool = p.connectionPool;
  if (pool !== undefined) {
    if (pool.tcp?.connectTimeout !== undefined) c.connectTimeout = duration(pool.tcp.connectTimeout);
    const th = { ...(c.circuitBreakers?.thresholds?.[0] ?? {}) };
    // Zero cannot be told from unset here (as in istiod): only a positive limit replaces the default.
    if ((pool.tcp?.maxConnections ?? 0) > 0) th.maxConnections = { value: pool.tcp?.maxConnections ?? 0 };
    if ((pool.http?.http1MaxPendingRequests ?? 0) > 0) th.maxPendingRequests = { value: pool.http?.http1MaxPendingRequests ?? 0 };
    if ((pool.http?.http2MaxRequests ?? 0) > 0) th.maxRequests = { value: pool.http?.http2MaxRequests ?? 0 };
    if ((pool.http?.maxRetries ?? 0) > 0) th.maxRetries = { value: pool.http?.maxRetries ?? 0 };
    c.circuitBreakers = { thresholds: [th] };
    const idle = pool.http?.idleTimeout ?? pool.tcp?.idleTimeout;
    const perConnection = pool.http?.maxRequestsPerConnection ?? 0;
    if (idle !== undefined || perConnection > 0) {
      opts = {
        ...(opts ?? { explicitHttpConfig: { httpProtocolOptions: {} } }),
        commonHttpProtocolOptions: { ...(idle ? { idleTimeout: duration(idle) } : {}), ...(perConnection > 0 ? { maxRequestsPerConnection: { value: perConnection } } : {}) },
      };
    }
  }
  const od = p.outlierDetection;
  if (od !== undefined) {
    const enforce = (n: number) => ({ value: n > 0 ? 100 : 0 });
    c.outlierDetection = {
      enforcingSuccessRate: { value: 0 },
      ...(od.consecutive5xxErrors !== undefined ? { consecutive_5xx: { value: od.consecutive5xxErrors }, enforcingConsecutive_5xx: enforce(od.consecutive5xxErrors) } : {}),
      ...(od.consecutiveGatewayErrors !== undefined ? { consecutiveGatewayFailure: { value: od.consecutiveGatewayErrors }, enforcingConsecutiveGatewayFailure: enforce(od.consecutiveGatewayErrors) } : {}),
      ...(od.interval ? { interval: duration(od.interval) } : {}),
      ...(od.baseEjectionTime ? { baseEjectionTime: duration(od.baseEjectionTime) } : {}),
      ...(od.maxEjectionPercent !== undefined && od.maxEjectionPercent > 0 ? { maxEjectionPercent: { value: od.maxEjectionPercent } } : {}),
    };
    c.commonLbConfig = { ...c.commonLbConfig, healthyPanicThreshold: od.minHealthPercent ? { value: od.minHealthPercent } : {} };
  }
  // As istiod: weigh localities (instead of every endpoint alike) when the rule distributes traffic
  // among localities, or names failover targets for a cluster with outlier detection.
  // Original-destination clusters (headless, PASSTHROUGH) have no localities to weigh.
  const locality = c.type === 'ORIGINAL_DST' || p.loadBalancer === 'PASSTHROUGH' ? undefined : effectiveLocalityLb(p);
  if (locality !== undefined && (locality.distribute.length > 0 || (c.outlierDetection !== undefined && (locality.failover.length > 0 || locality.failoverPriority.length > 0)))) {
    c.commonLbConfig = { ...c.commonLbConfig, localityWeightedLbConfig: {} };
  }
  if (c.type !== 'ORIGINAL_DST') {
    if (p.loadBalancer === 'ROUND_ROBIN' || p.loadBalancer === 'RANDOM') c.lbPolicy = p.loadBalancer;
    if (p.loadBalancer === 'PASSTHROUGH') {
      c.type = 'ORIGINAL_DST';
      c.lbPolicy = 'CLUSTER_PROVIDED';
      delete c.edsClusterConfig;
    }
  }
  if (mtls !== undefined && p.tls !== undefined) {
    delete c.transportSocketMatches;
    if (p.tls.mode === 'ISTIO_MUTUAL') c.transportSocket = mtls;
    else delete c.transportSocket;
  }
  return opts;
}
