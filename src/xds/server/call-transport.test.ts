/**
 * call-transport.ts depends on how grpc-js lays out a server call. This test runs a real grpc-js
 * server and client over loopback HTTP/2 and fails when that layout changes (a grpc-js upgrade):
 * then the send timeout would fall back to whole messages and end slow readers again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, makeGenericClientConstructor, status, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { discoveryRequestCodec } from '../../proto/codec.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS } from '../../model/type-urls.ts';
import { decodeDiscoveryRequest } from '../protocol/request-wire.ts';
import { http2StreamOf, receiveWith, sendInParts, transportBytesOf, type MessageParts } from './call-transport.ts';
import { RequestFrameDecoder } from './request-frames.ts';

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

interface PartsMessage { readonly parts: MessageParts }
const isParts = (m: unknown): m is PartsMessage => typeof m === 'object' && m !== null && 'parts' in m;
const partsService = {
  Chat: {
    path: '/isthmus.test.Transport/Chat', requestStream: true, responseStream: true, originalName: 'chat',
    requestSerialize: same, requestDeserialize: same, responseDeserialize: same,
    responseSerialize: (m: unknown): Buffer => (Buffer.isBuffer(m) ? m : Buffer.from('not a buffer')),
  },
} satisfies ServiceDefinition;

/** A real grpc-js server whose calls send in parts; the client's view of what one request got back. */
async function exchange(serverOptions: Record<string, number>, reply: (call: ServerDuplexStream<Buffer, unknown>) => void): Promise<{ installed: boolean; got: Buffer[]; error: { code?: number; details?: string } | undefined }> {
  let installed = false;
  const server = new Server(serverOptions);
  server.addService(partsService, {
    chat: (call: ServerDuplexStream<Buffer, unknown>) => {
      installed = sendInParts(call, (m) => (isParts(m) ? m.parts : undefined));
      call.on('data', () => { reply(call); });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => { if (err) reject(err); else resolve(p); });
  });
  const Client = makeGenericClientConstructor(partsService, 'Transport');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const chat = (client as unknown as { chat(): NodeJS.ReadWriteStream & { write(b: Buffer): boolean } }).chat();
    const got: Buffer[] = [];
    const error = await new Promise<{ code?: number; details?: string } | undefined>((resolve) => {
      chat.on('data', (b: Buffer) => { got.push(b); });
      chat.on('error', (e: { code?: number; details?: string }) => { resolve(e); });
      chat.on('end', () => { resolve(undefined); });
      chat.write(Buffer.from('hello'));
    });
    return { installed, got, error };
  } finally {
    client.close();
    server.forceShutdown();
  }
}

test('sendInParts: a head and shared bytes arrive as one message, other messages go through grpc-js unchanged', async (t) => {
  const shared = Buffer.alloc(300 * 1024);
  for (let i = 0; i < shared.length; i++) shared[i] = i % 251;
  const copy = Buffer.from(shared);
  const msg = (head: string): PartsMessage => ({ parts: { head: Buffer.from(head), resources: shared, length: head.length + shared.length } });
  const r = await exchange({}, (call) => {
    call.write(msg('first-'));
    call.write(Buffer.from('plain message'));
    call.write({ parts: { head: Buffer.from('only-a-head'), resources: new Uint8Array(0), length: 11 } });
    call.write(msg('third-'), () => { call.end(); });
  });
  t.diagnostic(`${r.got.length} messages of ${r.got.map((b) => b.length).join(', ')} bytes`);
  assert.ok(r.installed, 'the grpc-js call has the layout sendInParts expects (grpc-js upgrade changed it otherwise)');
  assert.equal(r.error, undefined);
  assert.equal(r.got.length, 4);
  assert.deepEqual(r.got[0], Buffer.concat([Buffer.from('first-'), copy]));
  assert.equal(r.got[1]?.toString(), 'plain message');
  assert.equal(r.got[2]?.toString(), 'only-a-head');
  assert.deepEqual(r.got[3], Buffer.concat([Buffer.from('third-'), copy]));
  assert.deepEqual(shared, copy, 'the shared bytes are not written to');
});

test('sendInParts: a message over the send limit ends the call with RESOURCE_EXHAUSTED, as grpc-js does', async () => {
  const r = await exchange({ 'grpc.max_send_message_length': 1000 }, (call) => {
    call.write({ parts: { head: Buffer.from('h'), resources: Buffer.alloc(2000), length: 2001 } });
  });
  assert.ok(r.installed);
  assert.equal(r.got.length, 0);
  assert.equal(r.error?.code, status.RESOURCE_EXHAUSTED);
  assert.match(r.error.details ?? '', /larger than max \(2001 vs\. 1000\)/);
});

