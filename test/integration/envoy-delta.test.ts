/**
 * Real upstream Envoy 1.40 (run as a plain process) against a real `isthmus discovery` on a
 * test-bed API server, once over delta ADS (`DELTA_GRPC`, what pilot-agent uses by default) and
 * once over state-of-the-world ADS (`GRPC`). Envoy runs in a network namespace of its own (its
 * 0.0.0.0 listeners never open on the host) and reaches the control plane's plaintext port 15010 on
 * loopback through a unix-socket bridge; the workload certificate it gets over SDS comes from Isthmus's CA (CreateCertificate on
 * 15012 with the pod's token), as pilot-agent would fetch it. Each run asserts what an operator
 * checks in Envoy's admin: no rejected update of any type, the clusters and listeners present,
 * services and endpoints following the API server, and a restarted Envoy getting its config again.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { ensureEnvoy } from '../../src/testing/envoy/binary.ts';
import { EnvoyProcess, type EnvoyStats } from '../../src/testing/envoy/process.ts';
import { SdsServer, requestWorkloadCertificate } from '../../src/testing/envoy/sds.ts';
import { UnixBridge } from '../../src/testing/envoy/bridge.ts';
import { poller } from '../../src/testing/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-envoy-'));
let bed: Testbed;
let c1: TestbedCluster;
let disc: DiscoveryProcess;
let envoyBin = '';
let rootPem = '';
const envoys: EnvoyProcess[] = [];
const sdsServers: SdsServer[] = [];
let current: EnvoyProcess | undefined;
let xdsBridge: UnixBridge;

const until = poller({
  timeoutMs: 30_000, intervalMs: 100,
  context: () => `--- envoy ---\n${current?.logs(25) ?? ''}\n--- discovery ---\n${disc.logs().split('\n').slice(-15).join('\n')}`,
});

before(async () => {
  envoyBin = await ensureEnvoy();
  bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');
  await c1.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': 'network1' } } });
  await c1.ensureNamespace('sample');
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
  const [host, port] = disc.grpcAddr.split(':');
  xdsBridge = await UnixBridge.open(join(dir, 'xds.sock'), host ?? '127.0.0.1', Number(port));
  rootPem = await until('istio-ca-root-cert in sample', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
});

after(async () => {
  for (const e of envoys) await e.stop();
  for (const s of sdsServers) s.close();
  await xdsBridge.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

async function service(name: string, port: number): Promise<void> {
  await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: port }] },
  });
}

async function pod(name: string, app: string, sa: string, ip: string): Promise<void> {
  await c1.ensureServiceAccount('sample', sa);
  await c1.requestOk('POST', '/api/v1/namespaces/sample/pods', {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { app, 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: sa, containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
  });
  const p = await c1.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as Record<string, unknown>;
  await c1.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, { ...p, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
}

async function slice(svc: string, port: number, addrs: readonly { ip: string; pod: string }[], create: boolean): Promise<void> {
  const path = '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices';
  const body = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${svc}-abc`, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints: addrs.map((a) => ({ addresses: [a.ip], conditions: { ready: true }, targetRef: { kind: 'Pod', name: a.pod, namespace: 'sample' } })),
    ports: [{ name: 'http', port, protocol: 'TCP' }],
  };
  if (create) { await c1.requestOk('POST', path, body); return; }
  const old = await c1.requestOk('GET', `${path}/${svc}-abc`) as { metadata: Record<string, unknown> };
  await c1.requestOk('PUT', `${path}/${svc}-abc`, { ...body, metadata: { ...old.metadata, ...body.metadata } });
}

const HOST = (svc: string) => `${svc}.sample.svc.cluster.local`;

/** Every rejection counter (CDS, LDS, and each EDS cluster's and RDS route's) with its value. */
function rejections(stats: EnvoyStats): [string, number][] {
  return [...stats].filter(([k]) => k.endsWith('.update_rejected'));
}

