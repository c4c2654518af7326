/**
 * protoc-gen-validate checks on our object form. Every expected issue below is written from the
 * rule text of the .proto file cited next to it (node_modules/@grpc/grpc-js-xds/deps/envoy-api/),
 * not from the checker's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../../model/errors.ts';
import { TestbedErrorCodes, isTestbedError } from '../testbed/errors.ts';
import {
  codec, downstreamTlsContextCodec, httpConnectionManagerCodec, listenerCodec, packAny, routerCodec, upstreamTlsContextCodec,
} from '../../proto/codec.ts';
import * as data from './testdata.ts';
import type * as T from '../../proto/types.ts';
import { ProtoValidationError, assertValid, validate, validateMessage } from './validate.ts';

const LISTENER = 'envoy.config.listener.v3.Listener';
const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const CLA = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
const RDS = 'envoy.config.route.v3.RouteConfiguration';
const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Packs untyped HttpConnectionManager objects (bad values the generated types would refuse). */
const hcmAny = codec<Record<string, unknown>>(HCM);

/** `path rule` of every issue, in report order. */
function found(typeName: string, obj: unknown): string[] {
  return validateMessage(typeName, obj).map((i) => `${i.path} ${i.rule}`);
}

function listenerWithHcm(hcm: Record<string, unknown>): unknown {
  return {
    ...data.listener,
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: packAny(hcmAny, hcm) }] }],
  };
}

function routeConfig(vh: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { name: '9080', virtualHosts: [{ name: 'reviews', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }], ...vh }], ...extra };
}

function lbEndpoint(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { endpoint: { address: { socketAddress: { address: '10.0.0.5', portValue: 9080 } } }, ...extra };
}

function cla(locality: Record<string, unknown>): unknown {
  return { clusterName: 'outbound|9080||reviews', endpoints: [{ lbEndpoints: [lbEndpoint()], ...locality }] };
}

const healthCheck = { timeout: { seconds: '1' }, interval: { seconds: '5' }, unhealthyThreshold: { value: 3 }, healthyThreshold: { value: 1 }, httpHealthCheck: { path: '/healthz' } };

// ---- valid resources ----

test('the realistic Listener, Cluster, ClusterLoadAssignment, RouteConfiguration and Secrets pass', () => {
  const cases: [string, unknown][] = [
    [LISTENER, data.listener], [CLUSTER, data.cluster], [CLA, data.clusterLoadAssignment],
    [RDS, data.routeConfiguration], [SECRET, data.secret], [SECRET, data.rootSecret], [HCM, data.hcm],
    [RDS, routeConfig({})], [CLA, cla({})], [CLUSTER, { ...data.cluster, healthChecks: [healthCheck] }],
  ];
  for (const [typeName, obj] of cases) {
    const report = validate(typeName, obj);
    assert.deepStrictEqual(report.issues, [], typeName);
    assert.deepStrictEqual(report.unsupported, [], typeName);
    assert.doesNotThrow(() => { assertValid(typeName, obj); });
  }
});

test('decoded resources (strings for 64-bit ints, Buffers) validate like the objects they came from', () => {
  const decoded = listenerCodec.decode(listenerCodec.encode(data.listener));
  assert.deepStrictEqual(validate(LISTENER, decoded).issues, []);
});

test('an Any of a type outside the schema is listed as unchecked, not as an issue', () => {
  const report = validate(LISTENER, data.listener);
  assert.deepStrictEqual(report.uncheckedAny, [{
    path: 'listener_filters[0].typed_config',
    typeUrl: 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol',
  }]);
});

// ---- deliberate violations ----

test('Cluster without a name', () => {
  // envoy/config/cluster/v3/cluster.proto Cluster.name: string name = 1 [(validate.rules).string = {min_len: 1}]
  // (proto3: an absent string is checked as '').
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, name: undefined }), ['name string.min_len']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, name: '' }), ['name string.min_len']);
});