test('sendInParts changes nothing on a call without the expected layout', () => {
  assert.equal(sendInParts({ call: { nextCall: { stream: { closed: false, destroyed: false, rstCode: undefined, close: () => undefined } } } }, () => undefined), false);
  assert.equal(sendInParts(null, () => undefined), false);
});

test('requests framed by receiveWith\'s decoder reach a real grpc-js handler as sent; repeated names are not copied', async () => {
  const names = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `outbound|8080||svc-${i}-${tag}.bench.svc.cluster.local`);
  const sent: DiscoveryRequest[] = [{ node: { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local' }, typeUrl: EDS, resourceNames: names(1000, 'a') }];
  for (let i = 0; i < 30; i++) sent.push({ versionInfo: String(i), typeUrl: EDS, responseNonce: `n${i}`, resourceNames: names(1000, i < 20 ? 'a' : 'b') });
  const received: DiscoveryRequest[] = [];
  let installed = false;
  let decoder: RequestFrameDecoder | undefined;
  const ads = {
    Stream: {
      path: '/isthmus.test.Transport/Ads', requestStream: true, responseStream: true, originalName: 'stream',
      requestSerialize: (m: DiscoveryRequest): Buffer => Buffer.from(discoveryRequestCodec.encode(m)), requestDeserialize: decodeDiscoveryRequest,
      responseSerialize: same, responseDeserialize: same,
    },
  } satisfies ServiceDefinition;
  const server = new Server({ 'grpc.max_receive_message_length': 1024 * 1024 });
  const all = new Promise<void>((resolve) => {
    server.addService(ads, {
      stream: (call: ServerDuplexStream<DiscoveryRequest, Buffer>) => {
        call.on('data', (r: DiscoveryRequest) => {
          // As an xDS server does: the first request is answered before the proxy sends more.
          if (received.length === 0) { installed = receiveWith(call, (max) => (decoder = new RequestFrameDecoder(max))); call.write(Buffer.from('first response')); }
          received.push({ ...r });
          if (received.length === sent.length) { call.end(); resolve(); }
        });
      },
    });
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => { if (err) reject(err); else resolve(p); });
  });
  const client = new (makeGenericClientConstructor(ads, 'Transport'))(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const stream = (client as unknown as { stream(): NodeJS.ReadWriteStream & { write(m: DiscoveryRequest): boolean } }).stream();
    stream.on('error', () => undefined);
    const answered = new Promise((resolve) => { stream.once('data', resolve); });
    stream.write(sent[0] ?? {});
    await answered;
    for (const r of sent.slice(1)) stream.write(r);
    await all;
    stream.end();
    assert.ok(installed, 'receiveWith finds grpc-js\'s decoder (grpc-js layout unchanged)');
    assert.equal(received.length, sent.length);
    for (const [i, r] of received.entries()) {
      const { namesWire: _w, nameCount: _c, ...plain } = r as DiscoveryRequest & { namesWire?: unknown; nameCount?: unknown };
      assert.deepEqual({ ...plain, node: plain.node?.id }, { ...discoveryRequestCodec.decode(Buffer.from(discoveryRequestCodec.encode(sent[i] ?? {}))), node: sent[i]?.node?.id }, `request ${i}`);
    }
    // After the first, 19 ACKs repeat list a and 9 repeat list b: 28 of 30 pass without their names.
    assert.equal(decoder?.withoutNames, 28);
  } finally {
    client.close();
    server.forceShutdown();
  }
});

test('receiveWith\'s decoder keeps grpc-js\'s receive limit: a larger request ends the call RESOURCE_EXHAUSTED', async () => {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  server.addService(service, {
    chat: (call: ServerDuplexStream<Buffer, Buffer>) => {
      let first = true;
      call.on('data', () => { if (first) { first = false; assert.ok(receiveWith(call, (max) => new RequestFrameDecoder(max))); } });
      call.on('error', () => undefined);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => { if (err) reject(err); else resolve(p); });
  });
  const client = new (makeGenericClientConstructor(service, 'Transport'))(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    const chat = (client as unknown as { chat(): NodeJS.ReadWriteStream & { write(b: Buffer): boolean } }).chat();
    const ended = new Promise<{ code?: number; details?: string }>((resolve) => { chat.on('error', resolve); });
    chat.write(Buffer.from('hello'));
    chat.write(Buffer.alloc(100 * 1024, 1));
    const err = await ended;
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details ?? '', /Received message larger than max \(102400 vs 65536\)/);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
