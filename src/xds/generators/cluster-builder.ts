/**
 * Envoy Cluster builders shared by the sidecar and gateway CDS generators (Istio's cluster_builder):
 * outbound EDS clusters with Istio's mTLS transport-socket matches, SNI-DNAT clusters for
 * AUTO_PASSTHROUGH gateways, original-destination inbound clusters and the well-known catch-all clusters.
 */
import type { MeshView } from '../../model/mesh-view.ts';
import { isHttp2Protocol, type Protocol, type Service, type ServicePort } from '../../model/service.ts';
import { packAny } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { EXT, httpProtocolOptionsCodec, type HttpProtocolOptions } from './extra-codecs.ts';
import { serviceMtlsMode } from './peer-authn.ts';
import { applyTrafficPolicy, effectiveTrafficPolicy } from './traffic-policy.ts';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER } from './names.ts';
import { clusterName, sniName, type ClusterKey } from '../../model/cluster-names.ts';
import { ADS_CONFIG, istioMutualUpstream, rawBufferTransportSocket, serviceIdentities, tlsTransportSocket } from './tls.ts';

export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';

const CONNECT_TIMEOUT: T.Duration = { seconds: '10' };
const MAX_U32 = 4294967295;

/** Istio's default thresholds: effectively unlimited, with remaining-capacity stats. */
const CIRCUIT_BREAKERS: NonNullable<T.Cluster['circuitBreakers']> = {
  thresholds: [{
    maxConnections: { value: MAX_U32 },
    maxPendingRequests: { value: MAX_U32 },
    maxRequests: { value: MAX_U32 },
    maxRetries: { value: MAX_U32 },
    trackRemaining: true,
  }],
};

/** HTTP/2 upstream for HTTP2/gRPC ports; undefined: Envoy's default (HTTP/1.1). */
function http2Options(protocol: Protocol): HttpProtocolOptions | undefined {
  return isHttp2Protocol(protocol) ? { explicitHttpConfig: { http2ProtocolOptions: {} } } : undefined;
}

/** A sidecar's cluster for a sniffed port speaks upstream whatever HTTP version the client spoke. */
function sniffedOptions(): HttpProtocolOptions {
  return { useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} } };
}

function packedOptions(o: HttpProtocolOptions | undefined): Pick<T.Cluster, 'typedExtensionProtocolOptions'> {
  return o === undefined ? {} : { typedExtensionProtocolOptions: { [EXT.httpProtocolOptions]: packAny(httpProtocolOptionsCodec, o) } };
}

function serviceMetadata(svc: Service, subset: string): T.Metadata {
  const service: T.Struct = {
    fields: {
      host: { stringValue: svc.hostname },
      name: { stringValue: svc.name },
      namespace: { stringValue: svc.namespace },
    },
  };
  const fields: Record<string, T.Value> = { services: { listValue: { values: [{ structValue: service }] } } };
  if (subset !== '') fields['subset'] = { stringValue: subset };
  return { filterMetadata: { istio: { fields } } };
}

/**
 * As istiod: balance over every endpoint by its own weight (a gateway endpoint weighs as many as the
 * remote endpoints behind it), not locality by locality, and never enter panic mode, so endpoints
 * the control plane left out (not ready) are never used because too few others are healthy.
 */
const BALANCE_ALL_ENDPOINTS: NonNullable<T.Cluster['commonLbConfig']> = { healthyPanicThreshold: {} };

/**
 * `outbound|<port>|<subset>|<host>`: EDS over ADS (`service_name` = the cluster name), or ORIGINAL_DST
 * for headless services on sidecars; endpoints labelled `tlsMode: istio` get Istio mTLS with SNI
 * `outbound_.<port>_.<subset>_.<host>`, the rest plaintext (a headless service's pods always get mTLS). On a sidecar, a port declared without a
 * protocol (sniffed) keeps the client's HTTP version upstream; gateways (`sidecar` false) do not sniff.
 */
