/**
 * Istio's debug types over ADS (docs/istio-compat.md §14-§15): `istio.io/debug/syncz` (one ClientConfig per
 * proxy connected to this replica), `istio.io/debug/config_dump` (one proxy's generated config)
 * and `istio.io/connections`. Callers need a verified identity (istiod 1.28+); a caller outside the
 * system namespace sees only proxies of its own namespace.
 */
import type { TypeUrl } from '../../model/ids.ts';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, CONNECTIONS_TYPE_URL, DEBUG_CONFIG_DUMP_TYPE_URL, DEBUG_SYNCZ_TYPE_URL,
  LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, TYPE_URL_PREFIX,
} from '../../model/type-urls.ts';
import { anyCodec, clientConfigCodec, codec, encodeAnyRaw } from '../../proto/codec.ts';
import type { Any, ClientConfig, GenericXdsConfig, Timestamp } from '../../proto/types.ts';
import { structFromJson, timestampFromDate } from '../../proto/wkt.ts';
import type { PreparedResource, PreparedResponse } from '../protocol/response.ts';
import { configStatus } from '../protocol/watch.ts';
import type { Connection } from './connection.ts';
import type { AnyConnection } from './delta-connection.ts';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';

export function isDebugType(t: string): boolean {
  return t.startsWith('istio.io/');
}

export interface DebugTypesOptions {
  readonly connections: () => readonly AnyConnection[];
  /** Current config of one type for a connection (what a push would send now). */
  readonly currentConfig?: (conn: AnyConnection, typeUrl: TypeUrl) => readonly PreparedResource[];
  readonly controlPlaneId: string;
  readonly controlPlaneVersion: string;
  readonly systemNamespace: string;
}

const CLIENT_CONFIG_TYPE_URL = `${TYPE_URL_PREFIX}envoy.service.status.v3.ClientConfig`;

/** The admin config-dump entry shape shared by clusters, routes and endpoints (protobufjs skips undefined). */
type Dynamic<K extends string> = { versionInfo: string; lastUpdated: Timestamp | undefined } & Record<K, Any>;

export class DebugTypes {
  #opts: DebugTypesOptions;

  constructor(opts: DebugTypesOptions) {
    this.#opts = opts;
  }

  /** Late wiring: the server provides its config source after construction. */
  setCurrentConfig(fn: (conn: AnyConnection, typeUrl: TypeUrl) => readonly PreparedResource[]): void {
    this.#opts = { ...this.#opts, currentConfig: fn };
  }

