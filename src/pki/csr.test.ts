import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, KeyObject, randomBytes, sign, webcrypto } from 'node:crypto';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { spiffeId } from '../model/ids.ts';
import { checkRequestedIdentities, parseCsr } from './csr.ts';
import { MAX_CSR_BYTES } from './csr-limits.ts';
import { EC_P256_SHA256 } from './keys.ts';
import { x509 } from './x509-lib.ts';
import { bitString, DerReader, seq, TAG } from './der.ts';
import { encodePem } from './pem.ts';
import { opensslCsr, P256_ARGS, TempDir } from '../testing/pki/openssl.ts';

const SLEEP = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep' });

async function peculiarCsr(opts: { keys?: webcrypto.CryptoKeyPair; alg?: webcrypto.Algorithm; uris?: string[] } = {}): Promise<string> {
  const alg = opts.alg ?? EC_P256_SHA256;
  const keys = opts.keys ?? (await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']));
  const extensions = opts.uris ? [new x509.SubjectAlternativeNameExtension(opts.uris.map((value) => ({ type: 'url' as const, value })))] : [];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, extensions });
  return csr.toString('pem');
}

function rejects(pem: string, message: RegExp): void {
  assert.throws(() => parseCsr(pem), (err: unknown) => {
    assert.ok(isIsthmusError(err, ErrorCodes.CsrInvalid), `expected CsrInvalid, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

/** DER of a PEM CSR with one byte XOR-ed at `fromEnd` bytes before the end (inside the signature). */
function flipSignatureByte(pem: string, fromEnd = 1): string {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  const i = der.length - fromEnd;
  der[i] = (der[i] ?? 0) ^ 0x01;
  return encodePem(der, 'CERTIFICATE REQUEST');
}

describe('parseCsr', () => {
  let dir: TempDir;
  before(async () => { dir = await TempDir.create(); });
  after(async () => { await dir.remove(); });

  test('accepts an ECDSA P-256 CSR from @peculiar/x509 and exposes its key and requested URI SAN', async () => {
    const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
    const csr = parseCsr(await peculiarCsr({ keys, uris: [SLEEP] }));
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    assert.deepEqual(Buffer.from(csr.publicKey), spki);
    assert.deepEqual(csr.keyKind, { type: 'ec', curve: 'P-256' });
    assert.deepEqual(csr.requestedUris, ['spiffe://cluster.local/ns/sample/sa/sleep']);
    assert.deepEqual(csr.requestedDnsNames, []);
  });

  test('accepts an openssl ECDSA P-256 CSR with an empty subject', async () => {
    const { csrPem, keyPem } = await opensslCsr(dir, 'ec', P256_ARGS);
    const csr = parseCsr(csrPem);
    const expected = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    assert.deepEqual(Buffer.from(csr.publicKey), expected);
    assert.equal(csr.hasSubject, false);
    assert.deepEqual(csr.requestedUris, []);
  });

  test('accepts an openssl RSA 2048 CSR (the Istio agent default key)', async () => {
    const { csrPem } = await opensslCsr(dir, 'rsa', ['-newkey', 'rsa:2048'], ['-addext', `subjectAltName=URI:${SLEEP},DNS:sleep.sample.svc`]);
    const csr = parseCsr(csrPem);
    assert.deepEqual(csr.keyKind, { type: 'rsa', bits: 2048 });
    assert.deepEqual(csr.requestedUris, [SLEEP]);
    assert.deepEqual(csr.requestedDnsNames, ['sleep.sample.svc']);
  });

  test('rejects a CSR whose signature was tampered with', async () => {
    rejects(flipSignatureByte(await peculiarCsr()), /signature does not verify/);
    const { csrPem } = await opensslCsr(dir, 'flip', P256_ARGS);
    rejects(flipSignatureByte(csrPem), /signature/);
  });

  test('rejects a CSR signed by another key than the one it carries', async () => {
    const carried = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
    const signer = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
    rejects(await peculiarCsr({ keys: { publicKey: carried.publicKey, privateKey: signer.privateKey } }), /signature does not verify with the CSR public key/);
  });

  test('rejects a correctly signed CSR of version 2 and one whose SubjectAltName is not DER', async () => {
    const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
    const good = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: EC_P256_SHA256 });
    const r = new DerReader(new Uint8Array(good.rawData), ErrorCodes.CsrInvalid, 'test');
    const [info, alg] = r.children(r.expect(0, TAG.SEQUENCE, 'CertificationRequest'));
    assert.ok(info && alg);
    const version = r.children(info)[0];
    assert.ok(version);
    const patched = Buffer.from(r.raw(info));
    patched[version.body - info.start] = 1;
    const resigned = seq(patched, r.raw(alg), bitString(sign('sha256', patched, KeyObject.from(keys.privateKey))));
    rejects(encodePem(resigned, 'CERTIFICATE REQUEST'), /version must be 0/);
    const badSan = new x509.Extension('2.5.29.17', false, new Uint8Array([1, 2, 3]).buffer);
    const withBadSan = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: EC_P256_SHA256, extensions: [badSan] });
    rejects(withBadSan.toString('pem'), /malformed requested extensions/);
  });

  test('rejects a CSR whose DER is garbage, inside a well-formed outer SEQUENCE or not', () => {
    for (let i = 0; i < 20; i++) {
      rejects(encodePem(randomBytes(300), 'CERTIFICATE REQUEST'), /not a DER-encoded PKCS#10 CertificationRequest|CertificationRequest/);
      const inner = randomBytes(300);
      rejects(encodePem(Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x2c]), inner]), 'CERTIFICATE REQUEST'), /invalid CSR: /);
    }
    // Three elements of the right types, but nothing inside is a request.
    const junk = seq(seq(Buffer.from([2, 1, 0])), seq(Buffer.from([6, 1, 0])), bitString(Buffer.from([1, 2, 3])));
    rejects(encodePem(junk, 'CERTIFICATE REQUEST'), /not a PKCS#10 CertificationRequest/);
  });

  test('rejects an RSA 1024 CSR', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) };
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    rejects(await peculiarCsr({ keys, alg }), /RSA key of 1024 bits is too small \(minimum 2048\)/);
  });

  test('rejects unsupported key types and curves', async () => {
    rejects((await opensslCsr(dir, 'ed', ['-newkey', 'ed25519'])).csrPem, /unsupported key type ed25519/);
    rejects((await opensslCsr(dir, 'p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521'])).csrPem, /unsupported EC curve secp521r1/);
  });

  test('rejects a SHA-1 signed CSR', async () => {
    const { csrPem } = await opensslCsr(dir, 'sha1', P256_ARGS, ['-sha1']);
    rejects(csrPem, /signature algorithm ecdsa-with-SHA1 \(1\.2\.840\.10045\.4\.1\) is not accepted/);
  });

  test('rejects oversized input before parsing it', async () => {
    const big = (await peculiarCsr()) + ' '.repeat(MAX_CSR_BYTES);
    rejects(big, /exceeds the 65536-byte limit/);
  });

  test('rejects malformed PEM and DER', async () => {
    const good = await peculiarCsr();
    rejects('', /no PEM block found/);
    rejects('hello', /no PEM block found/);
    rejects(good.replace(/-----END CERTIFICATE REQUEST-----\s*$/, ''), /no PEM block found/);
    rejects(`junk\n${good}`, /unexpected text before/);
    rejects(good + good, /exactly one PEM block, found 2/);
    rejects(good.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE'), /"CERTIFICATE", expected "CERTIFICATE REQUEST"/);
    rejects(good.replace(/\n([A-Za-z0-9+/]{4})/, '\n$1*'), /outside base64/);
    const der = (hex: string): string => encodePem(Buffer.from(hex, 'hex'), 'CERTIFICATE REQUEST');
    rejects(der('30030201ff'), /CertificationRequest must have exactly 3 elements/);
    rejects(der('3010020100'), /not a DER-encoded PKCS#10 CertificationRequest: truncated ASN.1 element at offset 0/);
    rejects(der('3080020100'), /indefinite length/);
    const goodDer = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    rejects(encodePem(Buffer.concat([goodDer, Buffer.from([0])]), 'CERTIFICATE REQUEST'), /1 bytes of trailing data/);
  });
});

describe('checkRequestedIdentities', () => {
  test('accepts a CSR with no URI SANs or with the caller identity; refuses another identity', async () => {
    checkRequestedIdentities(parseCsr(await peculiarCsr()), [SLEEP]);
    checkRequestedIdentities(parseCsr(await peculiarCsr({ uris: [SLEEP] })), [SLEEP]);
    const other = parseCsr(await peculiarCsr({ uris: ['spiffe://cluster.local/ns/istio-system/sa/istiod'] }));
    assert.throws(() => { checkRequestedIdentities(other, [SLEEP]); }, (err: unknown) => {
      assert.ok(isIsthmusError(err, ErrorCodes.CsrIdentityMismatch));
      assert.match(err.message, /ns\/istio-system\/sa\/istiod.*caller is "spiffe:\/\/cluster.local\/ns\/sample\/sa\/sleep"/);
      return true;
    });
  });
});
