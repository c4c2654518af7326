import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { assembleCertChain } from './chain.ts';
import { decodePem, encodePem } from './pem.ts';

// Placeholder DER bodies: assembleCertChain only splits PEM, it does not parse certificates.
const pem = (n: number): string => encodePem(Buffer.alloc(48 + n, n), 'CERTIFICATE');
const LEAF = pem(1);
const INT1 = pem(2);
const INT2 = pem(3);
const ROOT_A = pem(4);
const ROOT_B = pem(5);

describe('assembleCertChain (docs/istio-compat.md §11.1)', () => {
  test('self-signed CA: [leaf, root]', () => {
    assert.deepEqual(assembleCertChain({ leafPem: LEAF, certChainPem: '', rootCertPem: ROOT_A }), [LEAF, ROOT_A]);
  });

  test('intermediates are split one per element, each ending with a newline; the root bundle stays whole and last', () => {
    // A hand-written bundle: CRLF, no trailing newline, two roots.
    const rootBundle = `${ROOT_A}${ROOT_B.trimEnd()}`;
    const chainFile = `${INT1.replaceAll('\n', '\r\n')}\n\n${INT2.trimEnd()}`;
    const out = assembleCertChain({ leafPem: LEAF, certChainPem: chainFile, rootCertPem: rootBundle });
    assert.deepEqual(out, [LEAF, INT1, INT2, rootBundle]);
    for (const el of out.slice(0, -1)) assert.ok(el.endsWith('-----END CERTIFICATE-----\n'));
  });

  test('garbage in the chain is an IsthmusError', () => {
    assert.throws(() => assembleCertChain({ leafPem: LEAF, certChainPem: 'nope', rootCertPem: ROOT_A }), (err: unknown) => isIsthmusError(err, ErrorCodes.CaKeyMaterial));
  });
});

function reason(r: ReturnType<typeof decodePem>): string {
  assert.equal(typeof r, 'string');
  return typeof r === 'string' ? r : '';
}

describe('decodePem', () => {
  test('decodes several blocks and re-encodes canonically', () => {
    const blocks = decodePem(`\n${LEAF}\n${ROOT_A}`);
    assert.ok(Array.isArray(blocks));
    assert.deepEqual(blocks.map((b) => encodePem(b.der, b.label)), [LEAF, ROOT_A]);
  });

  test('refuses headers, mismatched labels and truncated bodies', () => {
    assert.match(reason(decodePem('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n')), /has headers/);
    assert.match(reason(decodePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n')), /ends with "END X509 CRL"/);
    assert.match(reason(decodePem('-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n')), /truncated base64/);
    assert.match(reason(decodePem(`${LEAF}trailing`)), /unexpected text after the last PEM block/);
  });
});