test('Listener address port above 65535', () => {
  // envoy/config/core/v3/address.proto SocketAddress.port_value: [(validate.rules).uint32 = {lte: 65535}]
  const listener = { ...data.listener, address: { socketAddress: { address: '0.0.0.0', portValue: 65536 } } };
  assert.deepStrictEqual(found(LISTENER, listener), ['address.socket_address.port_value uint32.lte']);
});

test('SocketAddress with neither port_value nor named_port', () => {
  // envoy/config/core/v3/address.proto SocketAddress: oneof port_specifier { option (validate.required) = true; ... }
  const listener = { ...data.listener, address: { socketAddress: { address: '0.0.0.0' } } };
  assert.deepStrictEqual(found(LISTENER, listener), ['address.socket_address.port_specifier oneof.required']);
});

test('ClusterLoadAssignment with load_balancing_weight 0 on an endpoint and on a locality', () => {
  // envoy/config/endpoint/v3/endpoint_components.proto LbEndpoint.load_balancing_weight and
  // LocalityLbEndpoints.load_balancing_weight: google.protobuf.UInt32Value [(validate.rules).uint32 = {gte: 1}]
  assert.deepStrictEqual(
    found(CLA, { clusterName: 'c', endpoints: [{ lbEndpoints: [lbEndpoint(), lbEndpoint({ loadBalancingWeight: { value: 0 } })] }] }),
    ['endpoints[0].lb_endpoints[1].load_balancing_weight uint32.gte'],
  );
  // A set wrapper without `value` is the wrapper at its default, 0.
  assert.deepStrictEqual(found(CLA, cla({ loadBalancingWeight: {} })), ['endpoints[0].load_balancing_weight uint32.gte']);
  // An absent wrapper is not checked.
  assert.deepStrictEqual(found(CLA, cla({ loadBalancingWeight: undefined })), []);
});

test('ClusterLoadAssignment without cluster_name and with priority above 128', () => {
  // envoy/config/endpoint/v3/endpoint.proto ClusterLoadAssignment.cluster_name: [(validate.rules).string = {min_len: 1}]
  // envoy/config/endpoint/v3/endpoint_components.proto LocalityLbEndpoints.priority: [(validate.rules).uint32 = {lte: 128}]
  const obj = { endpoints: [{ lbEndpoints: [lbEndpoint()], priority: 129 }] };
  assert.deepStrictEqual(found(CLA, obj), ['cluster_name string.min_len', 'endpoints[0].priority uint32.lte']);
});

test('LbEndpoint whose endpoint address is missing what is required', () => {
  // envoy/config/core/v3/address.proto Address: oneof address { option (validate.required) = true; ... }
  assert.deepStrictEqual(
    found(CLA, { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: {} } }] }] }),
    ['endpoints[0].lb_endpoints[0].endpoint.address.address oneof.required'],
  );
  // envoy/config/core/v3/address.proto SocketAddress.address: [(validate.rules).string = {min_len: 1}]
  assert.deepStrictEqual(
    found(CLA, { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { portValue: 80 } } } }] }] }),
    ['endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address string.min_len'],
  );
});

test('RouteConfiguration virtual host with empty (or absent) domains', () => {
  // envoy/config/route/v3/route_components.proto VirtualHost.domains:
  // [(validate.rules).repeated = {min_items: 1 items {string {well_known_regex: HTTP_HEADER_VALUE strict: false}}}]
  assert.deepStrictEqual(found(RDS, routeConfig({ domains: [] })), ['virtual_hosts[0].domains repeated.min_items']);
  assert.deepStrictEqual(found(RDS, routeConfig({ domains: undefined })), ['virtual_hosts[0].domains repeated.min_items']);
  // The loose header-value check only refuses NUL, CR and LF.
  assert.deepStrictEqual(found(RDS, routeConfig({ domains: ['ok.example', 'bad\r\nhost'] })), ['virtual_hosts[0].domains[1] repeated.items.string.well_known_regex']);
});

