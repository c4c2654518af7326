/**
 * LDS for proxyless gRPC (`GENERATOR=grpc`), the way istiod serves @grpc/grpc-js-xds:
 * - client listener `<host>:<port>` (for a visible service port): an `api_listener` holding an
 *   HttpConnectionManager with RDS over ADS, route config of the same name, router filter last;
 *   names that resolve to no service are not answered (the client sees "does not exist");
 * - server listener `xds.istio.io/grpc/lds/inbound/<ip>:<port>` (XdsServer,
 *   `server_listener_resource_name_template`): address `<ip>:<port>` exactly as named (grpc-js-xds
 *   compares it with the bound address), one filter chain without a match, a single HCM with an
 *   inline route config (`*`, prefix `/`, non_forwarding_action), no listener filters. mTLS
 *   (certificate-provider instance `default`, client certificate required) when the proxy's pod
 *   carries `security.istio.io/tlsMode: istio` (Istio: PERMISSIVE is upgraded to STRICT for such
 *   pods, since gRPC cannot sniff), else plaintext. Any port is answered (Istio only answers the
 *   pod's service ports).
 * Reads proxy.namespace (short names, visibility) and proxy.labels[security.istio.io/tlsMode].
 */
import { LABEL_TLS_MODE } from '../../../model/labels.ts';
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Proxy } from '../../../model/proxy.ts';
import { LISTENER_TYPE_URL } from '../../../model/type-urls.ts';
import { httpConnectionManagerCodec, listenerCodec, packAny } from '../../../proto/codec.ts';
import type * as T from '../../../proto/types.ts';
import { hcmFilter, rdsConnectionManager, routerFilter, socketAddress } from '../filters.ts';
import { clusterName } from '../../../model/cluster-names.ts';
import { downstreamTlsTransportSocket, grpcMutualDownstream } from '../tls.ts';
import type { GeneratedResource, RequestedNames, ResourceGenerator } from '../types.ts';
import { allTargetNames, parseServerListenerName, resolveTarget } from './target.ts';

export const reads = ['namespace', 'labels[security.istio.io/tlsMode]'] as const;

function serverMtls(proxy: Proxy): boolean {
  return proxy.labels[LABEL_TLS_MODE] === 'istio';
}

export function cacheKey(proxy: Proxy): string {
  return `grpc|${proxy.namespace}|${serverMtls(proxy) ? 'mtls' : 'plaintext'}`;
}

function clientListener(name: string): T.Listener {
  return { name, apiListener: { apiListener: packAny(httpConnectionManagerCodec, rdsConnectionManager(name, name)) } };
}

function serverListener(name: string, host: string, port: number, mtls: boolean): T.Listener {
  const inbound = clusterName({ direction: 'inbound', port, subset: '', host: '' });
  const hcm: T.HttpConnectionManager = {
    statPrefix: inbound,
    routeConfig: {
      name: inbound,
      virtualHosts: [{ name: inbound, domains: ['*'], routes: [{ match: { prefix: '/' }, nonForwardingAction: {} }] }],
    },
    httpFilters: [routerFilter()],
  };
  const chain: T.FilterChain = { name: mtls ? 'inbound-mtls' : 'inbound-plaintext', filters: [hcmFilter(hcm)] };
  if (mtls) chain.transportSocket = downstreamTlsTransportSocket(grpcMutualDownstream());
  return { name, address: socketAddress(host, port), filterChains: [chain] };
}

export function generate(proxy: Proxy, view: MeshView, names: RequestedNames): GeneratedResource<T.Listener>[] {
  const wanted = names === 'wildcard' ? allTargetNames(view, proxy.namespace) : names;
  const out: GeneratedResource<T.Listener>[] = [];
  for (const name of new Set(wanted)) {
    const server = parseServerListenerName(name);
    if (server !== undefined) {
      out.push({ name, resource: serverListener(name, server.host, server.port, serverMtls(proxy)) });
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
  cacheKey: (proxy) => cacheKey(proxy),
  generate,
};
