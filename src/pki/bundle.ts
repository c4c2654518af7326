/**
 * The CA's key material and how it is loaded, in the two layouts istiod reads:
 *
 * - plug-in `cacerts` (files or Secret keys): `ca-cert.pem` (signing cert), `ca-key.pem`,
 *   `root-cert.pem` (root bundle), optional `cert-chain.pem` (intermediates up to the root);
 * - self-signed `istio-ca-secret`: `ca-cert.pem` (a self-signed root) and `ca-key.pem`; the root bundle
 *   is the certificate itself and there is no chain.
 *
 * As istiod does when it loads a bundle, we check that the key matches the certificate and that the
 * certificate chains to the root bundle; we also check that it is a CA and is currently valid.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { caExtensions, keyIdFromSpki, subjectNameDer } from './cert-extensions.ts';
import { importSigningKey } from './keys.ts';
import type { SigningKey } from './keys.ts';
import { decodeCertificates, encodePem } from './pem.ts';

export const CA_CERT_FILE = 'ca-cert.pem';
export const CA_KEY_FILE = 'ca-key.pem';
export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

/** Contents by file name (a directory, or the data of a `cacerts` / `istio-ca-secret` Secret). */
export type CaFiles = Readonly<Partial<Record<string, string | Uint8Array>>>;

export type CaLayout = 'plugged' | 'self-signed';

export interface CaBundle {
  readonly layout: CaLayout;
  /** The signing certificate, canonical PEM. */
  readonly certPem: string;
  /** The signing key, PKCS#8 PEM. */
  readonly keyPem: string;
  /** Intermediates between the signing cert and the root as given in `cert-chain.pem` ('' if none). */
  readonly certChainPem: string;
  /** The root bundle as given (`root-cert.pem`, or `ca-cert.pem` for a self-signed CA). */
  readonly rootCertPem: string;
  readonly cert: X509Certificate;
  readonly signingKey: SigningKey;
  /** Hex SubjectKeyIdentifier of the signing cert (computed per RFC 5280 if the cert has none). */
  readonly subjectKeyId: string;
  /** The earliest notAfter of the signing cert and the chain: no issued cert may outlive it. */
  readonly notAfter: Date;
  /** DER of the signing cert's subject Name: the issuer of everything it signs. */
  readonly subjectDer: Uint8Array;
}

function fail(file: string, why: string, cause?: unknown): IsthmusError {
  return new IsthmusError(ErrorCodes.CaKeyMaterial, `${file}: ${why}`, cause === undefined ? undefined : { cause });
}

function text(files: CaFiles, name: string): string | undefined {
  const v = files[name];
  if (v === undefined) return undefined;
  const s = typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
  return s.trim() === '' ? undefined : s;
}

function parseCerts(file: string, pem: string): X509Certificate[] {
  const ders = decodeCertificates(pem);
  if (typeof ders === 'string') throw fail(file, ders);
  return ders.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw fail(file, `certificate #${i + 1} does not parse`, err);
    }
  });
}

