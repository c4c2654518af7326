/**
 * The outbound HTTP listener `0.0.0.0_<port>` of a sidecar, as istiod builds it:
 * - `http_inspector` tells HTTP/1.1 and h2c from anything else (no timeout: a client that speaks
 *   first waits as long as it likes, and a server-first protocol is not held up by it);
 * - the HTTP chain matches plaintext HTTP only (`raw_buffer` + ALPN http/1.1 or h2c), so TLS or
 *   another protocol an application sends to any address on an HTTP service port is not parsed as
 *   HTTP: it falls to the default chain, a tcp_proxy to PassthroughCluster;
 * - the connection manager accepts WebSocket upgrades, never cuts idle streams (gRPC streaming,
 *   long polls), normalises paths but keeps escaped slashes, forwards `Expect: 100-continue`, and does
 *   not trust the peer address for X-Forwarded-For (the caller is the local application).
 * A service port declared without a protocol (`UnsupportedProtocol`) is sniffed the same way on its
 * `<vip>_<port>` listener: HTTP goes through a connection manager routing by RDS `<host>:<port>`,
 * anything else is TCP-proxied to the service's cluster.
 */
import type * as T from '../../proto/types.ts';
import { packAny } from '../../proto/codec.ts';
import { EXT, httpInspectorCodec } from './extra-codecs.ts';
import { hcmFilter, rdsConnectionManager, tcpProxyFilter } from './filters.ts';
import { PASSTHROUGH_CLUSTER } from './names.ts';

export const PLAINTEXT_HTTP_MATCH: T.FilterChainMatch = { transportProtocol: 'raw_buffer', applicationProtocols: ['http/1.1', 'h2c'] };

export function httpInspectorFilter(): T.Filter {
  return { name: EXT.httpInspector, typedConfig: packAny(httpInspectorCodec, {}) };
}

/** The connection manager of an outbound HTTP chain, routing by RDS `routeName`. */
export function outboundHttpConnectionManager(statPrefix: string, routeName: string): T.HttpConnectionManager {
  return {
    ...rdsConnectionManager(statPrefix, routeName),
    streamIdleTimeout: { seconds: '0' },
    useRemoteAddress: { value: false },
    proxy_100Continue: true,
    upgradeConfigs: [{ upgradeType: 'websocket' }],
    normalizePath: { value: true },
    pathWithEscapedSlashesAction: 'KEEP_UNCHANGED',
  };
}

/** The listener fields that make `0.0.0.0_<port>` an HTTP listener with a non-HTTP fallback. */
export function outboundHttpListenerParts(statPrefix: string, routeName: string): Pick<T.Listener, 'listenerFilters' | 'listenerFiltersTimeout' | 'continueOnListenerFiltersTimeout' | 'filterChains' | 'defaultFilterChain'> {
  return {
    listenerFilters: [httpInspectorFilter()],
    listenerFiltersTimeout: { seconds: '0' },
    continueOnListenerFiltersTimeout: true,
    filterChains: [{ filterChainMatch: PLAINTEXT_HTTP_MATCH, filters: [hcmFilter(outboundHttpConnectionManager(statPrefix, routeName))] }],
    defaultFilterChain: { name: 'PassthroughFilterChain', filterChainMatch: {}, filters: [tcpProxyFilter(PASSTHROUGH_CLUSTER)] },
  };
}

/** The listener fields of a sniffed `<vip>_<port>` listener (protocol not declared). */
export function sniffedListenerParts(statPrefix: string, routeName: string, cluster: string): Pick<T.Listener, 'listenerFilters' | 'listenerFiltersTimeout' | 'continueOnListenerFiltersTimeout' | 'filterChains' | 'defaultFilterChain'> {
  return {
    listenerFilters: [httpInspectorFilter()],
    listenerFiltersTimeout: { seconds: '0' },
    continueOnListenerFiltersTimeout: true,
    filterChains: [{ filterChainMatch: PLAINTEXT_HTTP_MATCH, filters: [hcmFilter(outboundHttpConnectionManager(statPrefix, routeName))] }],
    defaultFilterChain: { filters: [tcpProxyFilter(cluster)] },
  };
}
