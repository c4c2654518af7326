/**
 * Signing throughput of the CA core, printed (not a test): `node bench/ca-sign.ts [count]`.
 * CSRs (ECDSA P-256, as agents send them) are generated first; the timed part is what a
 * CreateCertificate call costs in the CA: parse + verify the CSR, sign the leaf, assemble the chain.
 */
import { webcrypto } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { spiffeId } from '../src/model/ids.ts';
import { responseCertChain } from '../src/pki/chain.ts';
import { parseCsr } from '../src/pki/csr.ts';
import { EC_P256_SHA256 } from '../src/pki/keys.ts';
import { x509 } from '../src/pki/x509-lib.ts';
import { generateRootCa } from '../src/pki/root.ts';
import { signLeaf } from '../src/pki/sign.ts';

const count = Number(process.argv[2] ?? 200);
const identity = spiffeId({ trustDomain: 'cluster.local', namespace: 'sample', serviceAccount: 'sleep' });
const ca = await generateRootCa();

const csrs: string[] = [];
for (let i = 0; i < count; i++) {
  const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: EC_P256_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }])],
  });
  csrs.push(csr.toString('pem'));
}

// Warm-up (JIT, WebCrypto key import caches).
for (const pem of csrs.slice(0, 20)) {
  signLeaf({ ca, publicKey: parseCsr(pem).publicKey, identities: [identity] });
}

let parseMs = 0;
let signMs = 0;
const t0 = performance.now();
for (const pem of csrs) {
  const a = performance.now();
  const csr = parseCsr(pem);
  const b = performance.now();
  const leaf = signLeaf({ ca, publicKey: csr.publicKey, identities: [identity] });
  responseCertChain(ca, leaf.certPem);
  const c = performance.now();
  parseMs += b - a;
  signMs += c - b;
}
const total = performance.now() - t0;
console.log(`CSRs: ${count} (ECDSA P-256 CSR, ECDSA P-256 CA), sequential`);
console.log(`parse+verify CSR: ${(parseMs / count).toFixed(3)} ms/CSR`);
console.log(`sign leaf + chain: ${(signMs / count).toFixed(3)} ms/CSR`);
console.log(`total: ${(total / count).toFixed(3)} ms/CSR (${Math.round((count * 1000) / total)} signings/s on one core)`);
