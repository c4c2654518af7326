/**
 * `scripts/build.ts`, which the control-plane image runs: the compiled JavaScript starts, loads the
 * protobuf schema from the JSON written beside it (not from the `.proto` files), and that schema
 * encodes exactly as the one parsed from the `.proto` files does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the compiled control plane runs and reads its schema from proto-schema.json, encoding as the parsed one does', { timeout: 180_000 }, (t) => {
  // Inside the project, so the compiled modules resolve node_modules as dist/ does.
  const out = mkdtempSync(join(root, '.build-test-'));
  t.after(() => { rmSync(out, { recursive: true, force: true }); });
  execFileSync(process.execPath, [join(root, 'scripts/build.ts'), out], { stdio: 'pipe' });
  assert.ok(existsSync(join(out, 'src/main.js')));
  assert.ok(existsSync(join(out, 'proto-schema.json')));
  assert.ok(!existsSync(join(out, 'src/testing')), 'no test-only code in the build');

  // Encode the same messages with the compiled loader (schema from JSON) and the source one (parsed).
  const probe = `
    const [compiled, source] = await Promise.all([import(${JSON.stringify(join(out, 'src/proto/loader.js'))}), import(${JSON.stringify(join(root, 'src/proto/loader.ts'))})]);
    const { main } = await import(${JSON.stringify(join(out, 'src/main.js'))});
    const samples = {
      'envoy.config.cluster.v3.Cluster': { name: 'outbound|80||a.b.svc.cluster.local', type: 'EDS', edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } }, connectTimeout: { seconds: 10 },
        transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: { typeUrl: 'type.googleapis.com/x', value: Buffer.from([1, 2, 3]) } }, circuitBreakers: { thresholds: [{ maxConnections: 7, maxRetries: { value: 3 } }] } },
      'envoy.config.endpoint.v3.ClusterLoadAssignment': { clusterName: 'c', endpoints: [{ locality: { region: 'r', zone: 'z' }, loadBalancingWeight: { value: 2 }, priority: 1,
        lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '10.0.0.1', portValue: 80 } } }, healthStatus: 'HEALTHY', loadBalancingWeight: { value: 1 } }] }] },
      'envoy.service.discovery.v3.DiscoveryResponse': { versionInfo: 'v1', typeUrl: 't', nonce: 'n', resources: [{ typeUrl: 'u', value: Buffer.from('abc') }] },
    };
    const out = {};
    for (const [name, obj] of Object.entries(samples)) {
      const a = Buffer.from(compiled.protoRoot().lookupType(name).encode(obj).finish()).toString('hex');
      const b = Buffer.from(source.protoRoot().lookupType(name).encode(obj).finish()).toString('hex');
      out[name] = { same: a === b, bytes: a.length / 2 };
    }
    out.compiledFiles = compiled.protoFilePaths().length;
    out.sourceFiles = source.protoFilePaths().length;
    // protobufjs does not read enum value options (deprecation annotations) back from JSON; they
    // change no encoding, so they are left out of the comparison.
    const norm = (r) => JSON.stringify(r.toJSON(), (k, v) => (k === 'valuesOptions' ? undefined : v));
    out.sameSchema = norm(compiled.protoRoot()) === norm(source.protoRoot());
    const writes = []; const w = process.stdout.write.bind(process.stdout); process.stdout.write = (s) => { writes.push(String(s)); return true; };
    out.versionCode = await main(['version']);
    process.stdout.write = w;
    out.version = writes.join('').trim();
    console.log(JSON.stringify(out));`;
  const result = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
  t.diagnostic(JSON.stringify(result));
  assert.equal(result['compiledFiles'], 0, 'the compiled loader read the JSON schema, not .proto files');
  assert.ok(Number(result['sourceFiles']) > 50, 'the source loader parsed .proto files');
  assert.equal(result['sameSchema'], true, 'the two schemas are the same');
  for (const name of ['envoy.config.cluster.v3.Cluster', 'envoy.config.endpoint.v3.ClusterLoadAssignment', 'envoy.service.discovery.v3.DiscoveryResponse']) {
    const r = result[name] as { same: boolean; bytes: number };
    assert.ok(r.bytes > 10, `${name} encoded`);
    assert.equal(r.same, true, `${name} encodes the same`);
  }
  assert.equal(result['versionCode'], 0);
  assert.match(String(result['version']), /^\d+\.\d+\.\d+/);
});