  /** `{"Component":"istiod","ID":<replica>,"Info":{...}}`, what istioctl parses for the ISTIOD column. */
  controlPlaneIdentifier(): string {
    return JSON.stringify({ Component: 'istiod', ID: this.#opts.controlPlaneId, Info: { version: this.#opts.controlPlaneVersion, revision: 'isthmus', golang_version: '', status: 'Clean', tag: this.#opts.controlPlaneVersion } });
  }

  /** Proxies the caller may see (system namespace: all; others: their own namespace). */
  visible(caller: Connection): AnyConnection[] {
    const ns = caller.identity?.namespace;
    return this.#opts.connections().filter((c) => c !== caller && (ns === undefined || ns === this.#opts.systemNamespace || c.proxy.namespace === ns));
  }

  respond(caller: Connection, t: TypeUrl, names: readonly string[], requireIdentity: boolean): PreparedResponse {
    if (requireIdentity && !caller.identity) {
      throw new IsthmusError(ErrorCodes.AuthenticationFailed, `debug type ${t} needs an authenticated caller (use the TLS port with a service-account token)`);
    }
    const nonce = `debug-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    switch (t) {
      case DEBUG_SYNCZ_TYPE_URL:
        return { versionInfo: '', typeUrl: t, nonce, resources: this.syncz(caller), controlPlane: this.controlPlaneIdentifier() };
      case DEBUG_CONFIG_DUMP_TYPE_URL:
        return { versionInfo: '', typeUrl: t, nonce, resources: this.configDump(caller, names) };
      case CONNECTIONS_TYPE_URL:
        return { versionInfo: '', typeUrl: t, nonce, resources: [] };
      default:
        throw new IsthmusError(ErrorCodes.NotServed, `debug type ${t} is not served by isthmus (served: ${DEBUG_SYNCZ_TYPE_URL}, ${DEBUG_CONFIG_DUMP_TYPE_URL}, ${CONNECTIONS_TYPE_URL})`);
    }
  }

  /** One ClientConfig per visible proxy that is a real sidecar, gateway or proxyless app (not istioctl). */
  syncz(caller: Connection): PreparedResource[] {
    const out: PreparedResource[] = [];
    for (const c of this.visible(caller)) {
      if (c.proxy.generator === 'event' || !c.proxy.hasProxyConfig) continue;
      const cc = clientConfigOf(c);
      out.push({ name: c.proxy.name, any: encodeAnyRaw(CLIENT_CONFIG_TYPE_URL, clientConfigCodec.encode(cc)) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  configDump(caller: Connection, names: readonly string[]): PreparedResource[] {
    const [name] = names;
    if (names.length !== 1 || !name) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `${DEBUG_CONFIG_DUMP_TYPE_URL} wants exactly one resource name <pod>.<namespace>`);
    const conn = this.visible(caller).find((c) => c.proxy.name === name);
    if (!conn) throw new IsthmusError(ErrorCodes.ProxyNotConnected, `Proxy not connected to this Pilot instance: ${name}`);
    const current = this.#opts.currentConfig;
    if (!current) throw new IsthmusError(ErrorCodes.NotReady, 'config dump is not wired');
    const asAny = (r: PreparedResource) => anyCodec.decode(r.any);
    const versionOf = (t: TypeUrl) => conn.watches.get(t)?.versionSent ?? '';
    const lastOf = (t: TypeUrl) => { const d = conn.watches.get(t)?.lastSent; return d ? timestampFromDate(d) : undefined; };
    const entry = <K extends string>(t: TypeUrl, key: K) => (r: PreparedResource): Dynamic<K> =>
      ({ versionInfo: versionOf(t), lastUpdated: lastOf(t), [key]: asAny(r) }) as Dynamic<K>;
    const dumps: { type: string; msg: object }[] = [
      { type: 'envoy.admin.v3.ClustersConfigDump', msg: { versionInfo: versionOf(CLUSTER_TYPE_URL), dynamicActiveClusters: current(conn, CLUSTER_TYPE_URL).map(entry(CLUSTER_TYPE_URL, 'cluster')) } },
      { type: 'envoy.admin.v3.ListenersConfigDump', msg: { versionInfo: versionOf(LISTENER_TYPE_URL), dynamicListeners: current(conn, LISTENER_TYPE_URL).map((r) => ({ name: r.name, activeState: entry(LISTENER_TYPE_URL, 'listener')(r) })) } },
      { type: 'envoy.admin.v3.RoutesConfigDump', msg: { dynamicRouteConfigs: current(conn, ROUTE_CONFIGURATION_TYPE_URL).map(entry(ROUTE_CONFIGURATION_TYPE_URL, 'routeConfig')) } },
      { type: 'envoy.admin.v3.EndpointsConfigDump', msg: { dynamicEndpointConfigs: current(conn, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL).map(entry(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, 'endpointConfig')) } },
    ];
    return dumps.map((d) => ({ name: '', any: encodeAnyRaw(`${TYPE_URL_PREFIX}${d.type}`, codec<object>(d.type).encode(d.msg)) }));
  }
}

/** The ClientConfig istioctl reads: node id `<pod>.<ns>`, CLUSTER_ID/NAMESPACE/ISTIO_VERSION, per-type status. */
export function clientConfigOf(c: AnyConnection): ClientConfig {
  const meta: Record<string, string> = {};
  if (c.proxy.clusterId) meta['CLUSTER_ID'] = c.proxy.clusterId;
  if (c.proxy.namespace) meta['NAMESPACE'] = c.proxy.namespace;
  if (c.proxy.istioVersion) meta['ISTIO_VERSION'] = c.proxy.istioVersion;
  const generic: GenericXdsConfig[] = [...c.watches.values()]
    .sort((a, b) => a.typeUrl.localeCompare(b.typeUrl))
    .map((w) => {
      const g: GenericXdsConfig = { typeUrl: w.typeUrl, configStatus: configStatus(w) };
      if (w.lastSent) g.lastUpdated = timestampFromDate(w.lastSent);
      if (w.lastError) g.errorState = { details: w.lastError, ...(w.lastErrorAt ? { lastUpdateAttempt: timestampFromDate(w.lastErrorAt) } : {}) };
      return g;
    });
  return { node: { id: c.proxy.name, metadata: structFromJson(meta) }, genericXdsConfigs: generic };
}
