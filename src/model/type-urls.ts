/**
 * The xDS type URLs Isthmus serves: the Envoy v3 resource types, and Istio's debug types, which
 * istiod answers on the same ADS stream (`istioctl proxy-status` / `x describe` ask for them).
 */
import { typeUrl } from './ids.ts';
import type { TypeUrl } from './ids.ts';

/** The prefix of every protobuf-message type URL. */
export const TYPE_URL_PREFIX = 'type.googleapis.com/';

// Envoy resources (state-of-the-world and delta xDS).
export const LISTENER_TYPE_URL: TypeUrl = typeUrl(`${TYPE_URL_PREFIX}envoy.config.listener.v3.Listener`);
export const ROUTE_CONFIGURATION_TYPE_URL: TypeUrl = typeUrl(`${TYPE_URL_PREFIX}envoy.config.route.v3.RouteConfiguration`);
export const CLUSTER_TYPE_URL: TypeUrl = typeUrl(`${TYPE_URL_PREFIX}envoy.config.cluster.v3.Cluster`);
export const CLUSTER_LOAD_ASSIGNMENT_TYPE_URL: TypeUrl = typeUrl(`${TYPE_URL_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`);
export const SECRET_TYPE_URL: TypeUrl = typeUrl(`${TYPE_URL_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`);

// Istio debug types: not protobuf type names, requested as-is over ADS.
/** `istioctl proxy-status` / `version`: one `envoy.service.status.v3.ClientConfig` per connected proxy. */
export const DEBUG_SYNCZ_TYPE_URL: TypeUrl = typeUrl('istio.io/debug/syncz');
/** One proxy's generated config as admin config-dump Anys; resource name `<pod>.<namespace>`. */
export const DEBUG_CONFIG_DUMP_TYPE_URL: TypeUrl = typeUrl('istio.io/debug/config_dump');
/** istioctl <= 1.20 `version`: no resources, only `control_plane` in the response. */
export const CONNECTIONS_TYPE_URL: TypeUrl = typeUrl('istio.io/connections');

/** The short names Envoy and Istio use in logs (`LDS`, `RDS`, `CDS`, `EDS`, `SDS`). */
export const XDS_SHORT_NAMES: ReadonlyMap<TypeUrl, string> = new Map([
  [LISTENER_TYPE_URL, 'LDS'],
  [ROUTE_CONFIGURATION_TYPE_URL, 'RDS'],
  [CLUSTER_TYPE_URL, 'CDS'],
  [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, 'EDS'],
  [SECRET_TYPE_URL, 'SDS'],
]);
