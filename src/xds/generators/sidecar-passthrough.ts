/**
 * The passthrough filter chains of a sidecar's `virtualInbound` listener: what serves connections to
 * ports of the workload that no Service declares, forwarded to InboundPassthroughCluster (the
 * original destination, from 127.0.0.6). As istiod builds them, their TLS follows the workload's
 * PeerAuthentication, and HTTP is told from other traffic by the listener's http_inspector (plaintext)
 * or by the caller's `istio-http/*` ALPN (Istio mTLS), so HTTP requests go through a connection
 * manager (the application gets `x-forwarded-client-cert`, retries of requests that never reached
 * it) and anything else through a tcp_proxy:
 * - STRICT: Istio mTLS only (HTTP chain for the `istio-http/*` ALPNs, TCP chain for any other TLS);
 *   a plaintext connection matches no chain and is closed;
 * - PERMISSIVE: those two with narrower matches (TCP only for the `istio`/`istio-peer-exchange`
 *   ALPNs), plus plaintext HTTP, plaintext TCP, and TLS the mesh did not originate passed through
 *   untouched to the application;
 * - DISABLE: plaintext HTTP, and everything else (plaintext, or TLS not inspected) passed through untouched.
 * A port-level mode of the workload's policy for a port no Service declares gets its own chains,
 * matched on that destination port; the chains without a port serve every other port.
 */
import type * as T from '../../proto/types.ts';
import { INBOUND_PASSTHROUGH_CLUSTER } from './cluster-builder.ts';
import { hcmFilter, tcpProxyFilter } from './filters.ts';
import { modeForPort, type EffectiveMtlsMode, type InboundMtlsPolicy } from './peer-authn.ts';
import { INBOUND_HTTP_SERVER_ALPNS, INBOUND_TCP_SERVER_ALPNS, inboundHttpConnectionManager } from './sidecar-inbound.ts';
import { PLAINTEXT_HTTP_MATCH } from './sidecar-http.ts';
import { downstreamTlsTransportSocket, istioMutualDownstream } from './tls.ts';

/** The ALPNs an Istio client offers on mTLS for HTTP: the HTTP passthrough chain's match. */
export const MTLS_HTTP_ALPNS = ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] as const;
/** The ALPNs an Istio client offers on mTLS for TCP (PERMISSIVE's TCP chain match). */
export const MTLS_TCP_ALPNS = ['istio-peer-exchange', 'istio'] as const;

const HTTP_CHAIN = 'virtualInbound-catchall-http';
const TCP_CHAIN = 'virtualInbound';

function httpFilters(): T.Filter[] {
  return [hcmFilter(inboundHttpConnectionManager(0, INBOUND_PASSTHROUGH_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER))];
}

/** The chains of one mode; `port` narrows them to one destination port (a port-level mode). */
export function passthroughChainsFor(mode: EffectiveMtlsMode, trustDomain: string, port?: number): T.FilterChain[] {
  const dp: T.FilterChainMatch = port === undefined ? {} : { destinationPort: { value: port } };
  const tcp = (): T.Filter[] => [tcpProxyFilter(INBOUND_PASSTHROUGH_CLUSTER)];
  const mtlsHttp: T.FilterChain = {
    name: HTTP_CHAIN,
    filterChainMatch: { ...dp, transportProtocol: 'tls', applicationProtocols: [...MTLS_HTTP_ALPNS] },
    transportSocket: downstreamTlsTransportSocket(istioMutualDownstream([...INBOUND_HTTP_SERVER_ALPNS], trustDomain)),
    filters: httpFilters(),
  };
  const mtlsTcp = (alpns: readonly string[] | undefined): T.FilterChain => ({
    name: TCP_CHAIN,
    filterChainMatch: { ...dp, transportProtocol: 'tls', ...(alpns === undefined ? {} : { applicationProtocols: [...alpns] }) },
    transportSocket: downstreamTlsTransportSocket(istioMutualDownstream([...INBOUND_TCP_SERVER_ALPNS], trustDomain)),
    filters: tcp(),
  });
  const plainHttp: T.FilterChain = { name: HTTP_CHAIN, filterChainMatch: { ...dp, ...PLAINTEXT_HTTP_MATCH, applicationProtocols: [...(PLAINTEXT_HTTP_MATCH.applicationProtocols ?? [])] }, filters: httpFilters() };
  switch (mode) {
    case 'STRICT':
      return [mtlsHttp, mtlsTcp(undefined)];
    case 'PERMISSIVE':
      return [
        mtlsHttp,
        plainHttp,
        mtlsTcp(MTLS_TCP_ALPNS),
        { name: TCP_CHAIN, filterChainMatch: { ...dp, transportProtocol: 'raw_buffer' }, filters: tcp() },
        // TLS that no mesh client originated (the application's own) goes through untouched.
        { name: TCP_CHAIN, filterChainMatch: { ...dp, transportProtocol: 'tls' }, filters: tcp() },
      ];
    case 'DISABLE':
      // No TLS inspection either (see inboundListenerFilters): TLS is raw_buffer to Envoy, passed through.
      return [plainHttp, { name: TCP_CHAIN, filterChainMatch: { ...dp, transportProtocol: 'raw_buffer' }, filters: tcp() }];
  }
}

/**
 * Every passthrough chain of a workload: first those of port-level modes on ports no Service
 * declares (`declared`), by port, then the chains of the workload's mode for every other port.
 */
export function passthroughChains(policy: InboundMtlsPolicy, declared: ReadonlySet<number>, trustDomain: string): T.FilterChain[] {
  const undeclared = [...policy.ports.keys()].filter((p) => !declared.has(p)).sort((a, b) => a - b);
  return [
    ...undeclared.flatMap((p) => passthroughChainsFor(modeForPort(policy, p), trustDomain, p)),
    ...passthroughChainsFor(policy.mode, trustDomain),
  ];
}
