/**
 * The per-port filter chains of a sidecar's `virtualInbound` listener (0.0.0.0:15006), matched by the
 * original destination port:
 * - a port whose service protocol is HTTP (http, http2, grpc, ...) gets an HttpConnectionManager
 *   behind both chains, as istiod does: the Istio mTLS chain (TLS whose ClientHello offers one of the
 *   mesh ALPNs `istio*`; server ALPN h2 and http/1.1) and the plaintext chain (PERMISSIVE). It routes
 *   every request to `inbound|<port>||` with an inline route configuration, so the application
 *   receives `x-forwarded-client-cert` carrying the caller's certificate (URI = its SPIFFE id, DNS,
 *   subject), appended to whatever a trusted peer forwarded; it does not trust the peer address for
 *   X-Forwarded-For, normalises paths but keeps escaped slashes, accepts WebSocket upgrades and never
 *   cuts idle or long streams (no route timeout, no stream idle timeout);
 * - any other port gets tcp_proxy chains to `inbound|<port>||`, as istiod's: Istio mTLS terminated
 *   (TLS offering a mesh ALPN; server ALPN istio-peer-exchange, h2, http/1.1), other TLS passed
 *   through to the application, and plaintext.
 * PeerAuthentication (peer-authn.ts) removes the plaintext chains (STRICT: then the mTLS chain takes
 * any TLS) or the mTLS chain (DISABLE).
 * The mTLS chains accept only client certificates of the mesh's trust domain.
 */
import { clusterName } from '../../model/cluster-names.ts';
import { isHttpProtocol } from '../../model/service.ts';
import type * as T from '../../proto/types.ts';
import { hcmFilter, routerFilter, tcpProxyFilter } from './filters.ts';
import type { EffectiveMtlsMode } from './peer-authn.ts';
import type { InboundPort } from './scope.ts';
import { downstreamTlsTransportSocket, istioMutualDownstream } from './tls.ts';

/** The ALPNs a mesh client offers on Istio mTLS (istio-http/* are set by istiod-configured clients per protocol). */
export const INBOUND_MTLS_HTTP_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] as const;
/** What the inbound HTTP server offers to negotiate once Istio mTLS is terminated. */
export const INBOUND_HTTP_SERVER_ALPNS = ['h2', 'http/1.1'] as const;
/** What a TCP port's mTLS chain offers to negotiate (istiod's list). */
export const INBOUND_TCP_SERVER_ALPNS = ['istio-peer-exchange', 'h2', 'http/1.1'] as const;
/** The `server` header Envoy writes on responses (istiod's value). */
export const INBOUND_SERVER_NAME = 'istio-envoy';

const ZERO: T.Duration = { seconds: '0' };

/** The inline route configuration: every request on every host to `cluster`, without a timeout. */
function inboundRouteConfig(port: number, cluster: string): T.RouteConfiguration {
  return {
    name: cluster,
    virtualHosts: [{
      // Port 0: the passthrough chains, which serve every port no Service declares.
      name: `inbound|http|${port}`,
      domains: ['*'],
      routes: [{
        name: 'default',
        match: { prefix: '/' },
        route: {
          cluster,
          timeout: ZERO,
          // Only a request that never reached the application is tried again.
          retryPolicy: { retryOn: 'reset-before-request', numRetries: { value: 2 } },
          maxStreamDuration: { maxStreamDuration: ZERO, grpcTimeoutHeaderMax: ZERO },
        },
      }],
    }],
    validateClusters: { value: false },
  };
}

/**
 * The connection manager of both inbound chains of an HTTP port (to `inbound|<port>||`), or, with
 * `cluster` and `statPrefix` given and port 0, of the HTTP passthrough chains.
 */
export function inboundHttpConnectionManager(
  port: number,
  cluster = clusterName({ direction: 'inbound', port, subset: '', host: '' }),
  statPrefix = `inbound_0.0.0.0_${port}`,
): T.HttpConnectionManager {
  return {
    statPrefix,
    routeConfig: inboundRouteConfig(port, cluster),
    httpFilters: [routerFilter()],
    serverName: INBOUND_SERVER_NAME,
    streamIdleTimeout: ZERO,
    useRemoteAddress: { value: false },
    forwardClientCertDetails: 'APPEND_FORWARD',
    setCurrentClientCertDetails: { subject: { value: true }, dns: true, uri: true },
    proxy_100Continue: true,
    upgradeConfigs: [{ upgradeType: 'websocket' }],
    normalizePath: { value: true },
    pathWithEscapedSlashesAction: 'KEEP_UNCHANGED',
  };
}

/**
 * The chains of one inbound port under its PeerAuthentication mode: PERMISSIVE the mTLS and the
 * plaintext chain, STRICT only the mTLS chain (an HTTP port's then takes any TLS, whatever ALPN
 * the client offers, as istiod's does), DISABLE only the plaintext chain.
 */
export function inboundChains(p: InboundPort, trustDomain: string, mode: EffectiveMtlsMode = 'PERMISSIVE'): T.FilterChain[] {
  const cluster = clusterName({ direction: 'inbound', port: p.port, subset: '', host: '' });
  const destinationPort = { value: p.port };
  const mtls = mode !== 'DISABLE';
  const plaintext = mode !== 'STRICT';
  if (isHttpProtocol(p.protocol)) {
    const filters = (): T.Filter[] => [hcmFilter(inboundHttpConnectionManager(p.port))];
    const alpn = mode === 'STRICT' ? {} : { applicationProtocols: [...INBOUND_MTLS_HTTP_ALPNS] };
    return [
      ...(mtls ? [{
        name: `${cluster}-mtls-http`,
        filterChainMatch: { destinationPort, transportProtocol: 'tls', ...alpn },
        transportSocket: downstreamTlsTransportSocket(istioMutualDownstream([...INBOUND_HTTP_SERVER_ALPNS], trustDomain)),
        filters: filters(),
      }] : []),
      ...(plaintext ? [{ name: `${cluster}-plaintext-http`, filterChainMatch: { destinationPort, transportProtocol: 'raw_buffer' }, filters: filters() }] : []),
    ];
  }
  // PERMISSIVE terminates only the TLS a mesh client starts (its ALPNs); other TLS is the
  // application's own and passes through untouched, as plaintext does. STRICT terminates any TLS.
  const alpn = mode === 'STRICT' ? {} : { applicationProtocols: [...INBOUND_MTLS_HTTP_ALPNS] };
  return [
    ...(mtls ? [{
      name: `${cluster}-mtls`,
      filterChainMatch: { destinationPort, transportProtocol: 'tls', ...alpn },
      transportSocket: downstreamTlsTransportSocket(istioMutualDownstream([...INBOUND_TCP_SERVER_ALPNS], trustDomain)),
      filters: [tcpProxyFilter(cluster)],
    }] : []),
    ...(mtls && plaintext ? [{ name: `${cluster}-tls-passthrough`, filterChainMatch: { destinationPort, transportProtocol: 'tls' }, filters: [tcpProxyFilter(cluster)] }] : []),
    ...(plaintext ? [{ name: `${cluster}-plaintext`, filterChainMatch: { destinationPort, transportProtocol: 'raw_buffer' }, filters: [tcpProxyFilter(cluster)] }] : []),
  ];
}
