import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import type { SpiffeId } from '../model/ids.ts';
import { caExtensions, keyIdFromSpki, uriSans } from './cert-extensions.ts';
import { EC_P256_SHA256, generateEcKey } from './keys.ts';
import { generateRootCa } from './root.ts';
import { signLeaf } from './sign.ts';
import { x509 } from './x509-lib.ts';

const der = (pem: string): Buffer => new X509Certificate(pem).raw;

test('a generated root: CA, keyCertSign, and the SKI @peculiar/x509 reads', async () => {
  const ca = await generateRootCa({ org: 'cluster.local' });
  const ext = caExtensions(der(ca.certPem), 'ca-cert.pem');
  const peculiar = new x509.X509Certificate(ca.certPem);
  assert.equal(ext.ca, true);
  assert.equal(ext.keyCertSign, true);
  assert.equal(ext.subjectKeyId, peculiar.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.equal(ca.subjectKeyId, ext.subjectKeyId);
});

test('a workload leaf: not a CA, no keyCertSign, its SPIFFE URIs in order', async () => {
  const ca = await generateRootCa();
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ids = ['spiffe://cluster.local/ns/a/sa/one', 'spiffe://cluster.local/ns/b/sa/two'] as SpiffeId[];
  const leaf = signLeaf({ ca, publicKey: publicKey.export({ type: 'spki', format: 'der' }), identities: ids });
  const ext = caExtensions(der(leaf.certPem), 'leaf');
  assert.equal(ext.ca, false);
  assert.equal(ext.keyCertSign, false);
  assert.deepEqual(uriSans(der(leaf.certPem), ErrorCodes.AuthenticationFailed, 'leaf'), ids);
});

test('no KeyUsage, no SKI, no SAN: undefined, computed key id equal to @peculiar/x509\'s, no URIs', async () => {
  const { keys } = await generateEcKey();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'CN=bare', keys, signingAlgorithm: EC_P256_SHA256,
    notBefore: new Date(Date.now() - 1000), notAfter: new Date(Date.now() + 3_600_000),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example' }])],
  });
  const raw = new Uint8Array(cert.rawData);
  assert.deepEqual(caExtensions(raw, 'bare'), { ca: true, keyCertSign: undefined, subjectKeyId: undefined });
  assert.deepEqual(uriSans(raw, ErrorCodes.AuthenticationFailed, 'bare'), []);
  const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(keyIdFromSpki(spki), Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex'));
});

test('a malformed certificate is an IsthmusError with the caller\'s code naming the input', () => {
  const check = (err: unknown, code: string, what: string): boolean => isIsthmusError(err) && err.code === code && err.message.startsWith(what);
  assert.throws(() => caExtensions(new Uint8Array([0x30, 0x05, 0x01]), 'ca-cert.pem'), (e: unknown) => check(e, ErrorCodes.CaKeyMaterial, 'ca-cert.pem'));
  assert.throws(() => uriSans(new Uint8Array([0x04, 0x00]), ErrorCodes.AuthenticationFailed, 'client certificate'), (e: unknown) => check(e, ErrorCodes.AuthenticationFailed, 'client certificate'));
  assert.throws(() => keyIdFromSpki(new Uint8Array([0x30, 0x00])), (e: unknown) => check(e, ErrorCodes.CaKeyMaterial, 'malformed SubjectPublicKeyInfo'));
});
