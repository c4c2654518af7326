/**
 * Istio's own sidecar agent, unmodified and with its defaults (delta xDS on), against a real
 * `isthmus discovery`: pilot-agent gets its workload certificate from Isthmus's CA with the pod's
 * token, starts upstream Envoy 1.40 with Istio's bootstrap template, and proxies Envoy's xDS to
 * Isthmus over 15012. The agent and its Envoy run in namespaces of their own (`unshare --net
 * --mount`): loopback only, `/etc/hosts` naming `istiod.istio-system.svc`, and a TCP-to-unix-socket
 * bridge to the host's control plane; nothing they listen on opens on the host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { ensureEnvoy } from '../../src/testing/envoy/binary.ts';
import { ensurePilotAgent } from '../../src/testing/envoy/pilot-agent.ts';
import { UnixBridge } from '../../src/testing/envoy/bridge.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-agent-'));
let bed: Testbed;
let c1: TestbedCluster;
let disc: DiscoveryProcess;
let bridge: UnixBridge;
let agent: ChildProcess | undefined;
const agentLog: string[] = [];

const until = poller({
  timeoutMs: 60_000, intervalMs: 200,
  context: () => `--- pilot-agent ---\n${agentLog.slice(-30).join('\n')}\n--- discovery ---\n${disc.logs().split('\n').slice(-15).join('\n')}`,
});

const APP = 'hello';
const IP = '10.10.0.5';
const PORT = 5000;

before(async () => {
  const envoy = await ensureEnvoy();
  const pa = await ensurePilotAgent();
  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c1.ensureNamespace('sample');
  await c1.ensureServiceAccount('sample', APP);
  await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: APP }, spec: { selector: { app: APP }, ports: [{ name: 'http', port: PORT }] },
  });
  await c1.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: `${APP}-0`, labels: { app: APP, 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: APP, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });
  const p = await c1.requestOk('GET', `/api/v1/namespaces/sample/pods/${APP}-0`) as Record<string, unknown>;
  await c1.requestOk('PUT', `/api/v1/namespaces/sample/pods/${APP}-0/status`, { ...p, status: { phase: 'Running', podIP: IP, podIPs: [{ ip: IP }] } });
  await c1.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `${APP}-abc`, labels: { 'kubernetes.io/service-name': APP } },
    addressType: 'IPv4', ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: [{ addresses: [IP], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `${APP}-0`, namespace: 'sample' } }],
  });

  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  const rootPem = await until('istio-ca-root-cert in sample', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
  const [host, port] = disc.secureGrpcAddr.split(':');
  bridge = await UnixBridge.open(join(dir, 'istiod.sock'), host ?? '127.0.0.1', Number(port));

  // The pod's file system as the injector lays it out, under the agent's working directory.
  const work = join(dir, 'pod');
  for (const d of ['var/run/secrets/tokens', 'var/run/secrets/istio', 'etc/istio/proxy', 'var/lib/istio/data', 'var/run/secrets/workload-spiffe-uds', 'var/run/secrets/workload-spiffe-credentials']) {
    mkdirSync(join(work, d), { recursive: true });
  }
  writeFileSync(join(work, 'var/run/secrets/tokens/istio-token'), await c1.mintToken('sample', APP, { audience: 'istio-ca' }));
  writeFileSync(join(work, 'var/run/secrets/istio/root-cert.pem'), rootPem);
  const hosts = join(dir, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost\n127.0.0.1 istiod.istio-system.svc\n');
  const bridgeTs = fileURLToPath(new URL('../../src/testing/envoy/bridge.ts', import.meta.url));
  const proxyConfig = {
    discoveryAddress: 'istiod.istio-system.svc:15012', binaryPath: envoy, configPath: join(work, 'etc/istio/proxy'),
    proxyBootstrapTemplatePath: pa.bootstrapTemplate, statusPort: 15020, drainDuration: '1s', terminationDrainDuration: '1s',
  };
  const script = [
    'set -e',
    'ip link set lo up',
    `mount --bind ${hosts} /etc/hosts`,
    `"${process.execPath}" "${bridgeTs}" tcp-to-unix 127.0.0.1:15012 "${bridge.path}" &`,
    `cd "${work}"`,
    `exec "${pa.bin}" proxy sidecar --domain sample.svc.cluster.local --proxyLogLevel=warning --log_output_level=default:info`,
  ].join('\n');
  agent = spawn('unshare', ['--net', '--mount', '--', 'sh', '-c', script], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      POD_NAME: `${APP}-0`, POD_NAMESPACE: 'sample', INSTANCE_IP: IP, SERVICE_ACCOUNT: APP, HOST_IP: IP,
      ISTIO_META_CLUSTER_ID: 'cluster1', ISTIO_META_NETWORK: 'network1', ISTIO_META_MESH_ID: 'cluster.local', TRUST_DOMAIN: 'cluster.local',
      ISTIO_META_APP_CONTAINERS: 'app', ISTIO_META_INTERCEPTION_MODE: 'REDIRECT', ISTIO_META_WORKLOAD_NAME: APP,
      ISTIO_META_POD_PORTS: JSON.stringify([{ name: 'http', containerPort: PORT, protocol: 'TCP' }]),
      CA_ADDR: 'istiod.istio-system.svc:15012', PILOT_CERT_PROVIDER: 'istiod', JWT_POLICY: 'third-party-jwt',
      PROXY_CONFIG: JSON.stringify(proxyConfig),
    },
  });
  const keep = (b: Buffer) => { for (const l of b.toString('utf8').split('\n')) if (l) { agentLog.push(l); if (agentLog.length > 500) agentLog.shift(); } };
  agent.stdout?.on('data', keep);
  agent.stderr?.on('data', keep);
});

after(async () => {
  if (agent?.pid !== undefined && agent.exitCode === null) {
    const exited = new Promise((r) => agent?.once('exit', r));
    try { process.kill(-agent.pid, 'SIGTERM'); } catch { /* already gone */ }
    const t = setTimeout(() => { try { if (agent?.pid !== undefined) process.kill(-agent.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
    await exited;
    clearTimeout(t);
  }
  await bridge.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs curl inside the agent's network namespace against Envoy's admin (127.0.0.1:15000). */
async function envoyAdmin(path: string): Promise<string> {
  const pid = agent?.pid;
  assert.ok(pid !== undefined);
  const { stdout } = await promisify(execFile)('nsenter', ['-t', String(pid), '-n', 'curl', '-sf', '--max-time', '5', `http://127.0.0.1:15000${path}`], { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

interface Syncz { proxy: string; types: Record<string, { status: string }> }

test('pilot-agent with its defaults connects over delta xDS; its Envoy accepts every resource', async (t) => {
  const started = Date.now();
  const me = await until('hello-0.sample SYNCED for CDS, EDS, LDS and RDS', async () => {
    const all = await disc.json<Syncz[]>('/debug/syncz');
    const s = all.find((x) => x.proxy === `${APP}-0.sample`);
    const types = Object.keys(s?.types ?? {});
    return ['CDS', 'EDS', 'LDS', 'RDS'].every((k) => types.includes(k)) && Object.values(s?.types ?? {}).every((x) => x.status === 'SYNCED') ? s : undefined;
  });
  t.diagnostic(`agent start to all types SYNCED: ${Date.now() - started} ms; ${JSON.stringify(me.types)}`);
  assert.ok(disc.logs().split('\n').some((l) => l.includes('ADS (delta): new connection') && l.includes(`${APP}-0.sample`)), 'the agent connected with delta xDS');

  const clusters = await until('inbound and outbound clusters in Envoy', async () => {
    const text = await envoyAdmin('/clusters').catch(() => '');
    return text.includes(`inbound|${PORT}||::`) && text.includes(`outbound|${PORT}||${APP}.sample.svc.cluster.local::`) ? text : undefined;
  });
  assert.ok(clusters.includes(`outbound|${PORT}||${APP}.sample.svc.cluster.local::${IP}:${PORT}`), 'the endpoint reached Envoy');
  const stats = await envoyAdmin('/stats');
  const rejected = stats.split('\n').filter((l) => /\.update_rejected: /.test(l));
  // Istio's bootstrap keeps only some stats (its stats matcher): CDS and LDS counters are there; per-cluster EDS and
  // per-route RDS ones are not, so those are checked in the config dump (a rejected resource carries error_state)
  // and in syncz (a NACK shows as ERROR).
  assert.ok(rejected.some((l) => l.startsWith('cluster_manager.cds.')) && rejected.some((l) => l.startsWith('listener_manager.lds.')), rejected.join('\n'));
  assert.deepEqual(rejected.filter((l) => !l.endsWith(': 0')), [], 'no rejected update');
  const dump = await envoyAdmin('/config_dump?include_eds');
  assert.ok(!dump.includes('"error_state"'), 'no resource in the config dump carries an error_state');
  assert.ok(dump.includes('"address": "127.0.0.6"'), 'inbound clusters bind to 127.0.0.6');
  const value = (k: string) => Number(new RegExp(`^${k.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? -1);
  assert.ok(value('cluster_manager.cds.update_success') > 0);
  assert.ok(value('listener_manager.lds.update_success') > 0);
  assert.equal(value('cluster_manager.warming_clusters'), 0, 'nothing stuck warming (SDS certificates from Isthmus\'s CA arrived)');
  assert.equal(value('listener_manager.total_listeners_warming'), 0);
  t.diagnostic(`Envoy under pilot-agent: cds ${value('cluster_manager.cds.update_success')} / lds ${value('listener_manager.lds.update_success')} updates, ${rejected.join(', ')}`);
});
