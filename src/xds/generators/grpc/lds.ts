/**
 * LDS for proxyless gRPC (`GENERATOR=grpc`), the way istiod serves @grpc/grpc-js-xds:
 * - client listener `<host>:<port>` (for a visible service port): an `api_listener` holding an
 *   HttpConnectionManager with RDS over ADS, route config of the same name, router filter last;
 *   names that resolve to no service are not answered (the client sees "does not exist");
 * - server listener `xds.istio.io/grpc/lds/inbound/<ip>:<port>` (XdsServer,
 *   `server_listener_resource_name_template`): address `<ip>:<port>` exactly as named (grpc-js-xds
 *   compares it with the bound address), one filter chain without a match, a single HCM with an
 *   inline route config (`*`, prefix `/`, non_forwarding_action), no listener filters. mTLS
 *   (certificate-provider instance `default`, client certificate required) follows the port's
 *   PeerAuthentication mode (peer-authn.ts), as istiod: STRICT mTLS, DISABLE plaintext, PERMISSIVE
 *   mTLS when the proxy's pod carries `security.istio.io/tlsMode: istio` (gRPC cannot sniff, so
 *   such pods are upgraded to STRICT), else plaintext. Any port is answered (Istio only answers the
 *   pod's service ports).
 * Reads proxy.namespace (short names, visibility, PeerAuthentication scope) and proxy.labels
 * (tlsMode, PeerAuthentication selectors).
 */
import { LABEL_TLS_MODE } from '../../../model/labels.ts';
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { LISTENER_TYPE_URL } from '../../../model/type-urls.ts';
import { httpConnectionManagerCodec, listenerCodec, packAny } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { hcmFilter, rdsConnectionManager, routerFilter, socketAddress } from '../filters.ts';
import { clusterName } from '../../../model/cluster-names.ts';
import { inboundMtlsPolicy, modeForPort, type InboundMtlsPolicy } from '../peer-authn.ts';
import { downstreamTlsTransportSocket, grpcMutualDownstream } from '../tls.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from '../types.ts';
import { allTargetNames, parseServerListenerName, resolveTarget } from './target.ts';

export const reads = ['namespace', 'labels (tlsMode, PeerAuthentication selectors)'] as const;

function serverMtls(proxy: Proxy, policy: InboundMtlsPolicy, port: number): boolean {
  const mode = modeForPort(policy, port);
  return mode === 'STRICT' || (mode === 'PERMISSIVE' && proxy.labels[LABEL_TLS_MODE] === 'istio');
}

export function cacheKey(proxy: Proxy, view: MeshView): string {
  const policy = inboundMtlsPolicy(view, proxy.namespace, proxy.labels);
  const ports = [...policy.ports].sort(([a], [b]) => a - b).map(([p, m]) => `${p}=${m}`).join(',');
  return `grpc|${proxy.namespace}|${proxy.labels[LABEL_TLS_MODE] === 'istio' ? 'istio' : ''}|${policy.mode}|${ports}`;
}

function clientListener(name: string): T.Listener {
  return { name, apiListener: { apiListener: packAny(httpConnectionManagerCodec, rdsConnectionManager(name, name)) } };
}

function serverListener(name: string, host: string, port: number, mtls: boolean): T.Listener {
  const inbound = clusterName({ direction: 'inbound', port, subset: '', host: '' });
  const hcm: T.HttpConnectionManager = {
    statPrefix: inbound,
    // Named as istiod names it (gRPC uses no name here); the virtual host needs one to be valid.
    routeConfig: {
      name: 'inbound',
      virtualHosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, nonForwardingAction: {} }] }],
    },
    httpFilters: [routerFilter()],
  };
  // The filter's name is a label (gRPC goes by its type); istiod's, so the two compare field by field.
  const chain: T.FilterChain = { name: mtls ? 'inbound-mtls' : 'inbound-plaintext', filters: [{ ...hcmFilter(hcm), name: mtls ? 'inbound-hcmmtls' : 'inbound-hcmplaintext' }] };
  if (mtls) chain.transportSocket = downstreamTlsTransportSocket(grpcMutualDownstream());
  return { name, address: socketAddress(host, port), filterChains: [chain] };
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Listener>[] {
  const wanted = names === 'wildcard' ? allTargetNames(view, proxy.namespace) : names;
  const policy = inboundMtlsPolicy(view, proxy.namespace, proxy.labels);
  const out: GeneratedResource<T.Listener>[] = [];
  for (const name of new Set(wanted)) {
    const server = parseServerListenerName(name);
    if (server !== undefined) {
      out.push({ name, resource: serverListener(name, server.host, server.port, serverMtls(proxy, policy, server.port)) });
    } else if (resolveTarget(view, name, proxy.namespace) !== undefined) {
      out.push({ name, resource: clientListener(name) });
    }
  }
  return out;
}

export const grpcLdsGenerator: ResourceGenerator<T.Listener> = {
  typeUrl: LISTENER_TYPE_URL,
  codec: listenerCodec,
  reads,
  cacheKey,
  generate,
};
