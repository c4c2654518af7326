/**
 * A DestinationRule's `trafficPolicy` (top level or a subset's), converted into the model the
 * cluster builder applies: load balancer (simple), connection pool, outlier detection, client TLS
 * (DISABLE, ISTIO_MUTUAL), locality load balancing (locality-lb.ts) and `portLevelSettings`. Pure; every
 * error names the field. Parts Isthmus does not apply (consistent hashing, warmup, SIMPLE/MUTUAL TLS origination,
 * proxy protocol, tunnel, retry budget) are reported as notes and left out, so the rest applies.
 * Durations take Go's syntax as Istio's examples write them (`5m`, `30s`, `100ms`).
 */
import type { DurationValue, TrafficPolicy, TrafficPolicySettings } from '../model/mesh-view.ts';
import { parseDuration } from '../model/duration.ts';
import { type Result, isRecord } from './fields.ts';
import { convertLocalityLbSetting, InvalidField as Invalid } from './locality-lb.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function duration(v: unknown, field: string): DurationValue | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Invalid(`${field}: want a duration like "30s" or "5m", got ${JSON.stringify(v)}`);
  let ms: number;
  try { ms = parseDuration(v, field); } catch { throw new Invalid(`${field}: want a duration like "30s" or "5m", got ${JSON.stringify(v)}`); }
  if (ms <= 0 && v.trim() !== '0') throw new Invalid(`${field}: want a positive duration`);
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function count(v: unknown, field: string, max = 2 ** 31 - 1): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw new Invalid(`${field}: want an integer 0-${max}`);
  return v;
}

function section(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw new Invalid(`${field}: want an object`);
  return v;
}

const LB = ['ROUND_ROBIN', 'LEAST_REQUEST', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'UNSPECIFIED'] as const;

