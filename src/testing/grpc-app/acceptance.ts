/**
 * Test helper: runs generated resources through @grpc/grpc-js-xds's own resource validators (the
 * code a real proxyless gRPC client uses to accept or NACK a resource), with a bootstrap that
 * declares the certificate provider instance `default`. Not for product code.
 */
import { createRequire } from 'node:module';
import type { Codec } from '../../proto/codec.ts';
import { typeUrlOf } from '../../proto/codec.ts';

const require = createRequire(import.meta.url);

// A real application calls register() before dialling `xds:` targets; it installs the HTTP filters
// (router, fault, rbac) and LB policies the validators look up.
let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  (require('@grpc/grpc-js-xds') as { register(): void }).register();
  registered = true;
}

interface Decoded { readonly name: string; readonly value?: unknown; readonly error?: string }
interface ResourceType { decode(context: unknown, resource: { type_url: string; value: Uint8Array }): Decoded }
interface ResourceTypeClass { get(): ResourceType }

function load(path: string, exportName: string): ResourceType {
  const mod = require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${path}`) as Record<string, ResourceTypeClass | undefined>;
  const cls = mod[exportName];
  if (cls === undefined) throw new Error(`${exportName} not exported by ${path}`);
  return cls.get();
}

const TYPES: Record<string, () => ResourceType> = {
  'envoy.config.cluster.v3.Cluster': () => load('cluster-resource-type.js', 'ClusterResourceType'),
  'envoy.config.listener.v3.Listener': () => load('listener-resource-type.js', 'ListenerResourceType'),
  'envoy.config.route.v3.RouteConfiguration': () => load('route-config-resource-type.js', 'RouteConfigurationResourceType'),
  'envoy.config.endpoint.v3.ClusterLoadAssignment': () => load('endpoint-resource-type.js', 'EndpointResourceType'),
};

const CONTEXT = {
  server: {},
  bootstrap: {
    certificateProviders: {
      default: { pluginName: 'file_watcher', config: { certificateFile: '/tmp/cert.pem', privateKeyFile: '/tmp/key.pem', caCertificateFile: '/tmp/root.pem', refreshIntervalMs: 600000 } },
    },
  },
};

/** What grpc-js-xds 1.14.1 makes of one encoded resource: the decoded value, or its NACK reason. */
export function grpcJsXdsDecode<T>(codec: Codec<T>, resource: T): Decoded {
  const make = TYPES[codec.typeName];
  if (make === undefined) throw new Error(`no grpc-js-xds resource type for ${codec.typeName}`);
  ensureRegistered();
  return make().decode(CONTEXT, { type_url: typeUrlOf(codec), value: codec.encode(resource) });
}
