/**
 * PKCS#10 CSRs as Istio agents send them in `IstioCertificateRequest.csr`: one PEM `CERTIFICATE REQUEST`,
 * ECDSA P-256 (or P-384) or RSA >= 2048, self-signed with SHA-256/384/512.
 *
 * Like istiod we use only the public key: the CA decides subject and SANs from the authenticated caller
 * (docs/istio-compat.md §11.1). The SANs the CSR asks for are exposed so that a server can choose to refuse a
 * CSR asking for somebody else's identity (`checkRequestedIdentities`); istiod itself does not refuse.
 *
 * Untrusted input: the request (subject, public key, attributes, requested SANs) is parsed by
 * `@peculiar/x509`. Only the signed envelope, `SEQUENCE { info, algorithm, signature }`, is split by the
 * DER framing reader, for the exact bytes the signature covers and precise errors on broken framing
 * (truncated, indefinite length, trailing data); the self-signature is checked with node:crypto.
 */
import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import type { SpiffeId } from '../model/ids.ts';
import { DerReader, oidToString, TAG } from './der.ts';
import { classifyKey, describeKind } from './keys.ts';
import { x509 } from './x509-lib.ts';
import type { KeyKind } from './keys.ts';
import { decodePem } from './pem.ts';
import { MAX_CSR_BYTES } from './csr-limits.ts';


const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

const SUBJECT_ALT_NAME = '2.5.29.17';

/** Accepted CSR signature algorithms: OID -> key type and node:crypto digest. */
const SIGNATURES: Readonly<Record<string, { readonly key: KeyKind['type']; readonly hash: string; readonly name: string }>> = {
  '1.2.840.10045.4.3.2': { key: 'ec', hash: 'sha256', name: 'ecdsa-with-SHA256' },
  '1.2.840.10045.4.3.3': { key: 'ec', hash: 'sha384', name: 'ecdsa-with-SHA384' },
  '1.2.840.10045.4.3.4': { key: 'ec', hash: 'sha512', name: 'ecdsa-with-SHA512' },
  '1.2.840.113549.1.1.11': { key: 'rsa', hash: 'sha256', name: 'sha256WithRSAEncryption' },
  '1.2.840.113549.1.1.12': { key: 'rsa', hash: 'sha384', name: 'sha384WithRSAEncryption' },
  '1.2.840.113549.1.1.13': { key: 'rsa', hash: 'sha512', name: 'sha512WithRSAEncryption' },
};
const REFUSED_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.3.101.112': 'Ed25519',
};

export interface ParsedCsr {
  /** SubjectPublicKeyInfo (DER): the only part of the CSR that goes into the certificate. */
  readonly publicKey: Uint8Array;
  readonly keyKind: KeyKind;
  /** Whether the CSR's subject is non-empty (ignored when signing, as by istiod). */
  readonly hasSubject: boolean;
  /** URI SANs the CSR asks for (Istio agents put their SPIFFE id here). */
  readonly requestedUris: readonly string[];
  /** DNS SANs the CSR asks for. */
  readonly requestedDnsNames: readonly string[];
}

/** The parsed request, plus the version field @peculiar/x509 parses but does not expose. */
class Request extends x509.Pkcs10CertificateRequest {
  get version(): number {
    return this.asn.certificationRequestInfo.version;
  }
}

function invalid(why: string, cause?: unknown): IsthmusError {
  return new IsthmusError(ErrorCodes.CsrInvalid, `invalid CSR: ${why}`, cause === undefined ? undefined : { cause });
}

/**
 * Parses and verifies a PEM CSR. Throws `CsrInvalid` with a precise message for oversized input,
 * malformed PEM or DER, unsupported key types or sizes, unsupported signature algorithms and bad
 * self-signatures.
 */