test('HttpConnectionManager inside an Any with an empty stat_prefix and no route specifier', () => {
  // envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
  // HttpConnectionManager.stat_prefix: [(validate.rules).string = {min_len: 1}];
  // oneof route_specifier { option (validate.required) = true; rds, route_config, scoped_routes }
  const hcm = { ...data.hcm, statPrefix: '' };
  assert.deepStrictEqual(found(LISTENER, listenerWithHcm(hcm)), ['filter_chains[0].filters[0].typed_config.stat_prefix string.min_len']);
  const noRoutes = { statPrefix: 'x', httpFilters: data.hcm.httpFilters };
  const issues = validateMessage(LISTENER, listenerWithHcm(noRoutes));
  assert.deepStrictEqual(issues.map((i) => [i.path, i.rule, i.typeName]), [
    ['filter_chains[0].filters[0].typed_config.route_specifier', 'oneof.required', HCM],
  ]);
});

test('Any rules: a TypedExtensionConfig without typed_config; a SchemeHeaderTransformation outside its `in` list', () => {
  // envoy/config/core/v3/extension.proto TypedExtensionConfig.typed_config: [(validate.rules).any = {required: true}]
  // envoy/config/core/v3/protocol.proto SchemeHeaderTransformation.scheme_to_overwrite:
  // [(validate.rules).string = {in: "http" in: "https"}]
  const hcm = {
    ...data.hcm,
    originalIpDetectionExtensions: [{ name: 'envoy.http.original_ip_detection.xff' }],
    schemeHeaderTransformation: { schemeToOverwrite: 'ftp' },
  };
  // Issues come in field declaration order (scheme_header_transformation = 48 is declared first).
  assert.deepStrictEqual(found(LISTENER, listenerWithHcm(hcm)), [
    'filter_chains[0].filters[0].typed_config.scheme_header_transformation.scheme_to_overwrite string.in',
    'filter_chains[0].filters[0].typed_config.original_ip_detection_extensions[0].typed_config any.required',
  ]);
  assert.deepStrictEqual(found(LISTENER, listenerWithHcm({ ...hcm, originalIpDetectionExtensions: undefined, schemeHeaderTransformation: { schemeToOverwrite: 'https' } })), []);
});

test('Duration rules: negative or zero connect_timeout where gt 0; missing required durations', () => {
  // envoy/config/cluster/v3/cluster.proto Cluster.connect_timeout: [(validate.rules).duration = {gt {}}]
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, connectTimeout: { seconds: '-1' } }), ['connect_timeout duration.gt']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, connectTimeout: { nanos: -5 } }), ['connect_timeout duration.gt']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, connectTimeout: {} }), ['connect_timeout duration.gt']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, connectTimeout: { nanos: 1 } }), []);
  // envoy/config/core/v3/health_check.proto HealthCheck.timeout: duration = {required: true gt {}};
  // HealthCheck.unhealthy_threshold: [(validate.rules).message = {required: true}]
  const hc = { ...healthCheck, timeout: undefined, unhealthyThreshold: undefined };
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, healthChecks: [hc] }), [
    'health_checks[0].timeout duration.required', 'health_checks[0].unhealthy_threshold message.required',
  ]);
});

test('enum rules: undefined lb_policy; CONNECT health checks', () => {
  // envoy/config/cluster/v3/cluster.proto Cluster.lb_policy: [(validate.rules).enum = {defined_only: true}]
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, lbPolicy: 99 }), ['lb_policy enum.defined_only']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, lbPolicy: 'NO_SUCH_POLICY' }), ['lb_policy enum.defined_only']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, lbPolicy: 3 }), []); // RING_HASH by number
  // envoy/config/core/v3/health_check.proto HttpHealthCheck.method:
  // [(validate.rules).enum = {defined_only: true not_in: 6}] (6 is CONNECT in core/v3/base.proto RequestMethod)
  const hc = { ...healthCheck, httpHealthCheck: { path: '/healthz', method: 'CONNECT' } };
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, healthChecks: [hc] }), ['health_checks[0].http_health_check.method enum.not_in']);
});

