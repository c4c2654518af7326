/**
 * The shapes of the protobuf messages Isthmus exchanges (xDS resources and the filter configs inside
 * them, the discovery protocol, CSDS client status, Envoy's admin config dump, Istio's CA API, the
 * well-known types), generated from the pinned `.proto` files the loader reads: src/proto/generated,
 * made by scripts/proto-types.ts. Every field of the schema is listed, so a misspelled field fails
 * the type check. For each message or enum `X`:
 *
 * - `X` is what the codec encodes: every field optional, a 64-bit integer may be a number, a string
 *   or a Long, an enum its name or number, bytes a Uint8Array;
 * - `X__Output` is what the codec decodes (src/proto/codec.ts's options): only fields present on the
 *   wire appear (proto3 peers omit fields at their default, so read `x ?? default`), 64-bit integers are
 *   decimal strings, enums their names (a number the schema does not know still arrives as a number),
 *   bytes Node Buffers; oneof members are plain optional fields.
 *
 * `google.protobuf.Any` is `{ typeUrl, value? }` (the loader's camelCase shape; `value` is absent when
 * the packed message encodes to zero bytes). wkt.ts converts Struct, Timestamp and Duration.
 */
export type { Address } from './generated/envoy/config/core/v3/Address.ts';
export type { Any, Any__Output } from './generated/google/protobuf/Any.ts';
export type { CertificateValidationContext } from './generated/envoy/extensions/transport_sockets/tls/v3/CertificateValidationContext.ts';
export type { ClientConfig, ClientConfig__Output } from './generated/envoy/service/status/v3/ClientConfig.ts';
export type { ClientStatusRequest, ClientStatusRequest__Output } from './generated/envoy/service/status/v3/ClientStatusRequest.ts';
export type { ClientStatusResponse, ClientStatusResponse__Output } from './generated/envoy/service/status/v3/ClientStatusResponse.ts';
export type { Cluster, Cluster__Output } from './generated/envoy/config/cluster/v3/Cluster.ts';
export type { ClusterLoadAssignment, ClusterLoadAssignment__Output } from './generated/envoy/config/endpoint/v3/ClusterLoadAssignment.ts';
export type { ConfigDump, ConfigDump__Output } from './generated/envoy/admin/v3/ConfigDump.ts';
export type { ConfigSource } from './generated/envoy/config/core/v3/ConfigSource.ts';
export type { ConfigStatus } from './generated/envoy/service/status/v3/ConfigStatus.ts';
export type { DeltaDiscoveryRequest, DeltaDiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryRequest.ts';
export type { DeltaDiscoveryResponse, DeltaDiscoveryResponse__Output } from './generated/envoy/service/discovery/v3/DeltaDiscoveryResponse.ts';
export type { DiscoveryRequest, DiscoveryRequest__Output } from './generated/envoy/service/discovery/v3/DiscoveryRequest.ts';
export type { DiscoveryResponse, DiscoveryResponse__Output } from './generated/envoy/service/discovery/v3/DiscoveryResponse.ts';
export type { DownstreamTlsContext, DownstreamTlsContext__Output } from './generated/envoy/extensions/transport_sockets/tls/v3/DownstreamTlsContext.ts';
export type { Duration, Duration__Output } from './generated/google/protobuf/Duration.ts';
export type { Filter } from './generated/envoy/config/listener/v3/Filter.ts';
export type { FilterChain } from './generated/envoy/config/listener/v3/FilterChain.ts';
export type { FilterChainMatch } from './generated/envoy/config/listener/v3/FilterChainMatch.ts';
export type { HealthStatus } from './generated/envoy/config/core/v3/HealthStatus.ts';
export type { HttpConnectionManager, HttpConnectionManager__Output } from './generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager.ts';
export type { HttpFilter } from './generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpFilter.ts';
export type { IstioCertificateRequest, IstioCertificateRequest__Output } from './generated/istio/v1/auth/IstioCertificateRequest.ts';
export type { IstioCertificateResponse, IstioCertificateResponse__Output } from './generated/istio/v1/auth/IstioCertificateResponse.ts';
export type { LbEndpoint } from './generated/envoy/config/endpoint/v3/LbEndpoint.ts';
export type { Listener, Listener__Output } from './generated/envoy/config/listener/v3/Listener.ts';
export type { Locality } from './generated/envoy/config/core/v3/Locality.ts';
export type { LocalityLbEndpoints } from './generated/envoy/config/endpoint/v3/LocalityLbEndpoints.ts';
export type { Metadata } from './generated/envoy/config/core/v3/Metadata.ts';
export type { Node, Node__Output } from './generated/envoy/config/core/v3/Node.ts';
export type { RetryPolicy } from './generated/envoy/config/route/v3/RetryPolicy.ts';
export type { Route } from './generated/envoy/config/route/v3/Route.ts';
export type { RouteConfiguration, RouteConfiguration__Output } from './generated/envoy/config/route/v3/RouteConfiguration.ts';
export type { RouteMatch } from './generated/envoy/config/route/v3/RouteMatch.ts';
export type { Router, Router__Output } from './generated/envoy/extensions/filters/http/router/v3/Router.ts';
export type { Secret, Secret__Output } from './generated/envoy/extensions/transport_sockets/tls/v3/Secret.ts';
export type { Struct, Struct__Output } from './generated/google/protobuf/Struct.ts';
export type { TcpProxy, TcpProxy__Output } from './generated/envoy/extensions/filters/network/tcp_proxy/v3/TcpProxy.ts';
export type { Timestamp, Timestamp__Output } from './generated/google/protobuf/Timestamp.ts';
export type { TlsParameters } from './generated/envoy/extensions/transport_sockets/tls/v3/TlsParameters.ts';
export type { TransportSocket } from './generated/envoy/config/core/v3/TransportSocket.ts';
export type { UpstreamTlsContext, UpstreamTlsContext__Output } from './generated/envoy/extensions/transport_sockets/tls/v3/UpstreamTlsContext.ts';
export type { Value } from './generated/google/protobuf/Value.ts';
export type { VirtualHost } from './generated/envoy/config/route/v3/VirtualHost.ts';
export type { _envoy_service_status_v3_ClientConfig_GenericXdsConfig as GenericXdsConfig } from './generated/envoy/service/status/v3/ClientConfig.ts';
