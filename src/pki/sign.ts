/**
 * Issuing certificates: workload leaves from a CSR's public key (what `CreateCertificate` returns) and
 * the control plane's own serving certificate.
 *
 * Leaves follow istiod's template (`security/pkg/pki/util/generate_cert.go`): empty subject, critical
 * SubjectAltName holding the identities, KeyUsage digitalSignature|keyEncipherment (critical),
 * ExtKeyUsage serverAuth+clientAuth, BasicConstraints CA:FALSE (critical), AuthorityKeyIdentifier = the
 * CA's SKI, random 128-bit serial. TTL rules are istiod's: a non-positive request gets the default
 * (`DEFAULT_WORKLOAD_CERT_TTL`, 24h), a request above the maximum (`MAX_WORKLOAD_CERT_TTL`, 90 days) is
 * refused. Two deliberate differences: notBefore is backdated by `CLOCK_SKEW_SECONDS`, and notAfter
 * never exceeds the CA's own notAfter.
 *
 * The TBSCertificate is encoded directly (`der.ts`) from parts precomputed per CA and signed with a
 * synchronous `crypto.sign`: ~0.3 ms per leaf against ~3 ms through @peculiar/x509's object model.
 */
import { createPublicKey, sign, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { SpiffeId } from '../model/ids.ts';
import type { CaBundle } from './bundle.ts';
import { ascii, bitString, ctx, ctxPrim, extension, oid, positiveInteger, seq, TAG, tlv, x509Time } from './der.ts';
import { classifyKey, generateEcKey, randomSerial } from './keys.ts';
import { encodePem } from './pem.ts';
import { CLOCK_SKEW_SECONDS, SELF_SIGNED_CA_CERT_TTL_SECONDS } from './root.ts';

/** Istio's `DEFAULT_WORKLOAD_CERT_TTL`. */
export const DEFAULT_WORKLOAD_CERT_TTL_SECONDS = 24 * 3600;
/** Istio's `MAX_WORKLOAD_CERT_TTL`. */
export const MAX_WORKLOAD_CERT_TTL_SECONDS = 90 * 24 * 3600;
/** istiod signs its own serving certificate with `SelfSignedCACertTTL` (10 years), capped by the CA. */
export const DEFAULT_SERVER_CERT_TTL_SECONDS = SELF_SIGNED_CA_CERT_TTL_SECONDS;

export interface IssuedCert {
  readonly certPem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** A SubjectAltName entry. */
export interface San {
  readonly type: 'uri' | 'dns' | 'ip';
  readonly value: string;
}

interface IssueParams {
  readonly ca: CaBundle;
  /** SubjectPublicKeyInfo (DER). */
  readonly publicKey: Uint8Array;
  readonly sans: readonly San[];
  readonly ttlSeconds: number;
  readonly now: Date;
}

const OID_KEY_USAGE = '2.5.29.15';
const OID_EXT_KEY_USAGE = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The parts of every leaf that depend only on the CA, built once per CaBundle. */
interface LeafTemplate {
  readonly version: Uint8Array;
  readonly staticExtensions: Uint8Array;
}
const templates = new WeakMap<CaBundle, LeafTemplate>();

function leafTemplate(ca: CaBundle): LeafTemplate {
  let t = templates.get(ca);
  if (!t) {
    t = {
      version: tlv(ctx(0), tlv(TAG.INTEGER, new Uint8Array([2]))),
      staticExtensions: concat([
        // digitalSignature (bit 0) | keyEncipherment (bit 2): 0b101 in the top bits, 5 unused bits.
        extension(OID_KEY_USAGE, true, bitString(new Uint8Array([0xa0]), 5)),
        extension(OID_EXT_KEY_USAGE, false, seq(oid(EKU_SERVER_AUTH), oid(EKU_CLIENT_AUTH))),
        extension(OID_BASIC_CONSTRAINTS, true, seq()),
        extension(OID_AUTHORITY_KEY_ID, false, seq(tlv(ctxPrim(0), Buffer.from(ca.subjectKeyId, 'hex')))),
      ]),
    };
    templates.set(ca, t);
  }
  return t;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function generalName(san: San): Uint8Array {
  switch (san.type) {
    case 'uri': return tlv(ctxPrim(6), ascii(san.value));
    case 'dns': return tlv(ctxPrim(2), ascii(san.value));
    case 'ip': return tlv(ctxPrim(7), ipBytes(san.value));
  }
}

/** Address bytes of an IP literal already accepted by `isIP` (IPv6 `::` and a dotted IPv4 tail expanded). */
function ipBytes(ip: string): Uint8Array {
  if (isIP(ip) === 4) return Uint8Array.from(ip.split('.').map(Number));
  let s = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Uint8Array.from(groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; }));
}

/** Whole seconds, as X.509 times carry them. */
const toSecond = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

function issue(p: IssueParams): IssuedCert {
  const { ca, now } = p;
  if (now.getTime() >= ca.notAfter.getTime()) {
    throw new IsthmusError(ErrorCodes.CaKeyMaterial, `CA certificate expired at ${ca.notAfter.toISOString()}; cannot issue`);
  }
  const t = leafTemplate(ca);
  const notBefore = toSecond(now.getTime() - CLOCK_SKEW_SECONDS * 1000);
  const notAfter = toSecond(Math.min(now.getTime() + p.ttlSeconds * 1000, ca.notAfter.getTime()));
  const serialNumber = randomSerial();
  const sanExt = extension(OID_SUBJECT_ALT_NAME, true, seq(...p.sans.map(generalName))); // critical: empty subject
  const tbs = seq(
    t.version,
    positiveInteger(Buffer.from(serialNumber, 'hex')),
    ca.signingKey.algorithmIdentifier,
    ca.subjectDer,
    seq(x509Time(notBefore), x509Time(notAfter)),
    seq(), // empty subject, as istiod issues
    p.publicKey,
    tlv(ctx(3), seq(t.staticExtensions, sanExt)),
  );
  const signature = sign(ca.signingKey.hash, tbs, ca.signingKey.privateKey);
  const cert = seq(tbs, ca.signingKey.algorithmIdentifier, bitString(signature));
  return { certPem: encodePem(cert, 'CERTIFICATE'), serialNumber, notBefore, notAfter };
}

/** Checks that `spki` is a SubjectPublicKeyInfo of a supported key before it goes into a certificate. */
function checkedSpki(spki: Uint8Array): Uint8Array {
  let kind;
  try {
    kind = classifyKey(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
  } catch (err) {
    throw new IsthmusError(ErrorCodes.CsrInvalid, 'public key is not a DER SubjectPublicKeyInfo', { cause: err });
  }
  if (typeof kind === 'string') throw new IsthmusError(ErrorCodes.CsrInvalid, kind);
  return spki;
}

/** Applies istiod's TTL rules to a requested `validity_duration` (seconds). */
export function resolveWorkloadTtl(
  requestedSeconds: number | undefined,
  limits: { readonly defaultSeconds?: number; readonly maxSeconds?: number } = {},
): number {
  const def = limits.defaultSeconds ?? DEFAULT_WORKLOAD_CERT_TTL_SECONDS;
  const max = limits.maxSeconds ?? MAX_WORKLOAD_CERT_TTL_SECONDS;
  if (requestedSeconds === undefined || requestedSeconds <= 0) return def;
  if (!Number.isFinite(requestedSeconds)) throw new IsthmusError(ErrorCodes.CertTtlInvalid, `requested TTL ${requestedSeconds} is not a number of seconds`);
  if (requestedSeconds > max) {
    throw new IsthmusError(ErrorCodes.CertTtlInvalid, `requested TTL ${requestedSeconds}s is greater than the max allowed TTL ${max}s`);
  }
  return Math.floor(requestedSeconds);
}

export interface SignLeafOptions {
  readonly ca: CaBundle;
  /** SubjectPublicKeyInfo (DER) from `parseCsr(...).publicKey`. */
  readonly publicKey: Uint8Array;
  /** The authenticated identities; they become the URI SANs, in order. */
  readonly identities: readonly SpiffeId[];
  /** Requested lifetime in seconds; <= 0 or absent means the default. */
  readonly ttlSeconds?: number;
  readonly maxTtlSeconds?: number;
  readonly defaultTtlSeconds?: number;
  readonly now?: Date;
}

/** Signs a workload leaf certificate. Throws `CertTtlInvalid` above the max TTL, `InvalidId` without identities. */
export function signLeaf(opts: SignLeafOptions): IssuedCert {
  if (opts.identities.length === 0) throw new IsthmusError(ErrorCodes.InvalidId, 'a workload certificate needs at least one SPIFFE identity');
  const limits = { ...(opts.defaultTtlSeconds === undefined ? {} : { defaultSeconds: opts.defaultTtlSeconds }), ...(opts.maxTtlSeconds === undefined ? {} : { maxSeconds: opts.maxTtlSeconds }) };
  return issue({
    ca: opts.ca,
    publicKey: checkedSpki(opts.publicKey),
    sans: opts.identities.map((id) => ({ type: 'uri', value: id })),
    ttlSeconds: resolveWorkloadTtl(opts.ttlSeconds, limits),
    now: opts.now ?? new Date(),
  });
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export interface IstiodNamesOptions {
  readonly namespace: string;
  /** Revision; `istiod-<rev>.<ns>.svc` is added unless empty or `default`. */
  readonly revision?: string;
  /** `ISTIOD_CUSTOM_HOST` entries (comma-separated in the env var). */
  readonly customHosts?: readonly string[];
}

/**
 * The DNS names of istiod's serving certificate (docs/istio-compat.md §2.3, `getDNSNames`): `istiod`,
 * `istiod-remote`, `istio-pilot` and, for a revision, `istiod-<rev>`, each as `<name>.<ns>.svc`, plus
 * custom hosts; sorted and de-duplicated as istiod does.
 */
export function istiodDnsNames(opts: IstiodNamesOptions): string[] {
  const names = new Set<string>(opts.customHosts?.map((h) => h.trim()).filter((h) => h !== '') ?? []);
  const known = ['istiod', 'istiod-remote', 'istio-pilot'];
  if (opts.revision && opts.revision !== 'default') known.push(`istiod-${opts.revision}`);
  for (const k of known) names.add(`${k}.${opts.namespace}.svc`);
  return [...names].sort();
}

export interface SignServerOptions {
  readonly ca: CaBundle;
  /** DNS names (or IP literals) for the SubjectAltName; see `istiodDnsNames`. */
  readonly dnsNames: readonly string[];
  readonly ttlSeconds?: number;
  readonly now?: Date;
}

export interface ServerCert extends IssuedCert {
  /** The certificate followed by the CA's intermediates: what a TLS server presents. */
  readonly certChainPem: string;
  /** The freshly generated ECDSA P-256 private key, PKCS#8 PEM. */
  readonly keyPem: string;
}

/** Generates a key and a serving certificate for the control plane (istiod's `GenKeyCert`). */
export async function signServer(opts: SignServerOptions): Promise<ServerCert> {
  if (opts.dnsNames.length === 0) throw new IsthmusError(ErrorCodes.InvalidId, 'a serving certificate needs at least one DNS name');
  const sans: San[] = opts.dnsNames.map((n) => {
    if (isIP(n) !== 0 && !n.includes('%')) return { type: 'ip', value: n };
    if (n.length > 253 || !DNS_NAME.test(n)) throw new IsthmusError(ErrorCodes.InvalidId, `invalid DNS name ${JSON.stringify(n)} for a serving certificate`);
    return { type: 'dns', value: n.toLowerCase() };
  });
  const ttl = opts.ttlSeconds ?? DEFAULT_SERVER_CERT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new IsthmusError(ErrorCodes.CertTtlInvalid, `serving certificate TTL must be a positive number of seconds, got ${ttl}`);
  const key = await generateEcKey();
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', key.keys.publicKey));
  const issued = issue({ ca: opts.ca, publicKey: spki, sans, ttlSeconds: ttl, now: opts.now ?? new Date() });
  return { ...issued, certChainPem: issued.certPem + opts.ca.certChainPem, keyPem: key.pkcs8Pem };
}