test('64-bit and double rules on wrappers', () => {
  // envoy/config/cluster/v3/cluster.proto RingHashLbConfig.minimum_ring_size:
  // google.protobuf.UInt64Value [(validate.rules).uint64 = {lte: 8388608}]
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, ringHashLbConfig: { minimumRingSize: { value: '8388609' } } }), ['ring_hash_lb_config.minimum_ring_size uint64.lte']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, ringHashLbConfig: { minimumRingSize: { value: '8388608' } } }), []);
  // envoy/config/cluster/v3/cluster.proto PreconnectPolicy.per_upstream_preconnect_ratio:
  // google.protobuf.DoubleValue [(validate.rules).double = {lte: 3.0 gte: 1.0}]
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, preconnectPolicy: { perUpstreamPreconnectRatio: { value: 3.5 } } }), ['preconnect_policy.per_upstream_preconnect_ratio double.lte']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, preconnectPolicy: { perUpstreamPreconnectRatio: { value: 0.5 } } }), ['preconnect_policy.per_upstream_preconnect_ratio double.gte']);
});

test('repeated items: source ports outside 1..65535; map keys: an empty filter_metadata key', () => {
  // envoy/config/listener/v3/listener_components.proto FilterChainMatch.source_ports:
  // [(validate.rules).repeated = {items {uint32 {lte: 65535 gte: 1}}}]
  const listener = { ...data.listener, filterChains: [{ filterChainMatch: { sourcePorts: [80, 0, 70000] } }] };
  assert.deepStrictEqual(found(LISTENER, listener), [
    'filter_chains[0].filter_chain_match.source_ports[1] repeated.items.uint32.gte',
    'filter_chains[0].filter_chain_match.source_ports[2] repeated.items.uint32.lte',
  ]);
  // envoy/config/core/v3/base.proto Metadata.filter_metadata: [(validate.rules).map = {keys {string {min_len: 1}}}]
  const meta = { ...data.listener, metadata: { filterMetadata: { '': { fields: {} }, istio: { fields: {} } } } };
  assert.deepStrictEqual(found(LISTENER, meta), ['metadata.filter_metadata[""] map.keys.string.min_len']);
});

