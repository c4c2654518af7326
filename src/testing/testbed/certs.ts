/**
 * Key material for one test-bed cluster: a cluster CA, the API server's serving certificate, an
 * admin client certificate (group system:masters) and the service-account signing key. Everything is
 * ECDSA P-256 and generated fresh per cluster, so clusters never trust each other by accident.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

export interface ClusterCerts {
  readonly caCertPem: string;
  readonly caKeyPem: string;
  readonly serverCertPem: string;
  readonly serverKeyPem: string;
  readonly adminCertPem: string;
  readonly adminKeyPem: string;
  /** PKCS#8 private key that signs service-account tokens. */
  readonly saKeyPem: string;
  /** SPKI public key that verifies them. */
  readonly saPubPem: string;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function privatePem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function publicPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key);
  return x509.PemConverter.encode(der, 'PUBLIC KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly key: webcrypto.CryptoKey;
  readonly publicKey: webcrypto.CryptoKey;
}

async function issueLeaf(ca: Issuer, subject: string, usage: 'server' | 'client', sans: x509.JsonGeneralNames,
  notBefore: Date, notAfter: Date): Promise<{ certPem: string; keyPem: string }> {
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: EC,
    extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await privatePem(keys.privateKey) };
}

/**
 * A certificate from an existing cluster CA (PEM cert and PKCS#8 key), e.g. a kubelet's client
 * certificate `CN=system:node:<name>, O=system:nodes`, valid for a year.
 */
export async function issueFromCa(caCertPem: string, caKeyPem: string, subject: string, usage: 'server' | 'client',
  sans: x509.JsonGeneralNames = []): Promise<{ certPem: string; keyPem: string }> {
  const cert = new x509.X509Certificate(caCertPem);
  const key = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(caKeyPem), EC, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', cert.publicKey.rawData, EC, true, ['verify']);
  const now = Date.now();
  return issueLeaf({ cert, key, publicKey }, subject, usage, sans, new Date(now - 3600 * 1000), new Date(now + 365 * DAY_MS));
}

/** `extraIps`: more IP SANs of the API server's certificate (with nodes: the `kubernetes` Service's ClusterIP). */
export async function generateClusterCerts(clusterName: string, extraIps: readonly string[] = []): Promise<ClusterCerts> {
  const now = Date.now();
  const notBefore = new Date(now - 3600 * 1000);
  const notAfter = new Date(now + 365 * DAY_MS);

  const caKeys = await keyPair();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=isthmus-testbed-${clusterName}-ca`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (subject: string, usage: 'server' | 'client', sans: x509.JsonGeneralNames) =>
    issueLeaf({ cert: ca, key: caKeys.privateKey, publicKey: caKeys.publicKey }, subject, usage, sans, notBefore, notAfter);

  const server = await leaf(`CN=kube-apiserver-${clusterName}`, 'server', [
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes' },
    { type: 'dns', value: 'kubernetes.default' },
    { type: 'dns', value: 'kubernetes.default.svc' },
    { type: 'dns', value: 'kubernetes.default.svc.cluster.local' },
    { type: 'ip', value: '127.0.0.1' },
    ...extraIps.map((value) => ({ type: 'ip' as const, value })),
  ]);
  const admin = await leaf('CN=isthmus-admin, O=system:masters', 'client', []);
  const saKeys = await keyPair();

  return {
    caCertPem: ca.toString('pem'),
    caKeyPem: await privatePem(caKeys.privateKey),
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    saKeyPem: await privatePem(saKeys.privateKey),
    saPubPem: await publicPem(saKeys.publicKey),
  };
}