function checkValid(file: string, cert: X509Certificate, now: Date): void {
  if (now < cert.validFromDate) throw fail(file, `certificate ${cert.subject || '(empty subject)'} is not valid before ${cert.validFromDate.toISOString()}`);
  if (now > cert.validToDate) throw fail(file, `certificate ${cert.subject || '(empty subject)'} expired at ${cert.validToDate.toISOString()}`);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** Walks from `cert` through `intermediates` to one of `roots`: the certificates above `cert`, root last. */
function chainToRoot(cert: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): X509Certificate[] | undefined {
  const path: X509Certificate[] = [];
  let current = cert;
  for (let depth = 0; depth < 8; depth++) {
    const root = roots.find((r) => r.raw.equals(current.raw) || issuedBy(current, r));
    if (root) return root.raw.equals(current.raw) ? path : [...path, root];
    const next = intermediates.find((c) => !path.includes(c) && !c.raw.equals(current.raw) && issuedBy(current, c));
    if (!next) return undefined;
    path.push(next);
    current = next;
  }
  return undefined;
}

export interface LoadOptions {
  /** Validity is checked at this instant (default: now). */
  readonly now?: Date;
}

/**
 * Loads and verifies a CA bundle. The layout is `plugged` when `root-cert.pem` is present, otherwise
 * `self-signed` (then `ca-cert.pem` must be a self-signed root). Throws `CaKeyMaterial` naming the file.
 */
export function loadCaBundle(files: CaFiles, opts: LoadOptions = {}): Promise<CaBundle> {
  try {
    return Promise.resolve(readCaBundle(files, opts));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

function readCaBundle(files: CaFiles, opts: LoadOptions): CaBundle {
  const now = opts.now ?? new Date();
  const certText = text(files, CA_CERT_FILE);
  const keyText = text(files, CA_KEY_FILE);
  const chainText = text(files, CERT_CHAIN_FILE);
  const rootText = text(files, ROOT_CERT_FILE);
  if (certText === undefined) throw fail(CA_CERT_FILE, 'missing or empty');
  if (keyText === undefined) throw fail(CA_KEY_FILE, 'missing or empty');
  const layout: CaLayout = rootText === undefined ? 'self-signed' : 'plugged';

  const [cert] = parseCerts(CA_CERT_FILE, certText);
  if (!cert) throw fail(CA_CERT_FILE, 'no certificate');
  const key = importSigningKey(keyText);
  if (typeof key === 'string') throw fail(CA_KEY_FILE, key);
  const certSpki = cert.publicKey.export({ type: 'spki', format: 'der' });
  if (!certSpki.equals(key.spki)) throw fail(CA_KEY_FILE, `private key does not match the certificate in ${CA_CERT_FILE}`);

  const ext = caExtensions(cert.raw, CA_CERT_FILE);
  if (!ext.ca) throw fail(CA_CERT_FILE, 'certificate is not a CA (BasicConstraints CA:TRUE is missing)');
  if (ext.keyCertSign === false) throw fail(CA_CERT_FILE, 'certificate KeyUsage lacks keyCertSign');
  checkValid(CA_CERT_FILE, cert, now);

  const chain = chainText === undefined ? [] : parseCerts(CERT_CHAIN_FILE, chainText);
  let above: X509Certificate[];
  if (layout === 'plugged') {
    const roots = parseCerts(ROOT_CERT_FILE, rootText ?? '');
    const path = chainToRoot(cert, chain, roots);
    if (!path) {
      const via = chain.length > 0 ? ` through ${CERT_CHAIN_FILE}` : ` (no ${CERT_CHAIN_FILE}; an intermediate CA needs one)`;
      throw fail(chain.length > 0 ? CERT_CHAIN_FILE : ROOT_CERT_FILE, `${CA_CERT_FILE} does not chain to any certificate in ${ROOT_CERT_FILE}${via}`);
    }
    above = path;
  } else {
    if (!issuedBy(cert, cert)) {
      throw fail(ROOT_CERT_FILE, `missing: ${CA_CERT_FILE} is not self-signed, so the root bundle must be given (plug-in cacerts layout)`);
    }
    above = [];
  }
  for (const c of above) {
    const file = chain.includes(c) ? CERT_CHAIN_FILE : ROOT_CERT_FILE;
    if (!c.ca) throw fail(file, `certificate ${c.subject} is not a CA`);
    checkValid(file, c, now);
  }

  const notAfter = above.reduce((min, c) => (c.validToDate < min ? c.validToDate : min), cert.validToDate);
  return {
    layout,
    certPem: encodePem(cert.raw, 'CERTIFICATE'),
    keyPem: key.pkcs8Pem,
    certChainPem: chain.map((c) => encodePem(c.raw, 'CERTIFICATE')).join(''),
    rootCertPem: rootText ?? encodePem(cert.raw, 'CERTIFICATE'),
    cert,
    signingKey: key,
    subjectKeyId: ext.subjectKeyId ?? keyIdFromSpki(certSpki),
    notAfter,
    subjectDer: subjectNameDer(cert.raw, CA_CERT_FILE),
  };
}

/** Reads whichever of the four CA files exist in `dir` (a mounted `cacerts` Secret, or `./etc/cacerts`). */
export async function readCaDirectory(dir: string): Promise<CaFiles> {
  const out: Record<string, string> = {};
  for (const name of [CA_CERT_FILE, CA_KEY_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE]) {
    try {
      out[name] = await readFile(join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(join(dir, name), 'cannot be read', err);
    }
  }
  return out;
}

/** The files of the self-signed `istio-ca-secret` layout for a bundle (what istiod writes back). */
export function selfSignedSecretFiles(ca: CaBundle): Record<string, string> {
  return { [CA_CERT_FILE]: ca.certPem, [CA_KEY_FILE]: ca.keyPem };
}