test('RouteConfiguration: header names, a required header, a pattern, unique items, a status range', () => {
  // envoy/config/route/v3/route.proto RouteConfiguration.internal_only_headers:
  // [(validate.rules).repeated = {items {string {well_known_regex: HTTP_HEADER_NAME strict: false}}}]
  assert.deepStrictEqual(found(RDS, routeConfig({}, { internalOnlyHeaders: ['x-ok', 'bad\nname'] })), ['internal_only_headers[1] repeated.items.string.well_known_regex']);
  // envoy/config/core/v3/base.proto HeaderValueOption.header: [(validate.rules).message = {required: true}]
  const addHeader = { requestHeadersToAdd: [{ appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' }] };
  assert.deepStrictEqual(found(RDS, routeConfig(addHeader)), ['virtual_hosts[0].request_headers_to_add[0].header message.required']);
  // envoy/config/route/v3/route_components.proto RouteMatch.path_separated_prefix:
  // [(validate.rules).string = {pattern: "^[^?#]+[^?#/]$"}]
  const route = (r: Record<string, unknown>): unknown => routeConfig({ routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, ...r }] });
  assert.deepStrictEqual(found(RDS, route({ match: { pathSeparatedPrefix: '/api/' } })), ['virtual_hosts[0].routes[0].match.path_separated_prefix string.pattern']);
  assert.deepStrictEqual(found(RDS, route({ match: { pathSeparatedPrefix: '/api' } })), []);
  // envoy/config/route/v3/route_components.proto InternalRedirectPolicy.response_headers_to_copy:
  // [(validate.rules).repeated = {unique: true items {string {well_known_regex: HTTP_HEADER_NAME strict: false}}}]
  const redirect = { route: { cluster: 'c', internalRedirectPolicy: { responseHeadersToCopy: ['x-a', 'x-b', 'x-a'] } } };
  assert.deepStrictEqual(found(RDS, route(redirect)), ['virtual_hosts[0].routes[0].route.internal_redirect_policy.response_headers_to_copy[2] repeated.unique']);
  // envoy/config/route/v3/route_components.proto DirectResponseAction.status: [(validate.rules).uint32 = {lt: 600 gte: 200}];
  // Route: oneof action { option (validate.required) = true; ... }
  assert.deepStrictEqual(found(RDS, route({ route: undefined, directResponse: { status: 600 } })), ['virtual_hosts[0].routes[0].direct_response.status uint32.lt']);
  assert.deepStrictEqual(found(RDS, route({ route: undefined })), ['virtual_hosts[0].routes[0].action oneof.required']);
});

test('Secret with an empty DataSource; an SDS secret reference without a name', () => {
  // envoy/extensions/transport_sockets/tls/v3/secret.proto Secret.name is `string name = 1;` (no rule),
  // so a nameless Secret is valid. envoy/config/core/v3/base.proto DataSource:
  // oneof specifier { option (validate.required) = true; ... }
  const secret = { ...data.secret, name: '', tlsCertificate: { ...data.secret.tlsCertificate, certificateChain: {} } };
  assert.deepStrictEqual(found(SECRET, secret), ['tls_certificate.certificate_chain.specifier oneof.required']);
  // envoy/extensions/transport_sockets/tls/v3/secret.proto SdsSecretConfig.name: [(validate.rules).string = {min_len: 1}]
  const tls: T.UpstreamTlsContext = { commonTlsContext: { tlsCertificateSdsSecretConfigs: [{ name: '' }] } };
  const cluster = { ...data.cluster, transportSocketMatches: undefined, transportSocket: { name: 'tls', typedConfig: packAny(upstreamTlsContextCodec, tls) } };
  assert.deepStrictEqual(found(CLUSTER, cluster), ['transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name string.min_len']);
});

test('rules of an unset oneof member are not applied', () => {
  // envoy/type/matcher/v3/string.proto StringMatcher.safe_regex carries message.required inside
  // oneof match_pattern: it applies only when safe_regex is the member set.
  const match: T.RouteMatch = { prefix: '/', headers: [{ name: 'end-user', stringMatch: { exact: 'jason' } }] };
  assert.deepStrictEqual(found(RDS, routeConfig({ routes: [{ match, route: { cluster: 'c' } }] })), []);
});

// ---- errors, malformed input ----

test('assertValid throws ProtoValidation listing every issue', () => {
  const bad = { ...data.cluster, name: '', connectTimeout: { seconds: '-1' } };
  assert.throws(() => { assertValid(CLUSTER, bad); }, (err: unknown) => {
    assert.ok(isTestbedError(err, TestbedErrorCodes.ProtoValidation));
    assert.ok(err instanceof ProtoValidationError);
    assert.deepStrictEqual(err.issues.map((i) => i.path), ['name', 'connect_timeout']);
    assert.match(err.message, /^envoy\.config\.cluster\.v3\.Cluster failed validation \(2 issues\):\nname: .*\[string\.min_len\]\nconnect_timeout: .*\[duration\.gt\]$/);
    return true;
  });
});

test('unknown types throw ProtoUnknownType; wrongly typed values and undecodable Anys are issues, not crashes', () => {
  assert.throws(() => validate('no.such.Type', {}), (err: unknown) => isIsthmusError(err, ErrorCodes.ProtoUnknownType));
  assert.deepStrictEqual(found(CLUSTER, 'not a message'), [' type']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, name: 42 }), ['name string.type']);
  assert.deepStrictEqual(found(CLUSTER, { ...data.cluster, transportSocketMatches: 'x' }), ['transport_socket_matches type']);
  const garbage = { typeUrl: `type.googleapis.com/${HCM}`, value: new Uint8Array([0xff, 0xff, 0xff]) };
  const listener = { ...data.listener, filterChains: [{ filters: [{ name: 'hcm', typedConfig: garbage }] }] };
  assert.deepStrictEqual(found(LISTENER, listener), ['filter_chains[0].filters[0].typed_config any.decode']);
});

