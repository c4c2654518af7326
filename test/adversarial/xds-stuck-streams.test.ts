/**
 * Issue 15 item 2: one workload must not freeze config for the mesh. A real `isthmus discovery` on a
 * test-bed cluster; a healthy sidecar (grpc-js, real TLS, real token) watches helloworld's endpoints;
 * an attacker with an ordinary workload token opens 200 ADS streams on ONE TLS connection with raw
 * HTTP/2 and never reads a byte of the answers. The healthy proxy's update time for an EndpointSlice
 * change is measured before and during the attack; the attacker's streams must be refused (per
 * connection and per identity caps) or ended (send timeout), and the process stays healthy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status } from '@grpc/grpc-js';
import type { ClientHttp2Session } from 'node:http2';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { poller } from '../../src/testing/wait.ts';
import { clusterLoadAssignmentCodec, unpackAny } from '../../src/proto/codec.ts';
import { structFromJson } from '../../src/proto/wkt.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS, DEBUG_SYNCZ_TYPE_URL } from '../../src/model/type-urls.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/proto/types.ts';
import { openSession, stuckStream, type RawStream } from './xds-h2.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-stuck-'));
const HOST = 'helloworld.sample.svc.cluster.local';
const EDS_NAME = `outbound|5000||${HOST}`;
const SEND_TIMEOUT_S = 30;
const PER_IDENTITY = 150;
let bed: Testbed;
let c1: TestbedCluster;
let disc: DiscoveryProcess;
let rootPem = '';
let healthy: AdsTestClient;
const sessions: ClientHttp2Session[] = [];
let attackToken = '';

const until = poller({ timeoutMs: 30_000, intervalMs: 50, context: () => disc.logs().split('\n').slice(-10).join('\n') });

async function setEndpoint(ip: string): Promise<void> {
  const path = '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices/helloworld-abc';
  const slice = await c1.requestOk('GET', path) as Record<string, unknown>;
  await c1.requestOk('PUT', path, { ...slice, endpoints: [{ addresses: [ip], conditions: { ready: true } }] });
}

function addresses(r: DiscoveryResponse): string[] {
  return (r.resources ?? []).flatMap((a) => unpackAny(clusterLoadAssignmentCodec, a).endpoints ?? [])
    .flatMap((l) => l.lbEndpoints ?? []).map((e) => e.endpoint?.address?.socketAddress?.address ?? '');
}

/** Changes the endpoint and returns how long the healthy proxy took to receive it (ms), or Infinity. */
async function updateTime(ip: string, limitMs = 15_000): Promise<number> {
  const t0 = Date.now();
  await setEndpoint(ip);
  while (Date.now() - t0 < limitMs) {
    let r;
    try {
      r = await healthy.next(Math.max(1, limitMs - (Date.now() - t0)));
    } catch {
      return Infinity;
    }
    healthy.ack(r, r.typeUrl === EDS ? [EDS_NAME] : []);
    if (r.typeUrl === EDS && addresses(r).includes(ip)) return Date.now() - t0;
  }
  return Infinity;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Infinity;

function attackMessages(i: number): DiscoveryRequest[] {
  const node = { id: `sidecar~10.1.${Math.floor(i / 250)}.${(i % 250) + 1}~attacker-${i}.sample~sample.svc.cluster.local`, metadata: structFromJson({ NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} }) };
  // Watch what the healthy proxy watches (so every push goes to this stream too), then ask for syncz
  // over and over: each debug request is answered, with every proxy of the namespace, far more than
  // the HTTP/2 flow-control window lets through to a client that does not read.
  const msgs: DiscoveryRequest[] = [{ node, typeUrl: CDS }, { typeUrl: EDS, resourceNames: [EDS_NAME] }];
  for (let k = 0; k < 20; k++) msgs.push({ typeUrl: DEBUG_SYNCZ_TYPE_URL });
  return msgs;
}

async function openAttack(n: number, offset: number): Promise<RawStream[]> {
  const session = await openSession({ address: disc.secureGrpcAddr, rootPem });
  sessions.push(session);
  const out: RawStream[] = [];
  for (let i = 0; i < n; i++) out.push(stuckStream(session, { authorization: `Bearer ${attackToken}` }, attackMessages(offset + i)));
  return out;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://${disc.monitoringAddr}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(' ').pop());
  return total;
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');
  await c1.ensureNamespace('sample');
  await c1.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld' },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] },
  });
  await c1.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'helloworld-abc', labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4', endpoints: [{ addresses: ['10.10.0.1'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
  });
  disc = await DiscoveryProcess.start({
    kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1',
    env: { POD_NAMESPACE: 'istio-system', PILOT_XDS_SEND_TIMEOUT: `${SEND_TIMEOUT_S}s`, ISTHMUS_XDS_MAX_STREAMS_PER_IDENTITY: String(PER_IDENTITY) },
  });
  await disc.ready();
  rootPem = await until('istio-ca-root-cert in sample', async () => {
    const r = await c1.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
    return r.status === 200 ? (JSON.parse(r.body) as { data: Record<string, string> }).data['root-cert.pem'] : undefined;
  });
  attackToken = await c1.mintToken('sample', 'attacker', { audience: 'istio-ca' });
  const token = await c1.mintToken('sample', 'sleep', { audience: 'istio-ca' });
  healthy = new AdsTestClient({
    address: disc.secureGrpcAddr, nodeId: 'sidecar~10.1.9.1~sleep-0.sample~sample.svc.cluster.local',
    metadata: { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} },
    credentials: credentials.createSsl(Buffer.from(rootPem)),
    channelOptions: { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' },
    headers: { authorization: `Bearer ${token}` },
  });
  const cds = await healthy.request(CDS);
  healthy.ack(cds);
  const eds = await healthy.request(EDS, [EDS_NAME]);
  healthy.ack(eds, [EDS_NAME]);
  assert.deepEqual(addresses(eds), ['10.10.0.1']);
});

