import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import type { Cluster } from './types.ts';
import {
  anyCodec, clusterCodec, codec, discoveryRequestCodec, encodeAnyRaw, istioCertificateRequestCodec,
  istioCertificateResponseCodec, listenerCodec, packAny, secretCodec, unpackAny,
} from './codec.ts';
import * as data from '../testing/proto/testdata.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replaceAll(' ', ''), 'hex'));

function codecError(typeName: string, detail?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(isIsthmusError(e, ErrorCodes.ProtoCodec), `expected ProtoCodec, got ${String(e)}`);
    assert.ok(e.message.includes(typeName), `message names ${typeName}: ${e.message}`);
    if (detail) assert.match(e.message, detail);
    return true;
  };
}

test('encodings match hand-computed wire bytes', () => {
  // field 1 (cert_chain), wire type 2: tag 0x0a, length 1, 'a' / 'b'
  assert.equal(hex(istioCertificateResponseCodec.encode({ certChain: ['a', 'b'] })), '0a01610a0162');
  // csr = 'x' (0a 01 78); validity_duration = 3600 as field 3 varint: tag 0x18, 3600 = 0x90 0x1c
  assert.equal(hex(istioCertificateRequestCodec.encode({ csr: 'x', validityDuration: '3600' })), '0a0178' + '18901c');
  // DiscoveryRequest type_url (field 4 -> 0x22), response_nonce (field 5 -> 0x2a)
  assert.equal(hex(discoveryRequestCodec.encode({ typeUrl: 'a', responseNonce: 'n' })), '2201612a016e');
  // Any: type_url (0x0a) then value (0x12)
  assert.equal(hex(encodeAnyRaw('t', new Uint8Array([1]))), '0a0174120101');
  assert.deepStrictEqual(hex(anyCodec.encode({ typeUrl: 't', value: new Uint8Array([1]) })), '0a0174120101');
  // Decoding the hand-made bytes gives the message back.
  assert.deepStrictEqual(istioCertificateResponseCodec.decode(bytes('0a 01 61 0a 01 62')), { certChain: ['a', 'b'] });
});

test('encodeAnyRaw embeds cached encodings byte-for-byte as packAny would', () => {
  const clusterBytes = clusterCodec.encode(data.cluster);
  const packed = packAny(clusterCodec, data.cluster);
  assert.equal(hex(encodeAnyRaw(packed.typeUrl, clusterBytes)), hex(anyCodec.encode(packed)));
});

test('truncated bytes fail with ProtoCodec naming the type', () => {
  const full = discoveryRequestCodec.encode(data.discoveryRequest);
  for (const cut of [1, 7, Math.floor(full.length / 2), full.length - 1]) {
    assert.throws(() => discoveryRequestCodec.decode(full.subarray(0, cut)), codecError('envoy.service.discovery.v3.DiscoveryRequest'));
  }
  // A string whose length runs past the end (protobufjs' Buffer reader alone would clamp it).
  assert.throws(() => istioCertificateResponseCodec.decode(Buffer.from('0a0561', 'hex')), codecError('istio.v1.auth.IstioCertificateResponse', /truncated/));
  // A varint cut in the middle.
  assert.throws(() => istioCertificateRequestCodec.decode(bytes('18 90')), codecError('IstioCertificateRequest', /truncated varint/));
});

test('garbage bytes fail with ProtoCodec', () => {
  for (const g of ['hello world, not protobuf', '\u00ff'.repeat(11)]) {
    assert.throws(() => listenerCodec.decode(Buffer.from(g, 'latin1')), codecError('envoy.config.listener.v3.Listener'));
  }
  // field 15 (not in Secret) with wire type 7; field 0; a stray end-group for field 15
  assert.throws(() => secretCodec.decode(bytes('7f')), codecError('Secret', /invalid wire type 7/));
  assert.throws(() => secretCodec.decode(bytes('00')), codecError('Secret', /field number 0/));
  assert.throws(() => secretCodec.decode(bytes('7c')), codecError('Secret', /unexpected end group/));
});

