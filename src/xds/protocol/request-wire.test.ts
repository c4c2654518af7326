import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discoveryRequestCodec } from '../../proto/codec.ts';
import type { DiscoveryRequest } from '../../proto/types.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL as EDS } from '../../model/type-urls.ts';
import * as data from '../../testing/proto/testdata.ts';
import { decodeDiscoveryRequest, sameWire } from './request-wire.ts';

const names = Array.from({ length: 200 }, (_, i) => `outbound|8080||svc-${i}.bench.svc.cluster.local`);
const ack: DiscoveryRequest = { versionInfo: '17.3', typeUrl: EDS, responseNonce: '17.3-42', resourceNames: names };

/** Everything a reader sees, the lazily decoded names included (a spread reads the getter). */
function plain(r: DiscoveryRequest): DiscoveryRequest {
  const { namesWire: _w, nameCount: _c, ...rest } = { ...r } as DiscoveryRequest & { namesWire?: unknown; nameCount?: unknown };
  return rest;
}

const hex = (h: string): Buffer => Buffer.from(h.replaceAll(' ', ''), 'hex');

test('a request decodes to what the codec gives, names decoded only when read', () => {
  const cases: [string, Buffer][] = [
    ['an ACK', Buffer.from(discoveryRequestCodec.encode(ack))],
    ['a first request with node, names and an error detail', Buffer.from(discoveryRequestCodec.encode(data.discoveryRequest))],
    ['no names', Buffer.from(discoveryRequestCodec.encode({ typeUrl: EDS, responseNonce: 'n' }))],
    ['only names', Buffer.from(discoveryRequestCodec.encode({ resourceNames: ['a', 'b', ''] }))],
    ['empty strings and a non-ASCII name', Buffer.from(discoveryRequestCodec.encode({ versionInfo: '', typeUrl: EDS, responseNonce: '', resourceNames: ['ü', 'b'] }))],
    // Names split around other fields, a repeated type_url (the last wins), an unknown field 9 (skipped).
    ['interleaved and repeated fields', hex('1a0161 2201 78 1a0162 2201 79 4803 1a0163')],
    // Invalid UTF-8 decodes as protobufjs decodes it.
    ['invalid UTF-8 in a name', hex('1a02c328 2201 78')],
  ];
  for (const [what, bytes] of cases) {
    const got = decodeDiscoveryRequest(bytes);
    const want = discoveryRequestCodec.decode(bytes);
    assert.deepStrictEqual(plain(got), want, what);
    assert.equal(got.nameCount, want.resourceNames?.length ?? 0, `${what}: name count`);
  }
  const lazy = decodeDiscoveryRequest(Buffer.from(discoveryRequestCodec.encode(ack)));
  assert.equal(typeof Object.getOwnPropertyDescriptor(lazy, 'resourceNames')?.get, 'function', 'names are a getter until read');
  assert.equal(lazy.nameCount, 200);
  const interleaved = decodeDiscoveryRequest(hex('1a0161 2201 78 1a0162 2201 79 4803 1a0163'));
  assert.deepStrictEqual(interleaved.resourceNames, ['a', 'b', 'c']);
  assert.equal(interleaved.typeUrl, 'y');
});

test('equal name lists have equal wire bytes; any change of a name or the order shows in them', () => {
  const wire = (r: DiscoveryRequest): Uint8Array => {
    const w = decodeDiscoveryRequest(Buffer.from(discoveryRequestCodec.encode(r))).namesWire;
    assert.ok(w, 'names stay encoded');
    return w;
  };
  const base = wire(ack);
  assert.ok(sameWire(base, wire({ ...ack, responseNonce: '17.3-43', versionInfo: '18.0' })), 'other fields do not matter');
  assert.ok(!sameWire(base, wire({ ...ack, resourceNames: [...names.slice(0, 199), 'outbound|8080||svc-X.bench.svc.cluster.local'] })));
  assert.ok(!sameWire(base, wire({ ...ack, resourceNames: names.slice(0, 199) })));
  assert.ok(!sameWire(base, wire({ ...ack, resourceNames: [...names].reverse() })));
  console.log(`200 names: ${base.byteLength} wire bytes compared per ACK instead of 200 strings decoded`);
});

test('malformed requests fail with the codec\'s own error', () => {
  const full = Buffer.from(discoveryRequestCodec.encode(data.discoveryRequest));
  const bad: Buffer[] = [
    ...[1, 7, Math.floor(full.length / 2), full.length - 1].map((cut) => full.subarray(0, cut)),
    hex('1a0561'), // a name whose length runs past the end
    hex('1a0161 2003'), // type_url sent as a varint
    hex('1a0161 0801'), // field 1 (a string) as a varint, after a name
    hex('1a0161 0b0c'), // a group
  ];
  for (const bytes of bad) {
    let want: unknown;
    try {
      discoveryRequestCodec.decode(bytes);
    } catch (err) {
      want = err;
    }
    assert.ok(want instanceof Error, `the codec refuses ${bytes.toString('hex')}`);
    assert.throws(() => decodeDiscoveryRequest(bytes), (err: unknown) => err instanceof Error && err.message === want.message, bytes.toString('hex'));
  }
});
