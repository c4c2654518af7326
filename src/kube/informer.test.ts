import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { generateClusterCerts } from '../testing/testbed/certs.ts';
import { tokenKubeconfig } from '../testing/testbed/kubeconfig.ts';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import type { KubeClient } from './client.ts';
import { Informer } from './informer.ts';
import { LivenessProbe } from './liveness.ts';
import { clientFromUntrustedKubeconfig } from './multicluster/kubeconfig.ts';
import type { KubeObject } from './types.ts';
import { watchOnce, type WatchEvent } from './watch.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;
let handler: Handler = (_q, res) => { res.writeHead(404).end(); };
let server: Server;
let client: KubeClient;
const requests: string[] = [];

before(async () => {
  const certs = await generateClusterCerts('informer-test');
  server = createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem }, (req, res) => {
    requests.push(req.url ?? '');
    handler(req, res, new URL(req.url ?? '/', 'https://x'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = clientFromUntrustedKubeconfig(tokenKubeconfig({ name: 't', server: url, caCertPem: certs.caCertPem, token: 't' }), 'test', { maxResponseBytes: 64 * 1024, timeoutMs: 2000 });
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const obj = (name: string, extra: Record<string, unknown> = {}) => ({ metadata: { name, namespace: 'ns', resourceVersion: '1' }, ...extra });
const listOf = (items: unknown[]) => JSON.stringify({ metadata: { resourceVersion: '10' }, items });

test('a watch event longer than the bound ends the watch with a size error, after the events before it', async () => {
  const held: ServerResponse[] = [];
  handler = (_q, res) => {
    held.push(res);
    res.writeHead(200);
    res.write(`${JSON.stringify({ type: 'ADDED', object: obj('a') })}\n${JSON.stringify({ type: 'ADDED', object: obj('b') })}\n`);
    const chunk = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 40; i++) res.write(chunk); // 2.5 MB without a newline
  };
  const got: WatchEvent[] = [];
  await assert.rejects(
    watchOnce(client, { path: '/api/v1/pods', query: new URLSearchParams(), signal: new AbortController().signal, maxEventBytes: 1024 * 1024, idleTimeoutMs: 5000, onEvent: (e) => got.push(e) }),
    (e: unknown) => isIsthmusError(e, ErrorCodes.KubeResponseTooLarge),
  );
  assert.deepEqual(got.map((e) => (e.object as KubeObject).metadata.name), ['a', 'b']);
  for (const r of held) r.destroy();
});

test('an idle watch ends normally so it can be re-opened', async () => {
  handler = (_q, res) => { res.writeHead(200); res.write('\n'); };
  const t0 = Date.now();
  await watchOnce(client, { path: '/api/v1/pods', query: new URLSearchParams(), signal: new AbortController().signal, maxEventBytes: 1024, idleTimeoutMs: 200, onEvent: () => undefined });
  assert.ok(Date.now() - t0 < 2000);
});

test('the informer leaves out refused objects and objects beyond its bound, and reports them', async () => {
  handler = (_q, res, url) => {
    if (url.searchParams.get('watch') === 'true') { res.writeHead(200); return; }
    res.writeHead(200).end(listOf([obj('ok-1'), obj('huge', { endpoints: Array(1001).fill({}) }), obj('ok-2'), obj('ok-3'), obj('ok-4')]));
  };
  const overflows: string[] = [];
  const inf = new Informer<KubeObject>(client, {
    path: '/apis/discovery.k8s.io/v1/endpointslices', maxObjects: 2, onOverflow: (m) => overflows.push(m),
    refuse: (o) => ((o as { endpoints?: unknown[] }).endpoints?.length ?? 0) > 1000 ? 'too many endpoints' : undefined,
  });
  inf.start();
  await inf.synced;
  await inf.stop();
  assert.deepEqual(inf.list().map((o) => o.metadata.name), ['ok-1', 'ok-2']);
  const st = inf.status();
  assert.equal(st.refused, 3);
  assert.ok(st.overflow);
  assert.equal(overflows.length, 1, overflows.join('\n'));
  assert.match(overflows[0] ?? '', /objects left out/);
});

test('reduce: listed and watched objects are cached (and handed to handlers) as the reduced object', async () => {
  let sent = false;
  handler = (_q, res, url) => {
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200);
      if (!sent) { sent = true; res.write(`${JSON.stringify({ type: 'MODIFIED', object: obj('n1', { status: { images: ['big-2'] }, spec: { x: 2 } }) })}\n`); }
      return;
    }
    res.writeHead(200).end(listOf([obj('n1', { status: { images: ['big'] }, spec: { x: 1 } })]));
  };
  const keep = (o: KubeObject): KubeObject => ({ metadata: { name: o.metadata.name }, spec: (o as { spec?: unknown }).spec }) as KubeObject;
  const inf = new Informer<KubeObject>(client, { path: '/api/v1/nodes', reduce: keep });
  const updates: unknown[] = [];
  inf.on({ onUpdate: (o, old) => { updates.push([o, old]); } });
  inf.start();
  try {
    await inf.synced;
    assert.deepEqual(inf.list(), [{ metadata: { name: 'n1' }, spec: { x: 1 } }], 'the listed object, reduced');
    const t0 = Date.now();
    while (updates.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await inf.stop();
  }
  assert.deepEqual(updates, [[{ metadata: { name: 'n1' }, spec: { x: 2 } }, { metadata: { name: 'n1' }, spec: { x: 1 } }]], 'the watched update, reduced, with the reduced old object');
});

test('a list page above the response bound is asked again with a smaller page', async () => {
  requests.length = 0;
  handler = (_q, res, url) => {
    if (url.searchParams.get('watch') === 'true') { res.writeHead(200); return; }
    const limit = Number(url.searchParams.get('limit'));
    const pad = 'p'.repeat(limit >= 500 ? 100 * 1024 : 10);
    res.writeHead(200).end(listOf([obj('a', { pad })]));
  };
  const inf = new Informer<KubeObject>(client, { path: '/api/v1/services' });
  inf.start();
  await inf.synced;
  await inf.stop();
  assert.deepEqual(inf.list().map((o) => o.metadata.name), ['a']);
  const limits = requests.filter((r) => !r.includes('watch=true')).map((r) => new URL(r, 'https://x').searchParams.get('limit'));
  assert.deepEqual(limits, ['500', '50']);
});

test('stop() returns at once while a list request hangs on a server that never answers', async () => {
  const held: ServerResponse[] = [];
  handler = (_q, res) => { held.push(res); };
  const inf = new Informer<KubeObject>(client, { path: '/api/v1/pods' });
  inf.start();
  while (held.length === 0) await new Promise((r) => setTimeout(r, 10));
  const t0 = Date.now();
  await inf.stop();
  const ms = Date.now() - t0;
  assert.ok(ms < 500, `stop took ${ms} ms`);
  for (const r of held) r.destroy();
});

test('the liveness probe reports a server that stops answering, and its return', async () => {
  let answering = true;
  const held: ServerResponse[] = [];
  handler = (_q, res) => {
    if (answering) res.writeHead(200).end('ok');
    else held.push(res);
  };
  const changes: boolean[] = [];
  const probe = new LivenessProbe(client, { intervalMs: 50, timeoutMs: 200, onChange: (alive) => changes.push(alive) });
  probe.start();
  try {
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(probe.status().alive, true);
    answering = false;
    const t0 = Date.now();
    while (probe.status().alive && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(probe.status().alive, false);
    assert.match(probe.status().lastError ?? '', /no answer to \/readyz within 200 ms/);
    answering = true;
    while (!probe.status().alive && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(probe.status().alive, true);
    assert.deepEqual(changes, [false, true]);
  } finally {
    probe.stop();
    for (const r of held) r.destroy();
  }
});

test('the informer caps the JSON bytes it caches, for lists and watch events alike', async () => {
  const pad = 'p'.repeat(1000);
  const held: ServerResponse[] = [];
  handler = (_q, res, url) => {
    if (url.searchParams.get('watch') !== 'true') { res.writeHead(200).end(listOf([obj('listed', { pad })])); return; }
    held.push(res);
    res.writeHead(200);
    for (const name of ['w1', 'w2', 'w3']) res.write(`${JSON.stringify({ type: 'ADDED', object: { ...obj(name, { pad }), metadata: { name, namespace: 'ns', resourceVersion: '11' } } })}\n`);
  };
  const inf = new Informer<KubeObject>(client, { path: '/api/v1/configmaps', maxBytes: 3000 });
  inf.start();
  await inf.synced;
  const t0 = Date.now();
  while ((inf.status().refused ?? 0) < 2 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
  await inf.stop();
  for (const r of held) r.destroy();
  assert.deepEqual(inf.list().map((o) => o.metadata.name).sort(), ['listed', 'w1']);
  assert.equal(inf.status().refused, 2);
  assert.match(inf.status().overflow ?? '', /more than 3000 bytes of objects/);
});

test('a gzipped answer is read whole and inflated; beyond the bound once inflated, or corrupt, it fails clearly', async () => {
  let body = Buffer.alloc(0);
  let enc = 'gzip';
  handler = (req, res) => {
    assert.equal(req.headers['accept-encoding'], 'gzip');
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': enc }).end(body);
  };
  const list = listOf([obj('a'), obj('b')]);
  body = gzipSync(list);
  assert.equal((await client.getBytes('/api/v1/pods', 'application/json')).bytes.toString(), list);
  enc = 'deflate';
  body = deflateSync(list);
  assert.deepEqual(await client.request('GET', '/api/v1/pods'), JSON.parse(list));
  // 1 KB on the wire, 100 KB inflated: over the client's 64 KiB bound.
  enc = 'gzip';
  body = gzipSync(listOf([obj('big', { data: 'x'.repeat(100 * 1024) })]));
  assert.ok(body.length < 2048);
  await assert.rejects(client.getBytes('/api/v1/pods', 'application/json'), (e: unknown) => isIsthmusError(e, ErrorCodes.KubeResponseTooLarge) && /larger than the 65536-byte limit once decompressed/.test((e as Error).message));
  body = Buffer.from('not gzip at all');
  await assert.rejects(client.getBytes('/api/v1/pods', 'application/json'), /GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/pods: the gzip body does not decompress/);
  enc = 'br';
  await assert.rejects(client.getBytes('/api/v1/pods', 'application/json'), /content encoding "br", which was not asked for/);
});