// ---- timing ----

function realisticListener(chains: number): T.Listener {
  const tls: T.DownstreamTlsContext = {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: [{ name: 'default', sdsConfig: { ads: {}, resourceApiVersion: 'V3' } }],
      combinedValidationContext: {
        defaultValidationContext: { matchTypedSubjectAltNames: [{ sanType: 'URI', matcher: { prefix: 'spiffe://cluster.local/' } }] },
        validationContextSdsSecretConfig: { name: 'ROOTCA', sdsConfig: { ads: {}, resourceApiVersion: 'V3' } },
      },
      alpnProtocols: ['h2', 'http/1.1'],
    },
    requireClientCertificate: { value: true },
  };
  const { rds: _rds, ...hcmBase } = data.hcm;
  const metadata: T.Metadata = { filterMetadata: { istio: { fields: { config: { stringValue: '/apis/networking.istio.io/v1/namespaces/default/sidecar/default' } } } } };
  const filterChains: T.FilterChain[] = [];
  for (let i = 0; i < chains; i++) {
    const routeConfiguration: T.RouteConfiguration = {
      name: `inbound|${9080 + i}||`,
      virtualHosts: [{
        name: `inbound|http|${9080 + i}`,
        domains: ['*'],
        routes: [
          { name: 'default', match: { prefix: '/' }, route: { cluster: `inbound|${9080 + i}||`, timeout: {}, maxGrpcTimeout: {} }, decorator: { operation: `reviews:${9080 + i}/*` } },
          { name: 'api', match: { path: '/api/v1/ratings', headers: [{ name: ':method', stringMatch: { exact: 'GET' } }] }, route: { cluster: `inbound|${9080 + i}||`, retryPolicy: { retryOn: '5xx', numRetries: { value: 2 } } } },
        ],
      }],
      validateClusters: { value: false },
    };
    filterChains.push({
      name: `0.0.0.0_${9080 + i}`,
      filterChainMatch: { destinationPort: { value: 9080 + i }, transportProtocol: 'tls', applicationProtocols: ['istio-http/1.0', 'istio-http/1.1', 'istio-h2'] },
      transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: packAny(downstreamTlsContextCodec, tls) },
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: packAny(httpConnectionManagerCodec, {
          ...hcmBase, statPrefix: `inbound_0.0.0.0_${9080 + i}`, routeConfig: routeConfiguration,
          httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: packAny(routerCodec, {}) }],
        }),
      }],
      metadata,
    });
  }
  return { ...data.listener, name: 'virtualInbound', filterChains };
}

test('timing: validating a realistic 12-filter-chain inbound Listener', (t) => {
  const listener = realisticListener(12);
  assert.deepStrictEqual(validate(LISTENER, listener).issues, []);
  const bytes = listenerCodec.encode(listener).length;
  for (let i = 0; i < 50; i++) validate(LISTENER, listener); // warm up the JIT
  const runs = 200;
  let start = performance.now();
  for (let i = 0; i < runs; i++) validate(LISTENER, listener);
  const validateMs = (performance.now() - start) / runs;
  start = performance.now();
  const encoded = listenerCodec.encode(listener);
  for (let i = 0; i < runs; i++) listenerCodec.decode(encoded);
  const decodeMs = (performance.now() - start) / runs;
  t.diagnostic(`Listener of ${bytes} bytes: validate ${validateMs.toFixed(3)} ms/op, decode ${decodeMs.toFixed(3)} ms/op`);
  assert.ok(validateMs < 50, `validation takes ${validateMs} ms`);
});
