import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryRequestCodec } from '../../proto/codec.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS, CLUSTER_TYPE_URL as CDS } from '../../model/type-urls.ts';
import * as data from '../../testing/proto/testdata.ts';
import { decodeDiscoveryRequest } from '../protocol/request-wire.ts';
import { RequestFrameDecoder } from './request-frames.ts';

// The decoder on a real grpc-js call: call-transport.test.ts.

const names = (n: number, tag = ''): string[] => Array.from({ length: n }, (_, i) => `outbound|8080||svc-${i}${tag}.bench.svc.cluster.local`);

function framed(req: DiscoveryRequest | Buffer, flag = 0): Buffer {
  const body = Buffer.isBuffer(req) ? req : Buffer.from(discoveryRequestCodec.encode(req));
  const out = Buffer.alloc(5 + body.length);
  out[0] = flag;
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

/** What a handler reads of a request. */
function seen(frame: Buffer): Record<string, unknown> {
  const r = decodeDiscoveryRequest(frame.subarray(5));
  return { versionInfo: r.versionInfo, typeUrl: r.typeUrl, responseNonce: r.responseNonce, resourceNames: r.resourceNames, node: r.node, errorDetail: r.errorDetail };
}

const requests: DiscoveryRequest[] = [
  { ...data.discoveryRequest, typeUrl: CDS },
  { typeUrl: EDS, resourceNames: names(300) },
  { versionInfo: '1', typeUrl: EDS, responseNonce: 'n1', resourceNames: names(300) },
  { versionInfo: '1', typeUrl: CDS, responseNonce: 'n0' },
  { versionInfo: '2', typeUrl: EDS, responseNonce: 'n2', resourceNames: names(300) },
  // The same names under another type: not taken for EDS's.
  { versionInfo: '2', typeUrl: CDS, responseNonce: 'n3', resourceNames: names(300) },
  // One name more, then the same list again.
  { versionInfo: '3', typeUrl: EDS, responseNonce: 'n4', resourceNames: names(301) },
  { versionInfo: '4', typeUrl: EDS, responseNonce: 'n5', resourceNames: names(301) },
  // A NACK with the same names.
  { versionInfo: '4', typeUrl: EDS, responseNonce: 'n6', resourceNames: names(301), errorDetail: { code: 3, message: 'rejected' } },
  // Names that differ only in their last byte.
  { versionInfo: '5', typeUrl: EDS, responseNonce: 'n7', resourceNames: [...names(300), 'outbound|8080||svc-x.bench.svc.cluster.locaL'] },
  { typeUrl: EDS, resourceNames: [] },
];

test('requests framed in chunks of any size decode as they were sent; repeated names are not copied', () => {
  const stream = Buffer.concat([...requests.map((r) => framed(r)), framed(Buffer.alloc(0))]);
  const expected = [...requests.map((r) => seen(framed(r))), seen(framed(Buffer.alloc(0)))];
  for (const chunk of [1, 2, 5, 7, 100, 16_384, stream.length]) {
    const d = new RequestFrameDecoder(4 * 1024 * 1024);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += chunk) out.push(...d.write(stream.subarray(i, i + chunk)));
    assert.equal(out.length, expected.length, `chunks of ${chunk}`);
    assert.deepEqual(out.map(seen), expected, `chunks of ${chunk}`);
    // Requests 2, 4 and 7 and the NACK repeat their type's last names: passed on without them.
    const small = out.map((f, i) => f.length < framed(requests[i] ?? Buffer.alloc(0)).length);
    assert.deepEqual(small.map((s, i) => (s ? i : -1)).filter((i) => i >= 0), [2, 4, 7, 8], `chunks of ${chunk}`);
  }
});

test('a message over the limit is refused with grpc-js\'s words; compressed messages pass whole', () => {
  const d = new RequestFrameDecoder(100);
  assert.throws(() => d.write(framed({ typeUrl: EDS, resourceNames: names(10) })), /^Error: Received message larger than max \(\d+ vs 100\)$/);
  const z = new RequestFrameDecoder(-1);
  const compressed = framed(Buffer.from('not really gzip'), 1);
  assert.deepEqual(z.write(compressed), [compressed]);
});

test('bytes that are not a request pass whole, for the deserializer to refuse', () => {
  const d = new RequestFrameDecoder(-1);
  d.write(framed({ versionInfo: '1', typeUrl: EDS, responseNonce: 'a', resourceNames: names(3) }));
  for (const junk of [Buffer.from([0x1a, 0xff]), Buffer.from([0x08, 0x01]), Buffer.from([0xff, 0xff, 0xff])]) {
    assert.deepEqual(d.write(framed(junk)), [framed(junk)]);
  }
});

test('a request passed on without its names, then parted from them, is refused rather than read as naming nothing', () => {
  const d = new RequestFrameDecoder(-1);
  d.write(framed({ versionInfo: '1', typeUrl: EDS, responseNonce: 'a', resourceNames: names(3) }));
  const [compact] = d.write(framed({ versionInfo: '2', typeUrl: EDS, responseNonce: 'b', resourceNames: names(3) }));
  assert.ok(compact);
  assert.deepEqual(seen(compact).resourceNames, names(3));
  // A copy is memory the names were not attached to (what a changed grpc-js could hand over).
  assert.throws(() => decodeDiscoveryRequest(Buffer.from(compact.subarray(5))), /starts with field number 0/);
});

test('streams that send the same names share one copy of them, not the buffers they arrived in', () => {
  const wires: unknown[] = [];
  for (const node of ['a', 'b']) {
    const d = new RequestFrameDecoder(-1);
    const [first] = d.write(framed({ typeUrl: EDS, resourceNames: names(50, '-shared') }));
    const [ack] = d.write(framed({ versionInfo: '1', typeUrl: EDS, responseNonce: node, resourceNames: names(50, '-shared') }));
    assert.ok(first && ack);
    const wire = decodeDiscoveryRequest(ack.subarray(5)).namesWire;
    assert.ok(wire && wire.buffer !== first.buffer, 'the names do not keep the first request alive');
    wires.push(wire);
  }
  assert.equal(wires[0], wires[1]);
});