function settings(raw: Record<string, unknown>, at: string, notes: string[]): TrafficPolicySettings {
  const out: Mutable<TrafficPolicySettings> = {};
  const lb = section(raw['loadBalancer'], `${at}.loadBalancer`);
  if (lb !== undefined) {
    const simple = lb['simple'];
    if (simple !== undefined) {
      if (typeof simple !== 'string' || !(LB as readonly string[]).includes(simple)) throw new Invalid(`${at}.loadBalancer.simple: want one of ${LB.join(', ')}`);
      // LEAST_CONN is the deprecated name of LEAST_REQUEST; UNSPECIFIED is the default (LEAST_REQUEST).
      if (simple !== 'UNSPECIFIED') out.loadBalancer = simple === 'LEAST_CONN' ? 'LEAST_REQUEST' : simple as 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'PASSTHROUGH';
    }
    const locality = lb['localityLbSetting'];
    out.localityLbSetting = locality === undefined || locality === null ? null
      : convertLocalityLbSetting(locality, `${at}.loadBalancer.localityLbSetting`, raw['outlierDetection'] !== undefined && raw['outlierDetection'] !== null, notes);
    for (const f of Object.keys(lb)) if (f !== 'simple' && f !== 'localityLbSetting') notes.push(`${at}.loadBalancer.${f} is not applied by Isthmus`);
  }
  const pool = section(raw['connectionPool'], `${at}.connectionPool`);
  if (pool !== undefined) {
    const tcp = section(pool['tcp'], `${at}.connectionPool.tcp`);
    const http = section(pool['http'], `${at}.connectionPool.http`);
    const p: Mutable<NonNullable<TrafficPolicySettings['connectionPool']>> = {};
    if (tcp !== undefined) {
      const t = {
        maxConnections: count(tcp['maxConnections'], `${at}.connectionPool.tcp.maxConnections`),
        connectTimeout: duration(tcp['connectTimeout'], `${at}.connectionPool.tcp.connectTimeout`),
        idleTimeout: duration(tcp['idleTimeout'], `${at}.connectionPool.tcp.idleTimeout`),
      };
      p.tcp = defined(t);
      for (const f of Object.keys(tcp)) if (!(f in t)) notes.push(`${at}.connectionPool.tcp.${f} is not applied by Isthmus`);
    }
    if (http !== undefined) {
      const h = {
        http1MaxPendingRequests: count(http['http1MaxPendingRequests'], `${at}.connectionPool.http.http1MaxPendingRequests`),
        http2MaxRequests: count(http['http2MaxRequests'], `${at}.connectionPool.http.http2MaxRequests`),
        maxRequestsPerConnection: count(http['maxRequestsPerConnection'], `${at}.connectionPool.http.maxRequestsPerConnection`),
        maxRetries: count(http['maxRetries'], `${at}.connectionPool.http.maxRetries`),
        idleTimeout: duration(http['idleTimeout'], `${at}.connectionPool.http.idleTimeout`),
      };
      p.http = defined(h);
      for (const f of Object.keys(http)) if (!(f in h)) notes.push(`${at}.connectionPool.http.${f} is not applied by Isthmus`);
    }
    out.connectionPool = p;
  }
  const od = section(raw['outlierDetection'], `${at}.outlierDetection`);
  if (od !== undefined) {
    const o = {
      consecutive5xxErrors: count(od['consecutive5xxErrors'], `${at}.outlierDetection.consecutive5xxErrors`),
      consecutiveGatewayErrors: count(od['consecutiveGatewayErrors'], `${at}.outlierDetection.consecutiveGatewayErrors`),
      interval: duration(od['interval'], `${at}.outlierDetection.interval`),
      baseEjectionTime: duration(od['baseEjectionTime'], `${at}.outlierDetection.baseEjectionTime`),
      maxEjectionPercent: count(od['maxEjectionPercent'], `${at}.outlierDetection.maxEjectionPercent`, 100),
      minHealthPercent: count(od['minHealthPercent'], `${at}.outlierDetection.minHealthPercent`, 100),
    };
    out.outlierDetection = defined(o);
    for (const f of Object.keys(od)) if (!(f in o)) notes.push(`${at}.outlierDetection.${f} is not applied by Isthmus`);
  }
  const tls = section(raw['tls'], `${at}.tls`);
  if (tls !== undefined) {
    const mode = tls['mode'] ?? 'DISABLE';
    if (mode === 'DISABLE' || mode === 'ISTIO_MUTUAL') out.tls = { mode };
    else if (mode === 'SIMPLE' || mode === 'MUTUAL') notes.push(`${at}.tls.mode ${mode} (TLS origination) is not applied by Isthmus: Istio's auto mTLS stays in force`);
    else throw new Invalid(`${at}.tls.mode: want one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL`);
  }
  for (const f of ['proxyProtocol', 'tunnel', 'retryBudget']) if (raw[f] !== undefined) notes.push(`${at}.${f} is not applied by Isthmus`);
  return out;
}

function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** A `trafficPolicy` at `at` (e.g. `spec.trafficPolicy`), or undefined when absent; notes collect what is ignored. */
export function convertTrafficPolicy(v: unknown, at: string, notes: string[]): Result<TrafficPolicy | undefined> {
  try {
    const raw = section(v, at);
    if (raw === undefined) return { ok: true, value: undefined };
    const rawPorts = raw['portLevelSettings'] ?? [];
    if (!Array.isArray(rawPorts)) throw new Invalid(`${at}.portLevelSettings: want a list`);
    const portLevelSettings = rawPorts.map((p: unknown, i) => {
      const pat = `${at}.portLevelSettings[${i}]`;
      if (!isRecord(p)) throw new Invalid(`${pat}: want an object`);
      const number = section(p['port'], `${pat}.port`)?.['number'];
      if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) throw new Invalid(`${pat}.port.number: want 1-65535`);
      return { port: number, ...settings(p, pat, notes) };
    });
    return { ok: true, value: { ...settings(raw, at, notes), portLevelSettings } };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}
