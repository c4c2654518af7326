/**
 * call-transport.ts depends on how grpc-js lays out a server call. This test runs a real grpc-js
 * server and client over loopback HTTP/2 and fails when that layout changes (a grpc-js upgrade):
 * then the send timeout would fall back to whole messages and end slow readers again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, makeGenericClientConstructor, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { http2StreamOf, transportBytesOf } from './call-transport.ts';

const same = (b: Buffer): Buffer => b;
const service = {
  Chat: { path: '/isthmus.test.Transport/Chat', requestStream: true, responseStream: true, originalName: 'chat', requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
} satisfies ServiceDefinition;

test('the HTTP/2 stream and the transport byte count are found under a real grpc-js server call', async (t) => {
  const RESPONSE = 512 * 1024;
  const seen: { found: boolean; before: number | undefined; after: number | undefined; ctor: string } = { found: false, before: undefined, after: undefined, ctor: '' };
  const server = new Server();
  const done = new Promise<void>((resolve) => {
    server.addService(service, {
      chat: (call: ServerDuplexStream<Buffer, Buffer>) => {
        const h2 = http2StreamOf(call);
        const bytes = transportBytesOf(call);
        seen.found = h2 !== undefined;
        seen.ctor = h2?.constructor.name ?? '';
        call.on('data', () => {
          seen.before = bytes?.();
          call.write(Buffer.alloc(RESPONSE, 7), () => {
            seen.after = bytes?.();
            call.end();
            resolve();
          });
        });
      },
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => { if (err) reject(err); else resolve(p); });
  });
  const Client = makeGenericClientConstructor(service, 'Transport');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const chat = (client as unknown as { chat(): NodeJS.ReadWriteStream & { write(b: Buffer): boolean } }).chat();
    const got = new Promise<number>((resolve, reject) => {
      chat.on('data', (b: Buffer) => { resolve(b.length); });
      chat.on('error', reject);
    });
    chat.write(Buffer.from('hello'));
    assert.equal(await got, RESPONSE);
    await done;
    chat.end();
    t.diagnostic(`grpc-js call -> ${seen.ctor}; session socket bytesWritten ${seen.before} before and ${seen.after} after a ${RESPONSE}-byte response`);
    assert.ok(seen.found, 'http2StreamOf finds the HTTP/2 stream of a grpc-js server call (grpc-js layout unchanged)');
    assert.equal(seen.ctor, 'ServerHttp2Stream');
    assert.equal(typeof seen.before, 'number', 'the session socket reports bytesWritten');
    assert.ok((seen.after ?? 0) - (seen.before ?? 0) >= RESPONSE, 'the count grows by at least the response sent');
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('http2StreamOf walks call -> nextCall -> stream, and finds nothing in other shapes', () => {
  const h2 = { closed: false, destroyed: false, rstCode: undefined, close: () => undefined };
  assert.equal(http2StreamOf({ call: { nextCall: { stream: h2 } } }), h2);
  assert.equal(http2StreamOf({ call: { stream: {} } }), undefined);
  assert.equal(http2StreamOf(null), undefined);
  assert.equal(transportBytesOf({ call: { stream: {} } }), undefined);
  const gone = transportBytesOf({ call: { nextCall: { stream: { ...h2, session: { get socket(): never { throw new Error('ERR_HTTP2_SOCKET_UNBOUND'); } } } } } });
  assert.equal(gone?.(), undefined, 'a destroyed session reads as unknown, not as an exception');
});