/** Pilot-agent's node metadata for a sidecar (the fields Isthmus and istiod read). */
function metadata(podName: string, app: string, sa: string, ip: string): Record<string, unknown> {
  return {
    CLUSTER_ID: 'cluster1', NAMESPACE: 'sample', NETWORK: 'network1', MESH_ID: 'cluster.local', NAME: podName,
    SERVICE_ACCOUNT: sa, WORKLOAD_NAME: app, ISTIO_VERSION: '1.31-dev', INTERCEPTION_MODE: 'REDIRECT',
    INSTANCE_IPS: ip, LABELS: { app, 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': app },
    PROXY_CONFIG: { discoveryAddress: 'istiod.istio-system.svc:15012', proxyMetadata: {} },
    POD_PORTS: JSON.stringify([{ name: 'http', containerPort: 5000, protocol: 'TCP' }]),
    ENVOY_STATUS_PORT: 15021, ENVOY_PROMETHEUS_PORT: 15090,
  };
}

interface Syncz { proxy: string; types: Record<string, { status: string }> }

async function scenario(t: TestContext, apiType: 'DELTA_GRPC' | 'GRPC', app: string, ip: string, port: number): Promise<void> {
  const podName = `${app}-0`;
  const sa = app;
  const extra = `${app}-extra`;
  await service(app, port);
  await pod(podName, app, sa, ip);
  // The workload's certificate from Isthmus's CA, served to Envoy over SDS like pilot-agent does.
  const token = await c1.mintToken('sample', sa, { audience: 'istio-ca' });
  const cert = await requestWorkloadCertificate(disc.secureGrpcAddr, rootPem, token, 'cluster1');
  const sdsSocket = join(dir, `${app}-sds.sock`);
  sdsServers.push(await SdsServer.start(sdsSocket, cert));
  const nodeId = `sidecar~${ip}~${podName}.sample~sample.svc.cluster.local`;
  const start = (instance: string) => EnvoyProcess.start({
    bin: envoyBin, dir, nodeId, nodeCluster: `${app}.sample`, metadata: metadata(podName, app, sa, ip),
    xdsSocket: xdsBridge.path, apiType, sdsSocket, instance,
  });

  // The proxy connects before its EndpointSlice exists (real-nodes item 3).
  const envoy = current = await start(`${app}-1`);
  envoys.push(envoy);
  const outbound = `outbound|${port}||${HOST(app)}`;
  await until('outbound cluster and listeners in Envoy', async () => {
    const [cs, ls] = [await envoy.clusters().catch((): string[] => []), await envoy.listeners().catch((): string[] => [])];
    return cs.includes(outbound) && ls.includes('virtualInbound') && ls.includes('virtualOutbound') ? true : undefined;
  });
  const firstConfigMs = Date.now() - envoy.started;
  t.diagnostic(`${apiType}: time to first config (process start to outbound cluster and listeners active) ${firstConfigMs} ms`);
  assert.ok(!(await envoy.clusters()).includes(`inbound|${port}||`), 'no inbound cluster before the proxy has endpoints');

  let t0 = Date.now();
  await slice(app, port, [{ ip, pod: podName }], true);
  await until(`inbound|${port}|| and the endpoint ${ip}:${port}`, async () =>
    (await envoy.clusters()).includes(`inbound|${port}||`) && (await envoy.endpointsOf(outbound)).includes(`${ip}:${port}`) ? true : undefined);
  t.diagnostic(`${apiType}: own EndpointSlice created -> inbound cluster + endpoint in Envoy: ${Date.now() - t0} ms`);
  const inboundDump = JSON.stringify(await envoy.configDump('dynamic_active_clusters'));
  assert.match(inboundDump, /"address":"127\.0\.0\.6"/, 'inbound clusters bind to 127.0.0.6');
  const listenerDump = JSON.stringify(await envoy.configDump('dynamic_listeners'));
  assert.ok(listenerDump.includes(`"inbound|${port}||"`), 'virtualInbound routes the service port to its inbound cluster');

  t0 = Date.now();
  await service(extra, port + 1);
  await until(`cluster of the new service ${extra}`, async () => ((await envoy.clusters()).includes(`outbound|${port + 1}||${HOST(extra)}`) ? true : undefined));
  t.diagnostic(`${apiType}: Service created -> its cluster in Envoy: ${Date.now() - t0} ms`);
  t0 = Date.now();
  await c1.requestOk('DELETE', `/api/v1/namespaces/sample/services/${extra}`);
  await until(`cluster of ${extra} removed`, async () => (!(await envoy.clusters()).includes(`outbound|${port + 1}||${HOST(extra)}`) ? true : undefined));
  t.diagnostic(`${apiType}: Service deleted -> its cluster gone from Envoy: ${Date.now() - t0} ms`);

  const ip2 = ip.replace(/\.\d+$/, '.99');
  await pod(`${app}-1`, app, sa, ip2);
  t0 = Date.now();
  await slice(app, port, [{ ip, pod: podName }, { ip: ip2, pod: `${app}-1` }], false);
  await until(`endpoint ${ip2} in Envoy`, async () => ((await envoy.endpointsOf(outbound)).includes(`${ip2}:${port}`) ? true : undefined));
  t.diagnostic(`${apiType}: EndpointSlice changed -> endpoint in Envoy: ${Date.now() - t0} ms`);

  const dump = await disc.json<{ watched: { type: string; resources: string[] }[] }>(`/debug/config_dump?proxyID=${podName}.sample`);
  assert.ok(dump.watched.find((w) => w.type === 'CDS')?.resources.includes(`inbound|${port}||`), 'config_dump lists what the proxy holds');
  const syncz = await until('the proxy SYNCED in /debug/syncz', async () => {
    const all = await disc.json<Syncz[]>('/debug/syncz');
    const me = all.find((s) => s.proxy === `${podName}.sample`);
    const types = Object.values(me?.types ?? {});
    return types.length >= 4 && types.every((x) => x.status === 'SYNCED') ? me : undefined;
  });
  t.diagnostic(`${apiType}: syncz ${JSON.stringify(syncz.types)}`);
  const metrics = await (await fetch(`http://${disc.monitoringAddr}/metrics`)).text();
  assert.ok(Number(/^pilot_xds (\d+)/m.exec(metrics)?.[1] ?? 0) >= 1, 'the connection is counted in pilot_xds');
  assert.ok(Number(/^pilot_xds_pushes\{type="type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster"\} (\d+)/m.exec(metrics)?.[1] ?? 0) > 0, 'CDS pushes counted');

  const stats = await envoy.stats();
  assert.deepEqual(rejections(stats).filter(([, v]) => v !== 0), [], `no rejected update of any type; Envoy warnings:\n${envoy.grep(/rejected|warning/).slice(-10).join('\n')}`);
  assert.ok(rejections(stats).length >= 4, 'CDS, LDS, EDS and RDS rejection counters exist');
  for (const k of ['cluster_manager.cds.update_success', 'listener_manager.lds.update_success']) assert.ok((stats.get(k) ?? 0) > 0, `${k} > 0`);
  assert.ok([...stats].some(([k, v]) => /^cluster\.outbound\|.*\.update_success$/.test(k) && v > 0), 'EDS updates accepted');
  assert.ok([...stats].some(([k, v]) => /\.rds\..*\.update_success$/.test(k) && v > 0), 'RDS updates accepted');
  assert.equal(stats.get('cluster_manager.warming_clusters'), 0, 'no cluster stuck warming');
  assert.equal(stats.get('listener_manager.total_listeners_warming'), 0, 'no listener stuck warming');
  assert.equal(stats.get('control_plane.connected_state'), 1);
  t.diagnostic(`${apiType}: cds ${stats.get('cluster_manager.cds.update_success')} / lds ${stats.get('listener_manager.lds.update_success')} updates accepted, ` +
    `${rejections(stats).length} rejection counters all 0, xDS bytes received ${stats.get('cluster.xds-grpc.upstream_cx_rx_bytes_total')}`);

  // The proxy loses its inbound config when its endpoints go.
  t0 = Date.now();
  await c1.requestOk('DELETE', `/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/${app}-abc`);
  await until(`inbound|${port}|| removed`, async () => (!(await envoy.clusters()).includes(`inbound|${port}||`) ? true : undefined));
  t.diagnostic(`${apiType}: own EndpointSlice deleted -> inbound cluster gone: ${Date.now() - t0} ms`);
  await slice(app, port, [{ ip, pod: podName }], true);

  // An Envoy restart with the same node reconnects and gets its config again.
  await envoy.stop();
  const again = current = await start(`${app}-2`);
  envoys.push(again);
  await until('config after the restart', async () => {
    const cs = await again.clusters().catch((): string[] => []);
    return cs.includes(outbound) && cs.includes(`inbound|${port}||`) ? true : undefined;
  });
  t.diagnostic(`${apiType}: restarted Envoy configured after ${Date.now() - again.started} ms`);
  const after2 = await again.stats();
  assert.deepEqual(rejections(after2).filter(([, v]) => v !== 0), []);
  await again.stop();
}

/** Bytes Envoy received from the control plane on its xDS cluster. */
async function xdsBytes(e: EnvoyProcess): Promise<number> {
  return (await e.stats()).get('cluster.xds-grpc.upstream_cx_rx_bytes_total') ?? 0;
}

test('delta xDS: real Envoy 1.40 accepts everything, follows services and endpoints, reconnects', async (t) => {
  await scenario(t, 'DELTA_GRPC', 'hello', '10.10.0.5', 5000);
});

test('state-of-the-world xDS: the same with api_type GRPC', async (t) => {
  await scenario(t, 'GRPC', 'world', '10.10.0.7', 7000);
});

/** An Envoy for the `hello` workload of the delta scenario, once it holds its clusters and is SYNCED. */
async function helloEnvoy(apiType: 'DELTA_GRPC' | 'GRPC', instance: string): Promise<EnvoyProcess> {
  const app = 'hello';
  const port = 5000;
  const ip = '10.10.0.5';
  const e = current = await EnvoyProcess.start({
    bin: envoyBin, dir, nodeId: `sidecar~${ip}~${app}-0.sample~sample.svc.cluster.local`, nodeCluster: `${app}.sample`,
    metadata: metadata(`${app}-0`, app, app, ip), xdsSocket: xdsBridge.path, apiType,
    sdsSocket: join(dir, `${app}-sds.sock`), instance,
  });
  envoys.push(e);
  await until(`${apiType}: inbound and outbound clusters`, async () => {
    const cs = await e.clusters().catch((): string[] => []);
    return cs.includes(`inbound|${port}||`) && cs.includes(`outbound|${port}||${HOST(app)}`) ? true : undefined;
  });
  // Let the ACKs settle before measuring.
  await until(`${apiType}: SYNCED`, () => allSynced(`${app}-0.sample`));
  return e;
}

/** Stops discovery, runs `meanwhile` (changes made while no control plane runs), starts a new one on the same xDS port. */
async function restartDiscovery(meanwhile?: () => Promise<void>): Promise<void> {
  await disc.stop();
  await meanwhile?.();
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', grpcAddr: disc.grpcAddr, env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
}

/** Every type of the proxy's syncz entry, once all are SYNCED. */
async function allSynced(proxy: string): Promise<true | undefined> {
  const me = (await disc.json<Syncz[]>('/debug/syncz')).find((x) => x.proxy === proxy);
  const types = Object.values(me?.types ?? {});
  return types.length >= 4 && types.every((x) => x.status === 'SYNCED') ? true : undefined;
}

test('a control-plane restart: delta Envoy reconnects with initial_resource_versions and gets only what changed', async (t) => {
  const app = 'hello';
  const measure = async (apiType: 'DELTA_GRPC' | 'GRPC') => {
    const e = await helloEnvoy(apiType, `${app}-${apiType}`);
    const first = await xdsBytes(e);
    const t0 = Date.now();
    await restartDiscovery();
    await until(`${apiType}: reconnected and SYNCED`, () => allSynced(`${app}-0.sample`), 60_000);
    const again = (await xdsBytes(e)) - first;
    t.diagnostic(`${apiType}: first connection ${first} bytes; after the control plane restarted: reconnected and SYNCED in ${Date.now() - t0} ms, ${again} more bytes`);
    const stats = await e.stats();
    assert.deepEqual(rejections(stats).filter(([, v]) => v !== 0), []);
    return { e, first, again };
  };
  const delta = await measure('DELTA_GRPC');
  assert.ok(delta.again * 4 < delta.first, `delta reconnect re-sent ${delta.again} bytes of ${delta.first}: unchanged resources must not be sent again`);
  // The reconnected stream still carries updates.
  await service('after-restart', 5100);
  await until('a service created after the reconnect', async () => ((await delta.e.clusters()).includes(`outbound|5100||${HOST('after-restart')}`) ? true : undefined));
  await delta.e.stop();
  const sotw = await measure('GRPC');
  assert.ok(sotw.again > 0);
  await sotw.e.stop();
});

test('a control-plane restart while a cluster changed: delta Envoy warms it, gets its load assignment and ACKs CDS', async (t) => {
  // Envoy re-sends its CDS and EDS subscriptions together when it reconnects. A cluster whose bytes
  // changed meanwhile warms until its load assignment arrives, though the assignment itself did not
  // change (Envoy holds it at the same version): the new control plane must send it anyway, or the
  // cluster never warms and the CDS response is never acknowledged.
  const outbound = `outbound|5000||${HOST('hello')}`;
  const e = await helloEnvoy('DELTA_GRPC', 'hello-changed');
  const path = '/api/v1/namespaces/sample/services/hello';
  const setAppProtocol = async (appProtocol: string | undefined) => {
    const svc = await c1.requestOk('GET', path) as { spec: { ports: Record<string, unknown>[] } };
    const ports = svc.spec.ports.map((p) => { const { appProtocol: _, ...rest } = p; return appProtocol === undefined ? rest : { ...rest, appProtocol }; });
    await c1.requestOk('PUT', path, { ...svc, spec: { ...svc.spec, ports } });
  };
  const t0 = Date.now();
  // http2: the outbound cluster gains HTTP/2 protocol options; its endpoints stay as they were.
  await restartDiscovery(() => setAppProtocol('http2'));
  try {
    let seen = '';
    await until('the changed cluster active in Envoy, nothing warming, every type SYNCED', async () => {
      const active = (await e.configDump('dynamic_active_clusters')).configs;
      const mine = active.find((c) => JSON.stringify(c).includes(`"name":"${outbound}"`));
      const h2 = mine !== undefined && JSON.stringify(mine).includes('http2_protocol_options');
      const warming = (await e.stats()).get('cluster_manager.warming_clusters');
      const me = (await disc.json<Syncz[]>('/debug/syncz')).find((x) => x.proxy === 'hello-0.sample');
      seen = `HTTP/2 cluster active: ${h2}, warming clusters: ${warming}, syncz: ${JSON.stringify(me?.types)}`;
      return h2 && warming === 0 && (await allSynced('hello-0.sample')) ? true : undefined;
    }, 60_000).catch((err: unknown) => { throw new Error(`${seen}\n${String(err)}`); });
    t.diagnostic(`changed cluster warmed and CDS acknowledged ${Date.now() - t0} ms after the restart began`);
    assert.ok((await e.endpointsOf(outbound)).includes('10.10.0.5:5000'), 'the warmed cluster has its endpoint');
    assert.deepEqual(rejections(await e.stats()).filter(([, v]) => v !== 0), []);
  } finally {
    await setAppProtocol(undefined);
    await e.stop();
  }
});
