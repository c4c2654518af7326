import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { spiffeId } from '../model/ids.ts';
import type { CaBundle } from './bundle.ts';
import { responseCertChain } from './chain.ts';
import { parseCsr } from './csr.ts';
import { EC_P256_SHA256 } from './keys.ts';
import { x509 } from './x509-lib.ts';
import { generateRootCa } from './root.ts';
import { DEFAULT_WORKLOAD_CERT_TTL_SECONDS, istiodDnsNames, MAX_WORKLOAD_CERT_TTL_SECONDS, signLeaf, signServer } from './sign.ts';
import { opensslCsr, P256_ARGS, TempDir } from '../testing/pki/openssl.ts';

const SLEEP = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep' });
const SECOND = 1000;

async function peculiarCsrKey(): Promise<Uint8Array> {
  const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: EC_P256_SHA256 });
  return parseCsr(csr.toString('pem')).publicKey;
}

describe('root CA and workload leaf', () => {
  let dir: TempDir;
  let ca: CaBundle;
  before(async () => {
    dir = await TempDir.create();
    ca = await generateRootCa({ org: 'cluster.local' });
    await dir.write('root.pem', ca.rootCertPem);
  });
  after(async () => { await dir.remove(); });

  test('the generated root is a self-signed ECDSA P-256 CA, O=cluster.local, 10 years, with SKI', async () => {
    const root = new X509Certificate(ca.rootCertPem);
    assert.equal(ca.layout, 'self-signed');
    assert.equal(root.ca, true);
    assert.equal(root.subject, 'O=cluster.local');
    assert.equal(root.issuer, 'O=cluster.local');
    assert.ok(root.checkIssued(root) && root.verify(root.publicKey));
    assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (root.validToDate.getTime() - root.validFromDate.getTime()) / (365 * 24 * 3600 * SECOND);
    assert.ok(years > 9.99 && years < 10.01, `validity ${years} years`);
    const text = await dir.mustOpenssl('x509', '-in', 'root.pem', '-noout', '-text');
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    assert.match(text, /Subject Key Identifier/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.equal(BigInt(`0x${root.serialNumber}`) > 0n, true);
  });

  test('signs an openssl CSR into a leaf that openssl -x509_strict and node:crypto accept', async () => {
    const { csrPem, keyPem } = await opensslCsr(dir, 'sleep', P256_ARGS);
    const csr = parseCsr(csrPem);
    const now = new Date();
    const leaf = signLeaf({ ca, publicKey: csr.publicKey, identities: [SLEEP], now });
    await dir.write('leaf.pem', leaf.certPem);

    const verify = await dir.openssl('verify', '-x509_strict', '-CAfile', 'root.pem', 'leaf.pem');
    assert.equal(verify.code, 0, verify.stderr + verify.stdout);
    assert.match(verify.stdout, /leaf\.pem: OK/);
    const purpose = await dir.openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-CAfile', 'root.pem', 'leaf.pem');
    assert.equal(purpose.code, 0, purpose.stderr);

    const root = new X509Certificate(ca.rootCertPem);
    const cert = new X509Certificate(leaf.certPem);
    assert.ok(cert.verify(root.publicKey), 'signature verifies with the root public key');
    assert.ok(cert.checkIssued(root), 'root issued the leaf');
    assert.equal(cert.ca, false);
    assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)), 'leaf carries the CSR public key');

    // Istio: SAN is exactly the caller identity, subject empty, serverAuth+clientAuth.
    assert.equal(cert.subjectAltName, 'URI:spiffe://cluster.local/ns/sample/sa/sleep');
    assert.ok(!cert.subject, 'subject is empty'); // node reports an empty Name as undefined
    assert.deepEqual([...cert.keyUsage].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);

    // Validity: backdated one minute for skew, default TTL 24h.
    assert.equal(cert.validFromDate.getTime(), Math.floor((now.getTime() - 60 * SECOND) / SECOND) * SECOND);
    assert.equal(cert.validToDate.getTime(), Math.floor((now.getTime() + DEFAULT_WORKLOAD_CERT_TTL_SECONDS * SECOND) / SECOND) * SECOND);

    const text = await dir.mustOpenssl('x509', '-in', 'leaf.pem', '-noout', '-text');
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Subject Alternative Name: critical\s+URI:spiffe:\/\/cluster\.local\/ns\/sample\/sa\/sleep\s/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.doesNotMatch(text, /CN\s*=/);

    // AKI of the leaf == SKI of the root.
    const aki = new x509.X509Certificate(leaf.certPem).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const ski = new x509.X509Certificate(ca.rootCertPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
    assert.ok(ski);
    assert.equal(aki, ski);
  });

  test('signs an RSA 2048 CSR (agent default) with the ECDSA CA; rejects a public key that is not SPKI', async () => {
    const { csrPem, keyPem } = await opensslCsr(dir, 'rsa', ['-newkey', 'rsa:2048']);
    const leaf = signLeaf({ ca, publicKey: parseCsr(csrPem).publicKey, identities: [SLEEP] });
    await dir.write('rsa-leaf.pem', leaf.certPem);
    const r = await dir.openssl('verify', '-x509_strict', '-CAfile', 'root.pem', 'rsa-leaf.pem');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(new X509Certificate(leaf.certPem).checkPrivateKey(createPrivateKey(keyPem)));
    assert.throws(() => signLeaf({ ca, publicKey: new Uint8Array([0x30, 0x00]), identities: [SLEEP] }), (err: unknown) => isIsthmusError(err, ErrorCodes.CsrInvalid));
  });

  test('signs a @peculiar/x509 CSR with several identities and the requested TTL', async () => {
    const other = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'curl' });
    const now = new Date();
    const leaf = signLeaf({ ca, publicKey: await peculiarCsrKey(), identities: [SLEEP, other], ttlSeconds: 3600, now });
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.subjectAltName, `URI:${SLEEP}, URI:${other}`);
    assert.equal(cert.validToDate.getTime(), Math.floor((now.getTime() + 3600 * SECOND) / SECOND) * SECOND);
    assert.deepEqual(responseCertChain(ca, leaf.certPem), [leaf.certPem, ca.rootCertPem]);
  });

  test('TTL: non-positive means the default, above the 90-day max is refused, exactly the max is fine', async () => {
    const key = await peculiarCsrKey();
    const now = new Date();
    const zero = new X509Certificate((signLeaf({ ca, publicKey: key, identities: [SLEEP], ttlSeconds: 0, now })).certPem);
    assert.equal(zero.validToDate.getTime() - Math.floor(now.getTime() / SECOND) * SECOND, DEFAULT_WORKLOAD_CERT_TTL_SECONDS * SECOND);
    signLeaf({ ca, publicKey: key, identities: [SLEEP], ttlSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS, now });
    assert.throws(() => signLeaf({ ca, publicKey: key, identities: [SLEEP], ttlSeconds: MAX_WORKLOAD_CERT_TTL_SECONDS + 1 }), (err: unknown) => {
      assert.ok(isIsthmusError(err, ErrorCodes.CertTtlInvalid));
      assert.match(err.message, /greater than the max allowed TTL 7776000s/);
      return true;
    });
  });

  test('a leaf never outlives its CA; an expired CA issues nothing', async () => {
    const now = new Date();
    const shortCa = await generateRootCa({ ttlSeconds: 600, now });
    const leaf = signLeaf({ ca: shortCa, publicKey: await peculiarCsrKey(), identities: [SLEEP], ttlSeconds: 3600, now });
    assert.equal(new X509Certificate(leaf.certPem).validToDate.getTime(), new X509Certificate(shortCa.certPem).validToDate.getTime());
    const key = await peculiarCsrKey();
    assert.throws(
      () => signLeaf({ ca: shortCa, publicKey: key, identities: [SLEEP], now: new Date(now.getTime() + 601 * SECOND) }),
      (err: unknown) => isIsthmusError(err, ErrorCodes.CaKeyMaterial) && /expired/.test(err.message),
    );
  });

  test('refuses to sign without an identity', async () => {
    const key = await peculiarCsrKey();
    assert.throws(() => signLeaf({ ca, publicKey: key, identities: [] }), (err: unknown) => isIsthmusError(err, ErrorCodes.InvalidId));
  });
});

