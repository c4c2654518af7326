import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DebugServer } from './server.ts';
import type { ConnectionGuardOptions } from './connection-guard.ts';

const servers: DebugServer[] = [];
const sockets: Socket[] = [];
after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) await s.close();
});

async function start(connections: Partial<ConnectionGuardOptions>): Promise<{ server: DebugServer; port: number }> {
  const server = new DebugServer({ address: '127.0.0.1:0', publicPaths: ['/ready'], authorize: () => Promise.resolve('no'), connections });
  server.handle('/ready', () => ({ status: 200, text: 'ready\n' }));
  servers.push(server);
  return { server, port: (await server.listen()).port };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => { resolve(s); });
    s.on('error', () => { /* closed by the server: expected */ });
    s.once('error', reject);
    sockets.push(s);
  });
}

const closed = (s: Socket) => s.destroyed || s.readyState === 'closed';

test('idle connections beyond the limits are closed for room: /ready is still served', async () => {
  const { server, port } = await start({ maxConnections: 32, maxPerSource: 8, headersDeadlineMs: 60_000, idleMs: 60_000 });
  const idle: Socket[] = [];
  for (let i = 0; i < 300; i++) idle.push(await open(port));
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  assert.equal(res.status, 200);
  await sleep(100);
  const st = server.connectionStats();
  console.log(`300 idle connections from one source: ${st.open} kept open, ${st.evicted} closed for room`);
  assert.ok(st.open <= 9, `open ${st.open}`);
  assert.ok(st.evicted >= 291, `evicted ${st.evicted}`);
  assert.equal(idle.filter(closed).length >= 290, true);
});

test('a connection that sends no complete headers in time is closed (slowloris)', async () => {
  const { server, port } = await start({ headersDeadlineMs: 300, idleMs: 300 });
  const silent = await open(port);
  const slow = await open(port);
  slow.write('GET /ready HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => { if (!slow.destroyed) slow.write('X-A: b\r\n'); }, 50);
  const t0 = Date.now();
  await Promise.all([new Promise((r) => silent.once('close', r)), new Promise((r) => slow.once('close', r))]);
  clearInterval(drip);
  console.log(`silent and dripping connections closed after ${Date.now() - t0} ms (deadline 300 ms)`);
  assert.ok(Date.now() - t0 < 5_000);
  assert.equal(server.connectionStats().timedOut, 2);
  assert.equal((await fetch(`http://127.0.0.1:${port}/ready`)).status, 200);
});

test('a keep-alive connection is kept while busy and closed after idling', async () => {
  const { port } = await start({ headersDeadlineMs: 2_000, idleMs: 300 });
  const s = await open(port);
  let got = '';
  s.on('data', (b: Buffer) => { got += b.toString(); });
  s.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
  const t0 = Date.now();
  await new Promise((r) => s.once('close', r));
  assert.match(got, /^HTTP\/1\.1 200/);
  assert.ok(Date.now() - t0 < 2_000, 'closed by the idle deadline, not the headers deadline');
});
