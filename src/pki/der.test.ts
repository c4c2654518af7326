import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { DerReader, oid, oidToString, positiveInteger, seq, TAG, tlv, x509Time } from './der.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('OIDs encode as X.690 says and decode back', () => {
  // ecdsa-with-SHA256, a well-known encoding.
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  for (const dotted of ['2.5.29.17', '1.2.840.113549.1.9.14', '1.3.6.1.5.5.7.3.2']) {
    assert.equal(oidToString(oid(dotted).subarray(2)), dotted);
  }
});

test('X.509 times: UTCTime through 2049, GeneralizedTime from 2050, seconds only', () => {
  assert.equal(Buffer.from(x509Time(new Date('2049-12-31T23:59:59.900Z'))).toString('latin1').slice(2), '491231235959Z');
  assert.equal(x509Time(new Date('2049-12-31T23:59:59Z'))[0], TAG.UTC_TIME);
  const g = x509Time(new Date('2050-01-01T00:00:00Z'));
  assert.equal(g[0], TAG.GENERALIZED_TIME);
  assert.equal(Buffer.from(g).toString('latin1').slice(2), '20500101000000Z');
});

test('positive INTEGERs are minimal and never negative', () => {
  assert.equal(hex(positiveInteger(new Uint8Array([0x00, 0x00, 0x7f]))), '02017f');
  assert.equal(hex(positiveInteger(new Uint8Array([0x80]))), '02020080');
});

test('long-form lengths round-trip through the reader', () => {
  const big = seq(tlv(TAG.OCTET_STRING, new Uint8Array(300)));
  assert.equal(hex(big.subarray(0, 4)), '3082' + (300 + 4).toString(16).padStart(4, '0'));
  const r = new DerReader(big, ErrorCodes.CsrInvalid, 'test');
  const [child] = r.children(r.read(0));
  assert.equal(child?.end, big.length);
  assert.throws(() => r.read(0, big.length - 1), (err: unknown) => isIsthmusError(err, ErrorCodes.CsrInvalid) && /truncated/.test(err.message));
});
