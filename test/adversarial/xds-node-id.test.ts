/**
 * Issue 15 item 8: node identity. A real `isthmus discovery` refuses xDS nodes istiod would refuse
 * (no valid IP, wrong shape) and ids with control characters; a 100 KB node id gets a short error on
 * its own stream, the caller's HTTP/2 connection keeps working, and no log line carries the id whole
 * or a raw control character.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Testbed } from '../../src/testing/testbed/testbed.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { AdsTestClient } from '../../src/testing/ads-client.ts';
import { structFromJson } from '../../src/proto/wkt.ts';
import { CLUSTER_TYPE_URL as CDS } from '../../src/model/type-urls.ts';
import { grpcFrame, openSession, ADS_PATH } from './xds-h2.ts';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-adv-node-'));
let bed: Testbed;
let disc: DiscoveryProcess;
const clients: AdsTestClient[] = [];
const META = { NAMESPACE: 'sample', CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} };

function ads(nodeId: string, meta: Record<string, string> = {}): AdsTestClient {
  const c = new AdsTestClient({ address: disc.grpcAddr, nodeId, metadata: { ...META, ...meta } });
  clients.push(c);
  return c;
}

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1'] });
  const c1 = bed.cluster('cluster1');
  await c1.ensureNamespace('istio-system');
  disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
  await disc.ready();
});

after(async () => {
  for (const c of clients) c.close();
  await disc.stop();
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('node ids istiod would refuse, or with control characters, are refused with a clear INVALID_ARGUMENT', async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['sidecar~~app-0.sample~sample.svc.cluster.local', {}, /invalid IP address ""/],
    ['sidecar~not-an-ip~app-0.sample~sample.svc.cluster.local', {}, /invalid IP address "not-an-ip"/],
    ['sidecar~10.0.0.300~app-0.sample~sample.svc.cluster.local', {}, /invalid IP address "10\.0\.0\.300"/],
    ['sidecar~10.0.0.1~app-0.sample~sample.svc.cluster.local', { INSTANCE_IPS: '10.0.0.1,bogus' }, /invalid IP address "bogus"/],
    ['sidecar~10.0.0.1~app\u0000-0.sample~sample.svc.cluster.local', {}, /control characters: "sidecar~10\.0\.0\.1~app\\u0000-0/],
    ['sidecar~10.0.0.1~app-0.sample\n~sample.svc.cluster.local', {}, /control characters/],
    ['gateway~10.0.0.1~app-0.sample~sample.svc.cluster.local', {}, /invalid node type "gateway"/],
    ['sidecar~10.0.0.1~app-0.sample', {}, /has 3 parts, want 4/],
  ];
  for (const [id, meta, re] of cases) {
    const c = ads(id, meta);
    c.send({ typeUrl: CDS });
    const e = await c.failure();
    t.diagnostic(`${JSON.stringify(id)} -> ${status[e.code]}: ${e.details}`);
    assert.equal(e.code, status.INVALID_ARGUMENT, `${JSON.stringify(id)} is refused`);
    assert.match(e.details, re);
  }
  // The same shapes with valid values are served, IPv6 and INSTANCE_IPS included.
  for (const [id, meta] of [['sidecar~10.0.0.1~app-0.sample~sample.svc.cluster.local', {}], ['sidecar~fd00::1~app-1.sample~sample.svc.cluster.local', {}],
    ['router~10.0.0.2~gw-0.sample~sample.svc.cluster.local', { INSTANCE_IPS: '10.0.0.2,fd00::2' }]] as const) {
    assert.equal((await ads(id, meta).request(CDS)).typeUrl, CDS, `${id} is served`);
  }
});

test('a 100 KB node id gets a short error on its stream; the connection keeps working; logs stay short and escaped', async (t) => {
  const huge = `sidecar~10.0.0.1~${'a'.repeat(100 * 1024)}\u0000.sample~sample.svc.cluster.local`;
  const session = await openSession({ address: disc.grpcAddr });
  try {
    const bad = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const trailers = new Promise<Record<string, unknown>>((resolve) => {
      bad.on('response', (h: Record<string, unknown>) => { if (h['grpc-status'] !== undefined) resolve(h); });
      bad.on('trailers', (h: Record<string, unknown>) => { resolve(h); });
    });
    bad.on('data', () => undefined);
    bad.on('error', () => undefined);
    bad.end(grpcFrame({ node: { id: huge, metadata: structFromJson(META) }, typeUrl: CDS }));
    const h = await trailers;
    const message = decodeURIComponent(typeof h['grpc-message'] === 'string' ? h['grpc-message'] : '');
    t.diagnostic(`100 KB node id -> grpc-status ${String(h['grpc-status'])}, grpc-message of ${message.length} chars: ${message}`);
    assert.equal(h['grpc-status'], String(status.INVALID_ARGUMENT));
    assert.ok(message.length < 300, 'the refusal quotes at most a short prefix of the id');
    assert.match(message, /node\.id is \d+ characters long \(limit 1024\)/);

    // The same HTTP/2 connection still serves a good stream.
    const good = session.request({ ':method': 'POST', ':path': ADS_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const firstBytes = new Promise<number>((resolve, reject) => {
      good.once('data', (b: Buffer) => { resolve(b.length); });
      good.once('error', reject);
      setTimeout(() => { reject(new Error('no response on the same connection')); }, 10_000).unref();
    });
    good.write(grpcFrame({ node: { id: 'sidecar~10.0.0.9~app-9.sample~sample.svc.cluster.local', metadata: structFromJson(META) }, typeUrl: CDS }));
    const n = await firstBytes;
    t.diagnostic(`the same connection then got a ${n}-byte CDS response on another stream`);
    assert.ok(n > 0);
    assert.equal(session.destroyed, false);
    good.close();
  } finally {
    session.destroy();
  }
  const lines = disc.logs().split('\n');
  const longest = Math.max(...lines.map((l) => l.length));
  t.diagnostic(`longest log line: ${longest} chars`);
  assert.ok(longest < 12_000, `no log line near the size of the id (longest ${longest})`);
  // eslint-disable-next-line no-control-regex
  assert.ok(!lines.some((l) => /[\u0000-\u0008\u000b-\u001f]/.test(l)), 'no raw control character in the log');
});
