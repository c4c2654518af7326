/**
 * `networking.istio.io/v1` VirtualServices, converted into the model the gateway generator reads:
 * hosts, bound gateways, `exportTo`, `tls` routes (SNI matches to destinations) and `http` routes
 * (virtual-service-http.ts). `tcp` routes are accepted but not used yet. Pure; every error names the field that is wrong.
 */
import type { KubeObject } from '../kube/types.ts';
import { hostname as parseHostname, type Hostname } from '../model/ids.ts';
import { convertHttpRoutes } from './virtual-service-http.ts';
import type { RouteDestination, TlsMatch, TlsRoute, VirtualService } from '../model/mesh-view.ts';
import { type Result, isRecord } from './fields.ts';

interface IstioObject extends KubeObject { readonly spec?: unknown }

function stringList(v: unknown, field: string, required: boolean): Result<string[]> {
  if (v === undefined && !required) return { ok: true, value: [] };
  if (!Array.isArray(v) || (required && v.length === 0) || !v.every((h) => typeof h === 'string' && h !== '')) {
    return { ok: false, error: `${field}: want a ${required ? 'non-empty ' : ''}list of non-empty strings` };
  }
  return { ok: true, value: v as string[] };
}

function portNumber(v: unknown, field: string): Result<number | undefined> {
  if (v === undefined) return { ok: true, value: undefined };
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) return { ok: false, error: `${field}: want 1-65535` };
  return { ok: true, value: v };
}

/** `name` → `<namespace>/name`; `ns/name` and `mesh` as they are. */
export function gatewayRef(ref: string, namespace: string): string {
  return ref === 'mesh' || ref.includes('/') ? ref : `${namespace}/${ref}`;
}

/** A destination host: short names resolve in the VirtualService's namespace. */
function destinationHost(host: string, namespace: string, domainSuffix: string, field: string): Result<Hostname> {
  const fqdn = host.includes('.') ? host : `${host}.${namespace}.svc.${domainSuffix}`;
  try { return { ok: true, value: parseHostname(fqdn) }; } catch { return { ok: false, error: `${field}: ${JSON.stringify(host)} is not a host name` }; }
}

function convertMatch(m: unknown, at: string, namespace: string): Result<TlsMatch> {
  if (!isRecord(m)) return { ok: false, error: `${at}: want an object` };
  const sni = stringList(m['sniHosts'], `${at}.sniHosts`, true);
  if (!sni.ok) return sni;
  const port = portNumber(m['port'], `${at}.port`);
  if (!port.ok) return port;
  const gws = stringList(m['gateways'], `${at}.gateways`, false);
  if (!gws.ok) return gws;
  return { ok: true, value: { sniHosts: sni.value, ...(port.value === undefined ? {} : { port: port.value }), gateways: gws.value.map((g) => gatewayRef(g, namespace)) } };
}

function convertDestination(d: unknown, at: string, namespace: string, domainSuffix: string, single: boolean): Result<RouteDestination> {
  if (!isRecord(d) || !isRecord(d['destination'])) return { ok: false, error: `${at}.destination: required` };
  const dest = d['destination'];
  const host = dest['host'];
  if (typeof host !== 'string' || host === '') return { ok: false, error: `${at}.destination.host: required` };
  const parsed = destinationHost(host, namespace, domainSuffix, `${at}.destination.host`);
  if (!parsed.ok) return parsed;
  const rawPort = dest['port'];
  if (rawPort !== undefined && !isRecord(rawPort)) return { ok: false, error: `${at}.destination.port: want an object with number` };
  const port = portNumber(rawPort?.['number'], `${at}.destination.port.number`);
  if (!port.ok) return port;
  const subset = dest['subset'] ?? '';
  if (typeof subset !== 'string') return { ok: false, error: `${at}.destination.subset: want a string` };
  const weight = d['weight'] ?? (single ? 100 : 0);
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > 100) return { ok: false, error: `${at}.weight: want 0-100` };
  return { ok: true, value: { host: parsed.value, ...(port.value === undefined ? {} : { port: port.value }), subset, weight } };
}

function convertTlsRoute(r: unknown, at: string, namespace: string, domainSuffix: string): Result<TlsRoute> {
  if (!isRecord(r)) return { ok: false, error: `${at}: want an object` };
  const rawMatch = r['match'];
  if (!Array.isArray(rawMatch) || rawMatch.length === 0) return { ok: false, error: `${at}.match: want a non-empty list (tls routes match on sniHosts)` };
  const match: TlsMatch[] = [];
  for (const [i, m] of rawMatch.entries()) {
    const c = convertMatch(m, `${at}.match[${i}]`, namespace);
    if (!c.ok) return c;
    match.push(c.value);
  }
  const rawRoute = r['route'];
  if (!Array.isArray(rawRoute) || rawRoute.length === 0) return { ok: false, error: `${at}.route: want a non-empty list` };
  const route: RouteDestination[] = [];
  for (const [i, d] of rawRoute.entries()) {
    const c = convertDestination(d, `${at}.route[${i}]`, namespace, domainSuffix, rawRoute.length === 1);
    if (!c.ok) return c;
    route.push(c.value);
  }
  if (route.length > 1 && route.reduce((s, d) => s + d.weight, 0) === 0) return { ok: false, error: `${at}.route: weights of several destinations must not all be 0` };
  return { ok: true, value: { match, route } };
}

/** A VirtualService's spec, validated. */
export function convertVirtualService(obj: IstioObject, domainSuffix = 'cluster.local'): Result<VirtualService> {
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) return { ok: false, error: 'spec: want an object' };
  const namespace = obj.metadata.namespace ?? '';
  const hosts = stringList(spec['hosts'], 'spec.hosts', true);
  if (!hosts.ok) return hosts;
  const gws = stringList(spec['gateways'], 'spec.gateways', false);
  if (!gws.ok) return gws;
  const rawTls = spec['tls'] ?? [];
  if (!Array.isArray(rawTls)) return { ok: false, error: 'spec.tls: want a list' };
  const tls: TlsRoute[] = [];
  for (const [i, r] of rawTls.entries()) {
    const c = convertTlsRoute(r, `spec.tls[${i}]`, namespace, domainSuffix);
    if (!c.ok) return c;
    tls.push(c.value);
  }
  const http = convertHttpRoutes(spec['http'], (d, at, single) => convertDestination(d, at, namespace, domainSuffix, single));
  if (!http.ok) return http;
  const exportTo = stringList(spec['exportTo'], 'spec.exportTo', false);
  if (!exportTo.ok) return exportTo;
  return {
    ok: true,
    value: {
      name: obj.metadata.name, namespace, hosts: hosts.value,
      gateways: (gws.value.length === 0 ? ['mesh'] : gws.value).map((g) => gatewayRef(g, namespace)),
      tls,
      ...(http.value.length === 0 ? {} : { http: http.value }),
      ...(exportTo.value.length === 0 ? {} : { exportTo: exportTo.value }),
    },
  };
}
