/**
 * The xds-proxy's serving certificate: `--cert`/`--key` files, or a self-signed ECDSA P-256
 * certificate made at start (istioctl does not verify the server by default, docs/istio-compat.md §14.4; clients that
 * do can pin the PEM the proxy logs/writes).
 */
import { readFileSync } from 'node:fs';
import { EC_P256_SHA256, generateEcKey, randomSerial } from '../pki/keys.ts';
import { x509 } from '../pki/x509-lib.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';

export interface ServingCert {
  readonly certPem: string;
  readonly keyPem: string;
  readonly selfSigned: boolean;
}

export function loadServingCert(certFile: string, keyFile: string): ServingCert {
  try {
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), selfSigned: false };
  } catch (err) {
    throw new IsthmusError(ErrorCodes.Usage, `cannot read the serving certificate (--cert ${certFile}, --key ${keyFile}): ${errorMessage(err)}`, { cause: err });
  }
}

/** A self-signed serving certificate for `dnsNames` and `ips`, valid for `days`. */
export async function selfSignedCert(dnsNames: readonly string[], ips: readonly string[], days = 365): Promise<ServingCert> {
  const { keys, pkcs8Pem } = await generateEcKey();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: new x509.Name([{ '2.5.4.3': [dnsNames[0] ?? 'xds-proxy'] }, { '2.5.4.10': ['isthmus'] }]),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    keys,
    signingAlgorithm: EC_P256_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...dnsNames.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem, selfSigned: true };
}
