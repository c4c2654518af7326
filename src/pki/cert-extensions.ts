/**
 * The three extensions a CA certificate is checked by, read with the DER framing reader: whether
 * BasicConstraints says CA, whether KeyUsage (if present) allows keyCertSign, and the
 * SubjectKeyIdentifier; and the URIs of a SubjectAltName (a workload's SPIFFE id). Pure; errors
 * are IsthmusErrors naming `what`.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes, type ErrorCode } from '../model/errors.ts';
import { ctx, DerReader, oidToString, TAG, type Tlv } from './der.ts';

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_KEY_ID = '2.5.29.14';
const SUBJECT_ALT_NAME = '2.5.29.17';
/** GeneralName uniformResourceIdentifier: [6] IA5String, implicit. */
const SAN_URI = 0x86;
/** keyCertSign is KeyUsage bit 5: 0x04 in the first content byte. */
const KEY_CERT_SIGN = 0x04;

export interface CaExtensions {
  /** BasicConstraints present with cA TRUE. */
  readonly ca: boolean;
  /** KeyUsage absent (undefined), or whether it has keyCertSign. */
  readonly keyCertSign: boolean | undefined;
  /** SubjectKeyIdentifier as hex, if present. */
  readonly subjectKeyId: string | undefined;
}

/** The fields of a certificate's TBSCertificate. */
function tbsFields(der: DerReader): Tlv[] {
  const [tbs] = der.children(der.expect(0, TAG.SEQUENCE, 'Certificate'));
  if (!tbs) throw der.fail('no TBSCertificate');
  return der.children(tbs);
}

/** The subject Name (DER) of a certificate: the TBSCertificate field after version?, serial, signature, issuer, validity. */
export function subjectNameDer(certDer: Uint8Array, what: string): Uint8Array {
  const der = new DerReader(certDer, ErrorCodes.CaKeyMaterial, `${what}: malformed certificate`);
  const fields = tbsFields(der);
  const subject = fields[fields[0]?.tag === ctx(0) ? 5 : 4];
  if (subject?.tag !== TAG.SEQUENCE) throw der.fail('no subject Name');
  return der.raw(subject).slice();
}

function extensionValues(der: DerReader): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const wrapper = tbsFields(der).find((f) => f.tag === ctx(3));
  if (wrapper === undefined) return out;
  const [list] = der.children(wrapper);
  if (list?.tag !== TAG.SEQUENCE) throw der.fail('extensions are not a SEQUENCE');
  for (const ext of der.children(list)) {
    const parts = der.children(ext);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id?.tag !== TAG.OID || value?.tag !== TAG.OCTET_STRING) throw der.fail('malformed extension');
    const name = oidToString(der.content(id));
    if (out.has(name)) throw der.fail(`extension ${name} appears twice`);
    out.set(name, der.content(value));
  }
  return out;
}

/** The CA-relevant extensions of a DER certificate. */
export function caExtensions(certDer: Uint8Array, what: string): CaExtensions {
  const der = new DerReader(certDer, ErrorCodes.CaKeyMaterial, `${what}: malformed certificate`);
  const values = extensionValues(der);
  let ca = false;
  const bc = values.get(BASIC_CONSTRAINTS);
  if (bc !== undefined) {
    const r = new DerReader(bc, ErrorCodes.CaKeyMaterial, `${what}: malformed BasicConstraints`);
    const [first] = r.children(r.expect(0, TAG.SEQUENCE, 'BasicConstraints'));
    ca = first?.tag === TAG.BOOLEAN && r.content(first)[0] !== 0;
  }
  let keyCertSign: boolean | undefined;
  const ku = values.get(KEY_USAGE);
  if (ku !== undefined) {
    const r = new DerReader(ku, ErrorCodes.CaKeyMaterial, `${what}: malformed KeyUsage`);
    const bits = r.content(r.expect(0, TAG.BIT_STRING, 'KeyUsage'));
    keyCertSign = ((bits[1] ?? 0) & KEY_CERT_SIGN) !== 0;
  }
  let subjectKeyId: string | undefined;
  const ski = values.get(SUBJECT_KEY_ID);
  if (ski !== undefined) {
    const r = new DerReader(ski, ErrorCodes.CaKeyMaterial, `${what}: malformed SubjectKeyIdentifier`);
    subjectKeyId = Buffer.from(r.content(r.expect(0, TAG.OCTET_STRING, 'SubjectKeyIdentifier'))).toString('hex');
  }
  return { ca, keyCertSign, subjectKeyId };
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits of a SubjectPublicKeyInfo, as hex (what Go puts in a CA's SKI). */
export function keyIdFromSpki(spki: Uint8Array): string {
  const der = new DerReader(spki, ErrorCodes.CaKeyMaterial, 'malformed SubjectPublicKeyInfo');
  const parts = der.children(der.expect(0, TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const key = parts[1];
  if (key?.tag !== TAG.BIT_STRING) throw der.fail('no subjectPublicKey');
  // The first content byte counts the unused bits; the key identifier hashes the bits after it.
  return createHash('sha1').update(der.content(key).subarray(1)).digest('hex');
}

/** The URIs in a DER certificate's SubjectAltName (none when it has no SubjectAltName). */
export function uriSans(certDer: Uint8Array, code: ErrorCode, what: string): string[] {
  const der = new DerReader(certDer, code, `${what}: malformed certificate`);
  const san = extensionValues(der).get(SUBJECT_ALT_NAME);
  if (san === undefined) return [];
  const r = new DerReader(san, code, `${what}: malformed SubjectAltName`);
  return r.children(r.expect(0, TAG.SEQUENCE, 'SubjectAltName')).filter((n) => n.tag === SAN_URI).map((n) => Buffer.from(r.content(n)).toString('latin1'));
}
