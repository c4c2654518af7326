/**
 * Key handling shared by the CA modules: classifying public keys, importing the CA signing key,
 * generating ECDSA P-256 keys, serial numbers and key identifiers.
 *
 * Nothing here loads `@peculiar/x509` (see x509-lib.ts): leaves are built with `der.ts` and signed
 * with node:crypto (see sign.ts).
 */
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { oid, seq, TAG, tlv } from './der.ts';
import { encodePem } from './pem.ts';

/** Smallest RSA modulus accepted anywhere (CSRs and CA keys). */
export const MIN_RSA_BITS = 2048;
/** Largest RSA modulus accepted (bounds the cost of verifying a hostile CSR). */
export const MAX_RSA_BITS = 8192;

/** ECDSA P-256 with SHA-256: the algorithm of every key this CA generates. */
export const EC_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export type KeyKind =
  | { readonly type: 'ec'; readonly curve: 'P-256' | 'P-384' }
  | { readonly type: 'rsa'; readonly bits: number };

export function describeKind(kind: KeyKind): string {
  return kind.type === 'ec' ? `ECDSA ${kind.curve}` : `RSA ${kind.bits}`;
}

const CURVES: Readonly<Record<string, 'P-256' | 'P-384'>> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/**
 * Classifies a key, or returns why it is unsupported: ECDSA P-256 / P-384 (what Istio agents send with
 * `ECC_SIGNATURE_ALGORITHM=ECDSA`, P-384 with `ECC_CURVE=P384`) or RSA 2048-8192 (the agents' default).
 */
export function classifyKey(key: KeyObject): KeyKind | string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[details.namedCurve ?? ''];
    return curve ? { type: 'ec', curve } : `unsupported EC curve ${details.namedCurve ?? '(unknown)'} (want P-256 or P-384)`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) return `RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})`;
    if (bits > MAX_RSA_BITS) return `RSA key of ${bits} bits is too large (maximum ${MAX_RSA_BITS})`;
    return { type: 'rsa', bits };
  }
  return `unsupported key type ${key.asymmetricKeyType ?? '(unknown)'} (want ECDSA or RSA)`;
}

/** Signature algorithm for a CA key: SHA-256, or SHA-384 on P-384 as Go picks. */
function signatureFor(kind: KeyKind): { oid: string; hash: string; rsa: boolean } {
  if (kind.type === 'rsa') return { oid: '1.2.840.113549.1.1.11', hash: 'sha256', rsa: true };
  return kind.curve === 'P-384'
    ? { oid: '1.2.840.10045.4.3.3', hash: 'sha384', rsa: false }
    : { oid: '1.2.840.10045.4.3.2', hash: 'sha256', rsa: false };
}

export interface SigningKey {
  readonly kind: KeyKind;
  readonly privateKey: KeyObject;
  /** node:crypto digest name for `crypto.sign`. */
  readonly hash: string;
  /** DER AlgorithmIdentifier of the signatures this key makes (RSA carries NULL parameters). */
  readonly algorithmIdentifier: Uint8Array;
  /** SubjectPublicKeyInfo (DER) of the matching public key. */
  readonly spki: Buffer;
  /** The key as PKCS#8 PEM (what `ca-key.pem` holds after a self-signed root is generated). */
  readonly pkcs8Pem: string;
}

/**
 * Imports a PEM private key (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
 * Returns a reason string when it cannot be used, for the caller to wrap with the file name.
 */
export function importSigningKey(pem: string): SigningKey | string {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return /passphrase/i.test(msg) ? 'private key is encrypted (a passphrase is not supported)' : `not a PEM private key (${msg})`;
  }
  const kind = classifyKey(key);
  if (typeof kind === 'string') return kind;
  const sig = signatureFor(kind);
  return {
    kind,
    privateKey: key,
    hash: sig.hash,
    algorithmIdentifier: sig.rsa ? seq(oid(sig.oid), tlv(TAG.NULL)) : seq(oid(sig.oid)),
    spki: createPublicKey(key).export({ type: 'spki', format: 'der' }),
    pkcs8Pem: encodePem(key.export({ type: 'pkcs8', format: 'der' }), 'PRIVATE KEY'),
  };
}

export interface GeneratedKey {
  readonly keys: webcrypto.CryptoKeyPair;
  readonly pkcs8Pem: string;
}

/** A fresh ECDSA P-256 key pair (extractable, so the private key can be written out as PKCS#8 PEM). */
export async function generateEcKey(): Promise<GeneratedKey> {
  const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keys, pkcs8Pem: encodePem(pkcs8, 'PRIVATE KEY') };
}

/**
 * A random positive 128-bit serial number as hex, as Istio draws it (`rand.Int` below 2^128). The top
 * bit is cleared so the DER INTEGER needs no sign padding, and the first byte is never zero.
 */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

