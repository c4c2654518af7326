/**
 * Codecs for the small extension configs generated resources pack into `typed_config` Anys: the
 * TLS inspector, HTTP inspector and original-destination listener filters, the raw-buffer transport socket and the
 * upstream HTTP protocol options, the previous-hosts retry predicate (their .proto files are in the
 * shared schema's entry files). They load the schema on first use, not at import (the control plane
 * needs none before a proxy connects); extra-codecs.test.ts checks every name.
 */
import { lazyCodec as codec } from '../../proto/codec.ts';

export type EmptyConfig = Record<string, never>;

/** `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`, the parts we set. */
export interface HttpProtocolOptions {
  explicitHttpConfig?: {
    httpProtocolOptions?: EmptyConfig;
    http2ProtocolOptions?: { maxConcurrentStreams?: { value?: number } };
  };
  useDownstreamProtocolConfig?: { httpProtocolOptions?: EmptyConfig; http2ProtocolOptions?: EmptyConfig };
  commonHttpProtocolOptions?: { idleTimeout?: { seconds?: string; nanos?: number }; maxRequestsPerConnection?: { value?: number } };
}

export const tlsInspectorCodec = codec<EmptyConfig>('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector');
export const originalDstCodec = codec<EmptyConfig>('envoy.extensions.filters.listener.original_dst.v3.OriginalDst');
export const httpInspectorCodec = codec<EmptyConfig>('envoy.extensions.filters.listener.http_inspector.v3.HttpInspector');
export const rawBufferCodec = codec<EmptyConfig>('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer');
export const httpProtocolOptionsCodec = codec<HttpProtocolOptions>('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
export const previousHostsPredicateCodec = codec<EmptyConfig>('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate');

/** Extension names as Envoy registers them (the `name` next to a `typed_config`). */
export const EXT = {
  tlsInspector: 'envoy.filters.listener.tls_inspector',
  originalDst: 'envoy.filters.listener.original_dst',
  httpInspector: 'envoy.filters.listener.http_inspector',
  httpConnectionManager: 'envoy.filters.network.http_connection_manager',
  tcpProxy: 'envoy.filters.network.tcp_proxy',
  router: 'envoy.filters.http.router',
  tlsTransportSocket: 'envoy.transport_sockets.tls',
  rawBufferTransportSocket: 'envoy.transport_sockets.raw_buffer',
  httpProtocolOptions: 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
  previousHosts: 'envoy.retry_host_predicates.previous_hosts',
} as const;