test('a known field with the wrong wire type fails, also inside nested messages', () => {
  // cert_chain (string) sent as varint 0: protobufjs alone would decode certChain: ['']
  assert.throws(() => istioCertificateResponseCodec.decode(bytes('08 00')), codecError('IstioCertificateResponse', /wire type 0, expected 2/));
  // validity_duration (int64) sent length-delimited
  assert.throws(() => istioCertificateRequestCodec.decode(bytes('1a 01 00')), codecError('IstioCertificateRequest', /field 3/));
  // DiscoveryRequest.node (field 2) holding Node.id (field 1, string) as a varint
  assert.throws(() => discoveryRequestCodec.decode(bytes('12 02 08 01')), codecError('DiscoveryRequest', /field 1 of envoy\.config\.core\.v3\.Node/));
  // A map entry (Struct.fields) whose value (field 2, message) is a fixed32
  assert.throws(() => codec('google.protobuf.Struct').decode(bytes('0a 08 0a 01 6b 15 00 00 00 00')), codecError('google.protobuf.Struct', /map entry/));
});

test('packed and unpacked repeated scalars both decode; unknown fields are skipped', () => {
  const fcm = codec<{ sourcePorts?: number[] }>('envoy.config.listener.v3.FilterChainMatch');
  // field 7 (source_ports) packed: 3a 03 50 bb 03; unpacked: 38 50 38 bb 03
  assert.equal(hex(fcm.encode({ sourcePorts: [80, 443] })), '3a0350bb03');
  assert.deepStrictEqual(fcm.decode(bytes('38 50 38 bb 03')), { sourcePorts: [80, 443] });
  assert.throws(() => fcm.decode(bytes('3a 03 50 bb')), codecError('FilterChainMatch'));
  // field 99 varint, field 100 fixed64, field 101 group: not in the schema, skipped (and not kept)
  const unknown = '98 06 01' + 'a1 06 0102030405060708' + 'ab 06 08 01 ac 06';
  assert.deepStrictEqual(istioCertificateResponseCodec.decode(bytes(`${unknown} 0a 01 61`)), { certChain: ['a'] });
});

test('bad values to encode fail with ProtoCodec', () => {
  const bad = { name: 'c', loadAssignment: 5 } as unknown as Cluster;
  assert.throws(() => clusterCodec.encode(bad), codecError('envoy.config.cluster.v3.Cluster', /object expected/));
});

test('unknown type names fail with ProtoUnknownType', () => {
  const unknown = (e: unknown): boolean => isIsthmusError(e, ErrorCodes.ProtoUnknownType) && e.message.includes('envoy.nope.v3.Thing');
  assert.throws(() => codec('envoy.nope.v3.Thing'), unknown);
  // An enum or a package is not a message type either.
  assert.throws(() => codec('envoy.config.core.v3.HealthStatus'), (e: unknown) => isIsthmusError(e, ErrorCodes.ProtoUnknownType));
  assert.throws(() => codec('envoy.config.core.v3'), (e: unknown) => isIsthmusError(e, ErrorCodes.ProtoUnknownType));
  assert.equal(codec('.envoy.config.core.v3.Node').typeName, 'envoy.config.core.v3.Node');
});

test('unpackAny refuses an Any of another type, naming both type URLs', () => {
  const any = packAny(listenerCodec, { name: 'x' });
  assert.throws(() => unpackAny(clusterCodec, any), (e: unknown) => {
    assert.ok(isIsthmusError(e, ErrorCodes.ProtoCodec));
    assert.match(e.message, /expected type URL type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster/);
    assert.match(e.message, /envoy\.config\.listener\.v3\.Listener/);
    return true;
  });
  assert.throws(() => unpackAny(clusterCodec, { typeUrl: 'envoy.config.cluster.v3.Cluster' }), (e: unknown) => isIsthmusError(e, ErrorCodes.ProtoCodec));
  // Garbage inside a well-labelled Any is caught when it is unpacked.
  assert.throws(() => unpackAny(clusterCodec, { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', value: bytes('0f') }), codecError('Cluster'));
});