export function parseCsr(pem: string): ParsedCsr {
  if (pem.length > MAX_CSR_BYTES) throw invalid(`${pem.length} bytes exceeds the ${MAX_CSR_BYTES}-byte limit`);
  const blocks = decodePem(pem);
  if (typeof blocks === 'string') throw invalid(blocks);
  const [block, extra] = blocks;
  if (!block || extra) throw invalid(`expected exactly one PEM block, found ${blocks.length}`);
  if (!CSR_LABELS.has(block.label)) throw invalid(`PEM block is "${block.label}", expected "CERTIFICATE REQUEST"`);

  const bytes = new Uint8Array(block.der);
  const der = new DerReader(bytes, ErrorCodes.CsrInvalid, 'invalid CSR: not a DER-encoded PKCS#10 CertificationRequest');
  const outer = der.expect(0, TAG.SEQUENCE, 'CertificationRequest');
  if (outer.end !== der.buf.length) throw invalid(`${der.buf.length - outer.end} bytes of trailing data after the CertificationRequest`);
  const [info, sigAlg, sigBits, more] = der.children(outer);
  if (!info || !sigAlg || !sigBits || more) throw invalid('CertificationRequest must have exactly 3 elements');
  if (info.tag !== TAG.SEQUENCE || sigAlg.tag !== TAG.SEQUENCE || sigBits.tag !== TAG.BIT_STRING) throw invalid('CertificationRequest elements have the wrong types');

  let csr: Request;
  try {
    csr = new Request(bytes);
  } catch (err) {
    throw invalid(`not a PKCS#10 CertificationRequest: ${errorMessage(err)}`, err);
  }
  if (csr.version !== 0) throw invalid('CertificationRequestInfo version must be 0 (v1)');

  const spkiDer = new Uint8Array(csr.publicKey.rawData);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (err) {
    throw invalid('subjectPKInfo does not parse as a public key', err);
  }
  const keyKind = classifyKey(key);
  if (typeof keyKind === 'string') throw invalid(keyKind);

  const algOid = der.children(sigAlg)[0];
  if (algOid?.tag !== TAG.OID) throw invalid('signatureAlgorithm has no OID');
  const dotted = oidToString(der.content(algOid));
  const alg = SIGNATURES[dotted];
  if (!alg) throw invalid(`signature algorithm ${REFUSED_NAMES[dotted] ?? 'unknown'} (${dotted}) is not accepted`);
  if (alg.key !== keyKind.type) throw invalid(`signature algorithm ${alg.name} does not fit a ${describeKind(keyKind)} key`);

  const sig = der.content(sigBits);
  if (sig[0] !== 0 || sig.length < 2) throw invalid('signature BIT STRING is empty or has unused bits');
  let ok: boolean;
  try {
    ok = verify(alg.hash, der.raw(info), key, sig.subarray(1));
  } catch (err) {
    throw invalid('signature is malformed', err);
  }
  if (!ok) throw invalid('signature does not verify with the CSR public key');

  const { uris, dns } = requestedSans(csr);
  return { publicKey: spkiDer, keyKind, hasSubject: csr.subjectName.toJSON().length > 0, requestedUris: uris, requestedDnsNames: dns };
}

/** The URI and DNS names of the SubjectAltName in the extensionRequest attribute, if any. */
function requestedSans(csr: Request): { uris: string[]; dns: string[] } {
  let ext: x509.Extension | null;
  try {
    ext = csr.getExtension(SUBJECT_ALT_NAME);
  } catch (err) {
    throw invalid(`malformed requested extensions: ${errorMessage(err)}`, err);
  }
  if (ext !== null && !(ext instanceof x509.SubjectAlternativeNameExtension)) throw invalid('malformed SubjectAltName');
  const san = ext;
  const uris: string[] = [];
  const dns: string[] = [];
  for (const name of san?.names.items ?? []) {
    if (name.type === 'url') uris.push(name.value);
    else if (name.type === 'dns') dns.push(name.value);
  }
  return { uris, dns };
}

/**
 * Refuses a CSR that asks for a URI SAN other than the caller's identities. A CSR with no URI SANs is
 * accepted (only the public key is used). Throws `CsrIdentityMismatch`.
 *
 * Note: istiod does not do this (it overwrites the SANs, docs/istio-compat.md §11.1); servers that want strict Istio
 * behaviour can skip this check.
 */
export function checkRequestedIdentities(csr: ParsedCsr, identities: readonly SpiffeId[]): void {
  const allowed = new Set<string>(identities);
  const foreign = csr.requestedUris.filter((u) => !allowed.has(u));
  if (foreign.length > 0) {
    throw new IsthmusError(
      ErrorCodes.CsrIdentityMismatch,
      `CSR asks for ${foreign.map((u) => JSON.stringify(u)).join(', ')} but the caller is ${identities.map((i) => JSON.stringify(i)).join(', ') || '(no identity)'}`,
    );
  }
}
