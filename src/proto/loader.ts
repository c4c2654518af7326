/**
 * Loads the protobuf schema Isthmus speaks: Envoy v3, cncf xds, googleapis and protoc-gen-validate
 * `.proto` files from the exactly pinned `@grpc/grpc-js-xds` package (its `deps/` directory, never
 * copied into this repository), plus our own `proto/` directory (the Istio CA API).
 *
 * The schema is parsed once, synchronously, on first use and kept in a module-level singleton.
 * `google/protobuf/{any,struct,duration,timestamp,wrappers,empty,field_mask}.proto` come from
 * protobufjs' bundled definitions; `google/protobuf/descriptor.proto` (needed by the validate and
 * udpa annotations) from the copy protobufjs ships in its package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Root } from 'protobufjs';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';

const require = createRequire(import.meta.url);

/** Where `.proto` imports are looked up, in this order. */
export interface ProtoIncludeDirs {
  /** Our own `proto/` directory. */
  readonly isthmus: string;
  readonly envoy: string;
  readonly xds: string;
  readonly googleapis: string;
  readonly validate: string;
  /** protobufjs' package directory, for `google/protobuf/descriptor.proto`. */
  readonly protobufjs: string;
}

/** The entry files; everything else is reached through their imports. */
export const PROTO_ENTRY_FILES: readonly string[] = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/service/discovery/v3/ads.proto',
  'envoy/service/discovery/v3/discovery.proto',
  'envoy/service/status/v3/csds.proto',
  'envoy/admin/v3/config_dump.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/filters/listener/original_dst/v3/original_dst.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'istio/v1/auth/ca.proto',
];

let includeDirsCache: ProtoIncludeDirs | undefined;

/** The project's `proto/`: beside `src/` when run from source, one level further up from `dist/src/`. */
function ownProtoDir(): string {
  const fromSource = fileURLToPath(new URL('../../proto/', import.meta.url));
  return existsSync(fromSource) ? fromSource : fileURLToPath(new URL('../../../proto/', import.meta.url));
}

export function protoIncludeDirs(): ProtoIncludeDirs {
  if (includeDirsCache) return includeDirsCache;
  const xdsPkg = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  const deps = join(xdsPkg, 'deps');
  includeDirsCache = {
    isthmus: ownProtoDir(),
    envoy: join(deps, 'envoy-api'),
    xds: join(deps, 'xds'),
    googleapis: join(deps, 'googleapis'),
    validate: join(deps, 'protoc-gen-validate'),
    protobufjs: dirname(require.resolve('protobufjs/package.json')),
  };
  return includeDirsCache;
}

/** Resolves `target` against the include dirs first, then relative to the importing file. */
function makeResolvePath(dirs: readonly string[]): (origin: string, target: string) => string {
  return (origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // Not found: hand back a path anyway so protobufjs fails loudly (ENOENT names the file).
    return origin === '' ? resolve(target) : resolve(dirname(origin), target);
  };
}

/**
 * protobufjs' bundled `google/protobuf/any.proto` is pre-parsed JSON that skips the camelCase
 * conversion every `.proto` file gets, so Any's field would be `type_url` next to `typeUrl`-style
 * names everywhere else (the other bundled types have no underscores). Rename it in this root only
 * (the bundled definition is shared by other protobufjs users, e.g. @grpc/proto-loader). The Any
 * wrapper of protobufjs reads `type_url` only for the `@type` / `json: true` forms we do not use.
 */
function camelCaseAnyTypeUrl(root: Root): void {
  const any = root.lookupType('.google.protobuf.Any');
  const field = any.fields.type_url;
  if (field === undefined) return;
  any.remove(field);
  any.add(new protobuf.Field('typeUrl', field.id, field.type));
}

interface Loaded {
  readonly root: Root;
  readonly loadMillis: number;
}

let loaded: Loaded | undefined;

/**
 * The schema as JSON, which `scripts/build.ts` writes beside the compiled JavaScript: building
 * the reflection objects from it takes about half the CPU of parsing the `.proto` files. Sources
 * never have one beside them (this resolves to the project's root from `src/proto/`), so a checkout
 * always parses the files it has.
 */
const PREBUILT_SCHEMA = new URL('../../proto-schema.json', import.meta.url);

function parseProtoFiles(): Root {
  const d = protoIncludeDirs();
  const dirs = [d.isthmus, d.envoy, d.xds, d.googleapis, d.validate, d.protobufjs];
  const root = new protobuf.Root();
  root.resolvePath = makeResolvePath(dirs);
  // keepCase: false (the default) gives camelCase field names, as in src/proto/types.ts.
  root.loadSync([...PROTO_ENTRY_FILES], { keepCase: false });
  camelCaseAnyTypeUrl(root);
  return root;
}

function load(): Loaded {
  const start = performance.now();
  let root: Root;
  try {
    const prebuilt = existsSync(PREBUILT_SCHEMA) ? readFileSync(PREBUILT_SCHEMA, 'utf8') : undefined;
    if (prebuilt === undefined) {
      root = parseProtoFiles();
      root.resolveAll(); // a type no file defines fails here, at start
    } else {
      // Written by the build from a root that resolved completely; each type resolves its fields on
      // first use, which saves resolving the hundreds of types nothing encodes (about 0.1 s).
      root = protobuf.Root.fromJSON(JSON.parse(prebuilt) as protobuf.INamespace);
    }
  } catch (err) {
    throw new IsthmusError(ErrorCodes.ProtoCodec, `loading the protobuf schema failed: ${errorMessage(err)}`, { cause: err });
  }
  return { root, loadMillis: performance.now() - start };
}

/** The schema parsed from the `.proto` files, as JSON (what `scripts/build.ts` writes). */
export function schemaJsonFromProtoFiles(): string {
  return JSON.stringify(parseProtoFiles().toJSON());
}

/** The loaded schema (parsed on first call, then cached). */
export function protoRoot(): Root {
  loaded ??= load();
  return loaded.root;
}

/** How long the one-time schema load took, in milliseconds (loads it if not loaded yet). */
export function protoLoadMillis(): number {
  loaded ??= load();
  return loaded.loadMillis;
}

/**
 * Every `.proto` file the schema was parsed from (entry files and imports): absolute paths, except
 * protobufjs' bundled well-known types, listed as e.g. `google/protobuf/any.proto`.
 */
export function protoFilePaths(): readonly string[] {
  return [...protoRoot().files];
}
