/** SNI / ALPN from real ClientHellos (produced by Node's TLS client), split at every byte. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect } from 'node:tls';
import { test } from 'node:test';
import { parseClientHello } from './client-hello.ts';

/** The first bytes a real TLS client sends for the given options. */
async function captureHello(servername: string | undefined, alpn: string[] | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let done: (b: Buffer) => void = () => undefined;
  const got = new Promise<Buffer>((r) => { done = r; });
  const server = createServer((s) => {
    s.on('data', (b: Buffer) => {
      chunks.push(b);
      const all = Buffer.concat(chunks);
      if (parseClientHello(all).kind !== 'more') { done(all); s.destroy(); }
    });
  });
  await new Promise<void>((r) => { server.listen(0, '127.0.0.1', () => { r(); }); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  const c = connect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), ...(alpn === undefined ? {} : { ALPNProtocols: alpn }), rejectUnauthorized: false });
  c.on('error', () => undefined);
  const hello = await got;
  c.destroy();
  await new Promise<void>((r) => { server.close(() => { r(); }); });
  return hello;
}

test('SNI and ALPN of a real ClientHello, whatever the segmentation', async () => {
  const sni = 'outbound_.5000_._.helloworld.sample.svc.cluster.local';
  const hello = await captureHello(sni, ['istio-peer-exchange', 'istio']);
  const full = parseClientHello(hello);
  assert.deepEqual(full, { kind: 'done', hello: { serverName: sni, alpn: ['istio-peer-exchange', 'istio'] } });
  for (let cut = 0; cut < hello.length; cut++) {
    assert.equal(parseClientHello(hello.subarray(0, cut)).kind, 'more', `prefix of ${cut} bytes`);
  }
  // Trailing application bytes after the hello do not matter.
  assert.deepEqual(parseClientHello(Buffer.concat([hello, Buffer.from('xyz')])), full);
});

test('no SNI (an IP target) and no ALPN', async () => {
  const hello = await captureHello(undefined, undefined);
  assert.deepEqual(parseClientHello(hello), { kind: 'done', hello: { serverName: '', alpn: [] } });
});

test('a ClientHello split over two TLS records is joined', async () => {
  const hello = await captureHello('a.example', ['h2']);
  const body = hello.subarray(5);
  const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
  const split = Buffer.concat([rec(body.subarray(0, 40)), rec(body.subarray(40))]);
  assert.deepEqual(parseClientHello(split), { kind: 'done', hello: { serverName: 'a.example', alpn: ['h2'] } });
});

test('plaintext and malformed input are refused, not waited on', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'error');
  assert.equal(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00])).kind, 'error', 'zero-length record');
  const notHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]);
  assert.deepEqual(parseClientHello(notHello), { kind: 'error', error: 'first handshake message is not a ClientHello' });
  const truncatedInside = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x06, 0x01, 0x00, 0x00, 0x02, 0x03, 0x03]);
  assert.equal(parseClientHello(truncatedInside).kind, 'error');
  assert.equal(parseClientHello(Buffer.alloc(0)).kind, 'more');
});
