/**
 * The self-signed root CA istiod creates when no plug-in `cacerts` exist (stored as `istio-ca-secret`).
 * Like Istio's: subject `O=<trust domain>`, 10-year validity (`CITADEL_SELF_SIGNED_CA_CERT_TTL`), random
 * 128-bit serial. Unlike Istio's default RSA root it is ECDSA P-256, and it carries KeyUsage
 * keyCertSign|cRLSign and a SubjectKeyIdentifier so `openssl verify -x509_strict` accepts the chain.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { loadCaBundle, CA_CERT_FILE, CA_KEY_FILE } from './bundle.ts';
import type { CaBundle } from './bundle.ts';
import { EC_P256_SHA256, generateEcKey, randomSerial } from './keys.ts';

const DAY_SECONDS = 24 * 3600;

/** Validity of a generated root (Istio's `CITADEL_SELF_SIGNED_CA_CERT_TTL` default, 3650 days). */
export const SELF_SIGNED_CA_CERT_TTL_SECONDS = 3650 * DAY_SECONDS;
/** Longest root validity we agree to generate. */
export const MAX_ROOT_CERT_TTL_SECONDS = 30 * 365 * DAY_SECONDS;
/** How far notBefore is moved into the past on every certificate we issue, for clock skew. */
export const CLOCK_SKEW_SECONDS = 60;
/** Istio's default organisation for the self-signed root: the trust domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface RootCaOptions {
  /** Subject organisation; istiod uses the mesh trust domain (default `cluster.local`). */
  readonly org?: string;
  readonly ttlSeconds?: number;
  readonly now?: Date;
}

/** Generates a self-signed ECDSA P-256 root and returns it loaded as a `self-signed` CaBundle. */
export async function generateRootCa(opts: RootCaOptions = {}): Promise<CaBundle> {
  const org = opts.org ?? DEFAULT_TRUST_DOMAIN;
  const ttl = opts.ttlSeconds ?? SELF_SIGNED_CA_CERT_TTL_SECONDS;
  if (org.length === 0 || org.length > 64) {
    throw new IsthmusError(ErrorCodes.CaKeyMaterial, `root CA organisation must be 1-64 characters, got ${JSON.stringify(org)}`);
  }
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > MAX_ROOT_CERT_TTL_SECONDS) {
    throw new IsthmusError(ErrorCodes.CertTtlInvalid, `root CA TTL must be 1..${MAX_ROOT_CERT_TTL_SECONDS} seconds, got ${ttl}`);
  }
  const now = opts.now ?? new Date();
  const { x509 } = await import('./x509-lib.ts');
  const { keys, pkcs8Pem } = await generateEcKey();
  const name = new x509.Name([{ '2.5.4.10': [org] }]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter: new Date(now.getTime() + ttl * 1000),
    keys,
    signingAlgorithm: EC_P256_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return loadCaBundle({ [CA_CERT_FILE]: cert.toString('pem'), [CA_KEY_FILE]: pkcs8Pem }, { now });
}