after(async () => {
  for (const s of sessions) s.destroy();
  healthy.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('200 ADS streams that never read, on one connection, do not delay a healthy proxy; they are refused or ended', async (t) => {
  const baseline: number[] = [];
  for (let k = 0; k < 3; k++) baseline.push(await updateTime(`10.10.1.${k + 1}`));
  const base = median(baseline);
  t.diagnostic(`baseline update times (ms): ${baseline.join(', ')}; median ${base}`);
  assert.ok(Number.isFinite(base), 'the healthy proxy gets updates at all');

  const attack = await openAttack(200, 0);
  // A second connection with the same identity, for the per-identity cap (150 here).
  const second = await openAttack(100, 200);
  const all = [...attack, ...second];
  // Let the attack settle: every stream was served (and holds unread responses) or refused.
  await until('the attack streams are served or refused', async () => {
    const refused = all.filter((s) => s.grpcStatus !== undefined).length;
    return refused + (await metric('pilot_xds')) - 1 >= all.length ? true : undefined;
  });
  await sleep(500);
  const stuck = all.filter((s) => s.grpcStatus === undefined);

  const underAttack: number[] = [];
  for (let k = 0; k < 3; k++) underAttack.push(await updateTime(`10.10.2.${k + 1}`));
  const during = median(underAttack);
  const stillStuck = stuck.filter((s) => !s.closed).length;
  t.diagnostic(`update times while ${stillStuck} streams do not read (ms): ${underAttack.join(', ')}; median ${during} (baseline ${base})`);
  // Load-tolerant bound: before the fix the update never came while the attack lasted.
  assert.ok(during <= Math.max(5 * base, base + 3000), `a healthy proxy's update under attack (${during} ms) stays near baseline (${base} ms)`);
  assert.ok(stillStuck >= 100, `the measurement ran while the attack held its streams (${stillStuck} open)`);

  const refusedByConnection = attack.filter((s) => s.grpcStatus === status.RESOURCE_EXHAUSTED);
  t.diagnostic(`per-connection cap: ${refusedByConnection.length} of 200 streams refused (RESOURCE_EXHAUSTED: ${refusedByConnection[0]?.grpcMessage ?? ''})`);
  assert.equal(refusedByConnection.length, 100, 'ISTHMUS_XDS_MAX_STREAMS_PER_CONNECTION (default 100) refuses the rest');
  assert.match(refusedByConnection[0]?.grpcMessage ?? '', /too many ADS streams on one connection \(limit 100/);
  const refusedByIdentity = second.filter((s) => s.grpcStatus === status.RESOURCE_EXHAUSTED);
  t.diagnostic(`per-identity cap: ${refusedByIdentity.length} of 100 more streams on a second connection refused (${refusedByIdentity[0]?.grpcMessage ?? ''})`);
  assert.equal(refusedByIdentity.length, 50);
  assert.match(refusedByIdentity[0]?.grpcMessage ?? '', /too many ADS streams for spiffe:\/\/cluster\.local\/ns\/sample\/sa\/attacker \(limit 150/);
  assert.equal(stuck.length, 150, '150 streams are held open and read nothing');

  // Every stuck stream is ended by the send timeout (DEADLINE_EXCEEDED if it could get through, else reset).
  const t0 = Date.now();
  await until('the stuck streams are ended', () => Promise.resolve(stuck.every((s) => s.closed) ? true : undefined), (SEND_TIMEOUT_S + 20) * 1000);
  t.diagnostic(`all ${stuck.length} stuck streams ended ${Date.now() - t0} ms after the measurement (send timeout ${SEND_TIMEOUT_S}s); rst codes: ${[...new Set(stuck.map((s) => s.rstCode))].join(', ')}`);
  const timeouts = await metric('pilot_xds_write_timeout');
  t.diagnostic(`pilot_xds_write_timeout ${timeouts}`);
  assert.ok(timeouts >= 150, 'every stuck stream is counted as a write timeout');

  // The process is healthy: ready, and the healthy proxy still gets updates at baseline speed.
  assert.equal((await disc.get('/ready')).status, 200);
  const afterwards = await updateTime('10.10.3.1');
  t.diagnostic(`update time after the attack: ${afterwards} ms`);
  assert.ok(Number.isFinite(afterwards));
  assert.equal(await metric('pilot_xds'), 1, 'only the healthy proxy is still connected');
});
