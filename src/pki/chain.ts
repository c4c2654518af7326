/**
 * The `cert_chain` of an `IstioCertificateResponse` (docs/istio-compat.md §11.1): leaf first; then the CA's
 * cert chain split into one certificate per element, each ending with a newline; then the root bundle
 * as the final element, unsplit, so that a client can tell the root(s) apart. Agents treat a chain of
 * one element or fewer as an error.
 *
 * Like istiod, nothing is de-duplicated: a plug-in `cert-chain.pem` that already ends with the root
 * (as Istio's `tools/certs` Makefile writes it) makes the root appear twice.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { CaBundle } from './bundle.ts';
import { decodeCertificates, encodePem } from './pem.ts';

function splitCertificates(pem: string, what: string): string[] {
  if (pem.trim() === '') return [];
  const ders = decodeCertificates(pem);
  if (typeof ders === 'string') throw new IsthmusError(ErrorCodes.CaKeyMaterial, `${what}: ${ders}`);
  // encodePem ends every certificate with exactly one newline.
  return ders.map((der) => encodePem(der, 'CERTIFICATE'));
}

export interface ChainParts {
  readonly leafPem: string;
  /** Intermediates ('' for a self-signed CA). */
  readonly certChainPem: string;
  /** The root bundle, possibly several roots. */
  readonly rootCertPem: string;
}

/** Assembles `cert_chain` from PEM parts. */
export function assembleCertChain(parts: ChainParts): string[] {
  const out = [...splitCertificates(parts.leafPem, 'leaf'), ...splitCertificates(parts.certChainPem, 'cert chain')];
  if (parts.rootCertPem.trim() !== '') out.push(parts.rootCertPem);
  return out;
}

/** `cert_chain` for a leaf issued by `ca`. */
export function responseCertChain(ca: CaBundle, leafPem: string): string[] {
  return assembleCertChain({ leafPem, certChainPem: ca.certChainPem, rootCertPem: ca.rootCertPem });
}
