import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { spiffeId } from '../model/ids.ts';
import { loadCaBundle, readCaDirectory, selfSignedSecretFiles } from './bundle.ts';
import type { CaFiles } from './bundle.ts';
import { responseCertChain } from './chain.ts';
import { parseCsr } from './csr.ts';
import { generateRootCa } from './root.ts';
import { signLeaf } from './sign.ts';
import { opensslCsr, opensslLeafCert, opensslPluggedCa, P256_ARGS, TempDir } from '../testing/pki/openssl.ts';
import type { PluggedCa } from '../testing/pki/openssl.ts';

const SLEEP = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep' });

async function rejectsWith(files: CaFiles, message: RegExp): Promise<void> {
  await assert.rejects(loadCaBundle(files), (err: unknown) => {
    assert.ok(isIsthmusError(err, ErrorCodes.CaKeyMaterial), `expected CaKeyMaterial, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

/** Signs a fresh openssl CSR with `files`' CA and returns the leaf, the response chain, and the dir. */
async function issueVia(dir: TempDir, files: CaFiles) {
  const ca = await loadCaBundle(files);
  const { csrPem } = await opensslCsr(dir, 'wl', P256_ARGS);
  const leaf = signLeaf({ ca, publicKey: parseCsr(csrPem).publicKey, identities: [SLEEP] });
  return { ca, leaf, chain: responseCertChain(ca, leaf.certPem) };
}

describe('plug-in cacerts (root -> intermediate -> leaf)', () => {
  let dir: TempDir;
  let plugged: PluggedCa;
  before(async () => {
    dir = await TempDir.create();
    plugged = await opensslPluggedCa(dir);
  });
  after(async () => { await dir.remove(); });

  test('loads, signs, and the 3-element chain verifies with openssl -untrusted', async () => {
    const { ca, leaf, chain } = await issueVia(dir, {
      'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': plugged.caKeyPem, 'cert-chain.pem': plugged.caCertPem, 'root-cert.pem': plugged.rootCertPem,
    });
    assert.equal(ca.layout, 'plugged');
    assert.equal(chain.length, 3);
    assert.equal(chain[0], leaf.certPem);
    assert.equal(new X509Certificate(chain[1] ?? '').subject, new X509Certificate(plugged.caCertPem).subject);
    assert.equal(chain[2], plugged.rootCertPem, 'root bundle is the last element, as given');
    for (const el of chain) assert.ok(el.endsWith('-----END CERTIFICATE-----\n'));

    await dir.write('leaf.pem', chain[0]);
    await dir.write('intermediates.pem', chain[1] ?? '');
    await dir.write('bundle-root.pem', chain[2]);
    const ok = await dir.openssl('verify', '-x509_strict', '-CAfile', 'bundle-root.pem', '-untrusted', 'intermediates.pem', 'leaf.pem');
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
    const noIntermediate = await dir.openssl('verify', '-x509_strict', '-CAfile', 'bundle-root.pem', 'leaf.pem');
    assert.notEqual(noIntermediate.code, 0, 'the leaf is signed by the intermediate, not the root');

    const leafCert = new X509Certificate(leaf.certPem);
    assert.ok(leafCert.checkIssued(new X509Certificate(plugged.caCertPem)));
    assert.ok(leafCert.verify(new X509Certificate(plugged.caCertPem).publicKey));
    assert.equal(leafCert.issuer, 'O=Istio\nCN=Intermediate CA\nL=cluster1');
  });

  test('a cert-chain.pem that ends with the root (Istio Makefile layout) yields the root twice, as istiod does', async () => {
    const { chain } = await issueVia(dir, {
      'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': plugged.caKeyPem, 'cert-chain.pem': plugged.caCertPem + plugged.rootCertPem, 'root-cert.pem': plugged.rootCertPem,
    });
    assert.equal(chain.length, 4);
    assert.equal(new X509Certificate(chain[2] ?? '').fingerprint256, new X509Certificate(plugged.rootCertPem).fingerprint256);
    assert.equal(chain[3], plugged.rootCertPem);
  });

  test('reads the layout from a directory', async () => {
    await dir.write('cert-chain.pem', plugged.caCertPem);
    const files = await readCaDirectory(dir.path);
    assert.deepEqual(Object.keys(files).sort(), ['ca-cert.pem', 'ca-key.pem', 'cert-chain.pem', 'root-cert.pem']);
    assert.equal((await loadCaBundle(files)).layout, 'plugged');
  });

  test('key/cert mismatch names ca-key.pem', async () => {
    const other = await generateRootCa();
    await rejectsWith(
      { 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': other.keyPem, 'cert-chain.pem': plugged.caCertPem, 'root-cert.pem': plugged.rootCertPem },
      /^ca-key\.pem: private key does not match the certificate in ca-cert\.pem$/,
    );
  });

  test('an intermediate without its root names the chain problem', async () => {
    const stranger = await generateRootCa();
    await rejectsWith(
      { 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': plugged.caKeyPem, 'cert-chain.pem': plugged.caCertPem, 'root-cert.pem': stranger.certPem },
      /^cert-chain\.pem: ca-cert\.pem does not chain to any certificate in root-cert\.pem through cert-chain\.pem$/,
    );
    await rejectsWith(
      { 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': plugged.caKeyPem },
      /^root-cert\.pem: missing: ca-cert\.pem is not self-signed/,
    );
  });

  test('a non-CA certificate, a missing or garbled file are named', async () => {
    const nonCa = await opensslLeafCert(dir, 'ca-cert.pem', 'ca-key.pem');
    await rejectsWith(
      { 'ca-cert.pem': nonCa.certPem, 'ca-key.pem': nonCa.keyPem, 'cert-chain.pem': plugged.caCertPem, 'root-cert.pem': plugged.rootCertPem },
      /^ca-cert\.pem: certificate is not a CA/,
    );
    await rejectsWith({ 'ca-key.pem': plugged.caKeyPem }, /^ca-cert\.pem: missing or empty$/);
    await rejectsWith({ 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': '' }, /^ca-key\.pem: missing or empty$/);
    await rejectsWith({ 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': 'garbage' }, /^ca-key\.pem: not a PEM private key/);
    await rejectsWith({ 'ca-cert.pem': plugged.caKeyPem, 'ca-key.pem': plugged.caKeyPem }, /^ca-cert\.pem: expected only CERTIFICATE blocks, found "PRIVATE KEY"$/);
    await rejectsWith(
      { 'ca-cert.pem': plugged.caCertPem, 'ca-key.pem': plugged.caKeyPem, 'root-cert.pem': plugged.rootCertPem.slice(0, 200) },
      /^root-cert\.pem: /,
    );
  });

  test('an RSA plug-in CA (as Istio tools/certs makes) signs leaves openssl accepts', async () => {
    const rsaDir = await TempDir.create();
    try {
      const rsa = await opensslPluggedCa(rsaDir, 'rsa');
      const { ca, chain } = await issueVia(rsaDir, {
        'ca-cert.pem': rsa.caCertPem, 'ca-key.pem': rsa.caKeyPem, 'cert-chain.pem': rsa.caCertPem, 'root-cert.pem': rsa.rootCertPem,
      });
      assert.deepEqual(ca.signingKey.kind, { type: 'rsa', bits: 2048 });
      await rsaDir.write('leaf.pem', chain[0] ?? '');
      await rsaDir.write('int.pem', chain[1] ?? '');
      const r = await rsaDir.openssl('verify', '-x509_strict', '-CAfile', 'root-cert.pem', '-untrusted', 'int.pem', 'leaf.pem');
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(await rsaDir.mustOpenssl('x509', '-in', 'leaf.pem', '-noout', '-text'), /Signature Algorithm: sha256WithRSAEncryption/);
    } finally {
      await rsaDir.remove();
    }
  });
});

describe('self-signed istio-ca-secret layout', () => {
  test('round-trips a generated root through ca-cert.pem / ca-key.pem', async () => {
    const root = await generateRootCa();
    const files = selfSignedSecretFiles(root);
    assert.deepEqual(Object.keys(files).sort(), ['ca-cert.pem', 'ca-key.pem']);
    const loaded = await loadCaBundle(files);
    assert.equal(loaded.layout, 'self-signed');
    assert.equal(loaded.rootCertPem, root.certPem);
    assert.equal(loaded.certChainPem, '');
    assert.equal(loaded.subjectKeyId, root.subjectKeyId);
  });

  test('expired CA material is refused', async () => {
    const past = new Date(Date.now() - 7200 * 1000);
    const old = await generateRootCa({ ttlSeconds: 3600, now: past });
    await rejectsWith(selfSignedSecretFiles(old), /^ca-cert\.pem: certificate O=cluster\.local expired at /);
  });
});
