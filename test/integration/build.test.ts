/**
 * `scripts/build.ts`, which the control-plane image runs: the compiled JavaScript starts, loads the
 * protobuf schema from the JSON written beside it (not from the `.proto` files), and that schema
 * encodes exactly as the one parsed from the `.proto` files does. The one-file bundle bin/isthmus.mjs
 * runs needs none of the per-module files: with them deleted it still runs each lazily loaded part
 * (CLI verbs, server verbs, codecs and schema, @kubernetes/client-node for an exec credential).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from '../../src/testing/testbed/procs.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
// Inside the project, so the compiled modules and the bundle resolve node_modules as dist/ does.
let out = '';
before(() => {
  out = mkdtempSync(join(root, '.build-test-'));
  execFileSync(process.execPath, [join(root, 'scripts/build.ts'), out], { stdio: 'pipe' });
});
after(() => { if (out !== '') rmSync(out, { recursive: true, force: true }); });

test('the compiled control plane runs and reads its schema from proto-schema.json, encoding as the parsed one does', { timeout: 180_000 }, (t) => {
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

test('the bundle bin/isthmus.mjs runs is one file that runs every lazily loaded part without the per-module files', { timeout: 120_000 }, async (t) => {
  const bundleDir = join(out, 'src/bundle');
  assert.deepEqual(readdirSync(bundleDir), ['main.js'], 'one file, no chunks');
  const bundle = join(bundleDir, 'main.js');
  // esbuild writes each import of the output at the start of a line; only Node's built-ins and the
  // one dependency left outside may remain.
  const text = readFileSync(bundle, 'utf8');
  const specifiers = [...text.matchAll(/^import\s[^;]*?from\s*["']([^"']+)["'];?$/gm), ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1] ?? '');
  t.diagnostic(`bundle: ${(text.length / 1e6).toFixed(1)} MB, imports ${[...new Set(specifiers)].sort().join(' ')}`);
  assert.ok(specifiers.includes('@kubernetes/client-node'), 'client-node is imported lazily from node_modules');
  for (const s of specifiers) assert.ok(s.startsWith('node:') || s === '@kubernetes/client-node', `the bundle imports ${s}`);

  // Nothing of the per-module build is left but the bundle and the schema beside it.
  for (const entry of readdirSync(join(out, 'src'))) if (entry !== 'bundle') rmSync(join(out, 'src', entry), { recursive: true, force: true });
  assert.deepEqual(readdirSync(join(out, 'src')), ['bundle']);

  const tmp = mkdtempSync(join(out, 'probe-'));
  const marker = join(tmp, 'exec-ran');
  const closed = await freePort();
  // A kubeconfig whose credential comes from an exec plugin, which only @kubernetes/client-node runs.
  const credential = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 't' } });
  writeFileSync(join(tmp, 'kubeconfig'), JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${closed}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', `touch ${marker}; echo '${credential}'`], interactiveMode: 'Never' } } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
  }));
  // Each command line in a process of its own (a server verb's --help exits the process), importing
  // the bundle as bin/isthmus.mjs does, with every file read through fs.readFileSync recorded (the
  // bundle's own imports of node:fs included).
  const probe = `
    import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const reads = []; const readFileSync = fs.readFileSync; const writeFileSync = fs.writeFileSync;
    fs.readFileSync = function (p, ...rest) { reads.push(String(p)); return readFileSync.call(this, p, ...rest); };
    syncBuiltinESMExports();
    process.on('exit', () => { writeFileSync(process.env.READS_FILE, JSON.stringify(reads)); });
    const { main } = await import(${JSON.stringify(bundle)});
    const code = await main(JSON.parse(process.env.ARGV));
    process.exitCode = code;
    if (code !== 0) setTimeout(() => process.exit(code), 200);`;
  const run = (argv: readonly string[]): { argv: string; code: number | null; output: string; reads: string[] } => {
    const readsFile = join(tmp, 'reads.json');
    rmSync(readsFile, { force: true });
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: tmp, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ARGV: JSON.stringify(argv), READS_FILE: readsFile } });
    const r = { argv: argv.join(' '), code: child.status, output: child.stdout + child.stderr, reads: existsSync(readsFile) ? JSON.parse(readFileSync(readsFile, 'utf8')) as string[] : [] };
    t.diagnostic(`${r.argv} -> ${r.code}: ${r.output.trim().split('\n')[0] ?? ''}`);
    return r;
  };
  const runs = [['version'], ['discovery', '--help'], ['xds-proxy', '--help'], ['agent', 'router', '--help'], ['install', '--help'], ['proxy-status', '--help'],
    ['proxy-status', '--xds-address', `127.0.0.1:${closed}`, '--plaintext', '--timeout', '2s'],
    ['proxy-status', '--kubeconfig', join(tmp, 'kubeconfig'), '--timeout', '2s']].map(run);
  const [version, discovery, xdsProxy, agent, install, proxyStatus, unreachable, exec] = runs;
  assert.equal(version?.code, 0);
  assert.match(version.output, /^\d+\.\d+\.\d+/);
  for (const [r, usage] of [[discovery, 'isthmus discovery '], [xdsProxy, 'isthmus xds-proxy '], [agent, 'isthmus agent router '], [install, 'isthmus install '], [proxyStatus, 'isthmus proxy-status|ps ']] as const) {
    assert.equal(r?.code, 0, `${r?.argv}: ${r?.output}`);
    assert.ok(r.output.startsWith(`Usage: ${usage}`), `${r.argv}: ${r.output}`);
  }
  // Encoding its request loaded the schema: from the JSON beside the bundle, no .proto file parsed.
  assert.equal(unreachable?.code, 1);
  assert.match(unreachable.output, /ISTHMUS_XDS_UNREACHABLE/);
  t.diagnostic(`files read: ${unreachable.reads.filter((f) => !f.includes('/etc/ssl/')).join(' ')}`);
  const schema = join(out, 'proto-schema.json');
  assert.ok(unreachable.reads.some((f) => f === schema || f === pathToFileURL(schema).href), 'the bundle read proto-schema.json');
  assert.deepEqual(unreachable.reads.filter((f) => f.endsWith('.proto')), []);
  // client-node, loaded from node_modules, ran the exec plugin; then the API server was not there.
  assert.equal(exec?.code, 1);
  assert.ok(existsSync(marker), `the exec credential plugin ran: ${exec.output}`);
  assert.match(exec.output, /ECONNREFUSED/);
});

test('a build into a directory outside the project (as the image build makes one) still makes the bundle', { timeout: 180_000 }, (t) => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'isthmus-build-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'scripts/build.ts'), join(elsewhere, 'dist')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `scripts/build.ts failed:\n${r.stderr.slice(-2000)}`);
    const bundle = join(elsewhere, 'dist/src/bundle/main.js');
    assert.ok(existsSync(bundle), 'the bundle exists');
    t.diagnostic(`${r.stdout.trim()}; bundle ${(readFileSync(bundle).byteLength / 1e6).toFixed(1)} MB`);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});