export function outboundCluster(view: MeshView, svc: Service, port: ServicePort, subset: string, sidecar = true): T.Cluster {
  const key: ClusterKey = { direction: 'outbound', port: port.port, subset, host: svc.hostname };
  const name = clusterName(key);
  const tls = istioMutualUpstream(sniName(key), serviceIdentities(view, svc), isHttp2Protocol(port.protocol));
  // Sidecars reach a headless service's pods at the address the application dialled; a gateway,
  // which intercepts nothing, balances over the service's endpoints (EDS) like any other.
  const discovery: Partial<T.Cluster> = svc.resolution === 'Passthrough' && sidecar
    ? { type: 'ORIGINAL_DST', lbPolicy: 'CLUSTER_PROVIDED' }
    : { type: 'EDS', edsClusterConfig: { edsConfig: ADS_CONFIG, serviceName: name }, lbPolicy: 'LEAST_REQUEST' };
  const c: T.Cluster = {
    name,
    ...discovery,
    connectTimeout: CONNECT_TIMEOUT,
    circuitBreakers: CIRCUIT_BREAKERS,
    commonLbConfig: BALANCE_ALL_ENDPOINTS,
    metadata: serviceMetadata(svc, subset),
    ...(discovery.type === 'ORIGINAL_DST'
      // An original-destination host carries no endpoint metadata for a match to read: like istiod,
      // dial a headless service's pods with Istio mTLS unconditionally.
      ? { transportSocket: tlsTransportSocket(tls) }
      : { transportSocketMatches: [
        { name: 'tlsMode-istio', match: { fields: { tlsMode: { stringValue: 'istio' } } }, transportSocket: tlsTransportSocket(tls) },
        { name: 'tlsMode-disabled', match: {}, transportSocket: rawBufferTransportSocket() },
      ] }),
  };
  const policy = effectiveTrafficPolicy(view, svc.hostname, port.port, subset);
  if (policy.tls === undefined && serviceMtlsMode(view, svc, port.port, discovery.type === 'ORIGINAL_DST' || policy.loadBalancer === 'PASSTHROUGH') === 'DISABLE') {
    // Auto mTLS, as istiod: a service whose namespace (or mesh) DISABLEs mTLS, or a headless one with
    // endpoints that lack a sidecar, is dialled in plaintext.
    delete c.transportSocket;
    delete c.transportSocketMatches;
  }
  const options = applyTrafficPolicy(c, sidecar && port.protocol === 'UnsupportedProtocol' ? sniffedOptions() : http2Options(port.protocol), policy, tlsTransportSocket(tls));
  return { ...c, ...packedOptions(options) };
}

/**
 * `outbound_.<port>_.<subset>_.<host>` on an AUTO_PASSTHROUGH gateway: EDS (headless services too),
 * no TLS of its own, since the client's mTLS stream passes through untouched.
 */
export function sniDnatCluster(view: MeshView, svc: Service, port: ServicePort, subset: string): T.Cluster {
  const name = sniName({ direction: 'outbound', port: port.port, subset, host: svc.hostname });
  const c: T.Cluster = {
    name,
    type: 'EDS',
    edsClusterConfig: { edsConfig: ADS_CONFIG, serviceName: name },
    lbPolicy: 'LEAST_REQUEST',
    connectTimeout: CONNECT_TIMEOUT,
    circuitBreakers: CIRCUIT_BREAKERS,
    commonLbConfig: BALANCE_ALL_ENDPOINTS,
    metadata: serviceMetadata(svc, subset),
  };
  // The traffic policy applies, its TLS does not: the client's own TLS passes through.
  const options = applyTrafficPolicy(c, undefined, effectiveTrafficPolicy(view, svc.hostname, port.port, subset), undefined);
  return { ...c, ...packedOptions(options) };
}

/**
 * Where inbound connections to the workload come from. istio-iptables sends every connection the
 * proxy makes to a non-loopback local address back into the inbound listener (15006) unless its
 * source is 127.0.0.6, so forwarding to the pod's own address from anything else loops.
 */
export const INBOUND_PASSTHROUGH_BIND: NonNullable<T.Cluster['upstreamBindConfig']> = { sourceAddress: { address: '127.0.0.6', portValue: 0 } };

/**
 * `inbound|<port>||`: the local workload at the connection's original destination (the pod's own
 * address and the target port, as Istio does since 1.10), from 127.0.0.6 so the capture lets it pass.
 */
export function inboundCluster(port: number, protocol: Protocol): T.Cluster {
  return {
    name: clusterName({ direction: 'inbound', port, subset: '', host: '' }),
    type: 'ORIGINAL_DST',
    lbPolicy: 'CLUSTER_PROVIDED',
    connectTimeout: CONNECT_TIMEOUT,
    circuitBreakers: CIRCUIT_BREAKERS,
    upstreamBindConfig: INBOUND_PASSTHROUGH_BIND,
    ...packedOptions(http2Options(protocol)),
  };
}

/** Connections nobody should make end here (no endpoints). */
export function blackHoleCluster(): T.Cluster {
  return { name: BLACKHOLE_CLUSTER, type: 'STATIC', connectTimeout: CONNECT_TIMEOUT };
}

/**
 * Traffic to destinations outside the mesh goes to its original destination; the inbound
 * passthrough (`InboundPassthroughCluster`, undeclared ports of the workload) binds to 127.0.0.6.
 */
export function passthroughCluster(name: string = PASSTHROUGH_CLUSTER): T.Cluster {
  return {
    name,
    ...(name === INBOUND_PASSTHROUGH_CLUSTER ? { upstreamBindConfig: INBOUND_PASSTHROUGH_BIND } : {}),
    type: 'ORIGINAL_DST',
    lbPolicy: 'CLUSTER_PROVIDED',
    connectTimeout: CONNECT_TIMEOUT,
    circuitBreakers: CIRCUIT_BREAKERS,
    typedExtensionProtocolOptions: {
      [EXT.httpProtocolOptions]: packAny(httpProtocolOptionsCodec, {
        useDownstreamProtocolConfig: { httpProtocolOptions: {}, http2ProtocolOptions: {} },
        // As istiod: idle upstream HTTP connections to original destinations close after 5 minutes
        // (Envoy's default is an hour), so pooled connections to outside hosts do not pile up.
        commonHttpProtocolOptions: { idleTimeout: { seconds: '300' } },
      }),
    },
  };
}
