import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { PROTO_ENTRY_FILES, protoFilePaths, protoIncludeDirs, protoLoadMillis, protoRoot } from './loader.ts';

test('the schema loads once from the pinned grpc-js-xds deps and our proto/ dir', (t) => {
  const root = protoRoot();
  assert.equal(protoRoot(), root, 'cached');
  t.diagnostic(`schema load took ${protoLoadMillis().toFixed(0)} ms, ${protoFilePaths().length} files`);
  const dirs = protoIncludeDirs();
  for (const dir of [dirs.isthmus, dirs.envoy, dirs.xds, dirs.googleapis, dirs.validate, dirs.protobufjs]) assert.ok(existsSync(dir), dir);
  assert.match(dirs.envoy, /@grpc[/\\]grpc-js-xds[/\\]deps[/\\]envoy-api$/);
  const files = protoFilePaths();
  for (const entry of PROTO_ENTRY_FILES) {
    assert.ok(files.some((f) => f.endsWith(entry)), `${entry} loaded`);
  }
  assert.ok(files.some((f) => f.endsWith('udpa/annotations/status.proto')), 'imports resolved through the xds include dir');
  for (const name of [
    'envoy.config.listener.v3.Listener',
    'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    'envoy.admin.v3.ConfigDump',
    'envoy.admin.v3.ClustersConfigDump',
    'istio.v1.auth.IstioCertificateService',
  ]) {
    assert.ok(root.lookup(name), name);
  }
});