describe('control plane serving certificate', () => {
  test('istiodDnsNames gives the docs/istio-compat.md §2.3 names, sorted, with revision and custom hosts', () => {
    assert.deepEqual(istiodDnsNames({ namespace: 'istio-system' }), [
      'istio-pilot.istio-system.svc', 'istiod-remote.istio-system.svc', 'istiod.istio-system.svc',
    ]);
    assert.deepEqual(istiodDnsNames({ namespace: 'istio-system', revision: 'default' }).length, 3);
    assert.deepEqual(istiodDnsNames({ namespace: 'external-istiod', revision: 'canary', customHosts: ['istiod.example.com', ''] }), [
      'istio-pilot.external-istiod.svc', 'istiod-canary.external-istiod.svc', 'istiod-remote.external-istiod.svc',
      'istiod.example.com', 'istiod.external-istiod.svc',
    ]);
  });

  test('signServer issues a serving cert that verifies for each name with openssl', async () => {
    const dir = await TempDir.create();
    try {
      const ca = await generateRootCa();
      const names = istiodDnsNames({ namespace: 'istio-system' });
      const server = await signServer({ ca, dnsNames: [...names, '10.0.0.7', 'fd00::a:7'] });
      await dir.write('root.pem', ca.rootCertPem);
      await dir.write('server.pem', server.certChainPem);
      const cert = new X509Certificate(server.certPem);
      assert.equal(cert.subjectAltName, 'DNS:istio-pilot.istio-system.svc, DNS:istiod-remote.istio-system.svc, DNS:istiod.istio-system.svc, IP Address:10.0.0.7, IP Address:FD00:0:0:0:0:0:A:7');
      assert.ok(cert.checkPrivateKey(createPrivateKey(server.keyPem)));
      assert.equal(createPublicKey(server.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
      for (const name of names) {
        const r = await dir.openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', name, '-CAfile', 'root.pem', 'server.pem');
        assert.equal(r.code, 0, `${name}: ${r.stderr}${r.stdout}`);
      }
      const ip = await dir.openssl('verify', '-x509_strict', '-verify_ip', 'fd00::a:7', '-CAfile', 'root.pem', 'server.pem');
      assert.equal(ip.code, 0, ip.stderr);
      const wrong = await dir.openssl('verify', '-x509_strict', '-verify_hostname', 'evil.istio-system.svc', '-CAfile', 'root.pem', 'server.pem');
      assert.notEqual(wrong.code, 0);
      await assert.rejects(signServer({ ca, dnsNames: ['bad name'] }), (err: unknown) => isIsthmusError(err, ErrorCodes.InvalidId));
    } finally {
      await dir.remove();
    }
  });
});
