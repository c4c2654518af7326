/**
 * Test-only helpers for src/pki: a temp dir and the `openssl` CLI, used as an independent party to
 * produce CSRs and CA material and to verify what we issue. Not imported by product code.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OpensslResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class TempDir {
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  static async create(): Promise<TempDir> {
    return new TempDir(await mkdtemp(join(tmpdir(), 'isthmus-pki-')));
  }

  file(name: string): string {
    return join(this.path, name);
  }

  async write(name: string, content: string): Promise<string> {
    await writeFile(this.file(name), content);
    return this.file(name);
  }

  async read(name: string): Promise<string> {
    return readFile(this.file(name), 'utf8');
  }

  /** Runs openssl in this directory; never throws on a non-zero exit. */
  async openssl(...args: string[]): Promise<OpensslResult> {
    try {
      const { stdout, stderr } = await run('openssl', args, { cwd: this.path });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: unknown; stderr?: unknown };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: typeof e.stdout === 'string' ? e.stdout : '', stderr: typeof e.stderr === 'string' ? e.stderr : String(err) };
    }
  }

  /** Runs openssl and throws with its stderr on failure. */
  async mustOpenssl(...args: string[]): Promise<string> {
    const r = await this.openssl(...args);
    if (r.code !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
[root_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[int_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
`;

export type KeySpec = 'ec' | 'rsa';

function newKeyArgs(spec: KeySpec): string[] {
  return spec === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
}

export interface PluggedCa {
  /** root-cert.pem, root-key.pem, ca-cert.pem, ca-key.pem written in the dir. */
  readonly dir: TempDir;
  readonly rootCertPem: string;
  readonly caCertPem: string;
  readonly caKeyPem: string;
}

/**
 * Builds a root and an intermediate CA with openssl, the way Istio's `tools/certs` does for plug-in
 * `cacerts` (their Makefile uses RSA; we default to ECDSA P-256).
 */
export async function opensslPluggedCa(dir: TempDir, spec: KeySpec = 'ec'): Promise<PluggedCa> {
  const cfg = await dir.write('openssl.cnf', OPENSSL_CONFIG);
  await dir.mustOpenssl('req', '-x509', '-new', '-config', cfg, '-extensions', 'root_ext', ...newKeyArgs(spec), '-nodes',
    '-keyout', 'root-key.pem', '-out', 'root-cert.pem', '-subj', '/O=Istio/CN=Root CA', '-days', '3650');
  await dir.mustOpenssl('req', '-new', '-config', cfg, ...newKeyArgs(spec), '-nodes',
    '-keyout', 'ca-key.pem', '-out', 'ca-csr.pem', '-subj', '/O=Istio/CN=Intermediate CA/L=cluster1');
  await dir.mustOpenssl('x509', '-req', '-in', 'ca-csr.pem', '-CA', 'root-cert.pem', '-CAkey', 'root-key.pem',
    '-set_serial', '0x2a2b2c2d', '-days', '730', '-extfile', cfg, '-extensions', 'int_ext', '-out', 'ca-cert.pem');
  return { dir, rootCertPem: await dir.read('root-cert.pem'), caCertPem: await dir.read('ca-cert.pem'), caKeyPem: await dir.read('ca-key.pem') };
}

/** Issues a non-CA certificate with openssl from the given CA files (for "not a CA" cases). */
export async function opensslLeafCert(dir: TempDir, caCert: string, caKey: string): Promise<{ certPem: string; keyPem: string }> {
  const cfg = await dir.write('openssl.cnf', OPENSSL_CONFIG);
  await dir.mustOpenssl('req', '-new', '-config', cfg, ...newKeyArgs('ec'), '-nodes', '-keyout', 'nonca-key.pem', '-out', 'nonca-csr.pem', '-subj', '/CN=not-a-ca');
  await dir.mustOpenssl('x509', '-req', '-in', 'nonca-csr.pem', '-CA', caCert, '-CAkey', caKey, '-set_serial', '0x77', '-days', '30',
    '-extfile', cfg, '-extensions', 'leaf_ext', '-out', 'nonca-cert.pem');
  return { certPem: await dir.read('nonca-cert.pem'), keyPem: await dir.read('nonca-key.pem') };
}

/** A CSR made by `openssl req` as the brief for Istio agents' CSRs describes (empty subject, no password). */
export async function opensslCsr(dir: TempDir, name: string, keyArgs: readonly string[], extra: readonly string[] = []): Promise<{ csrPem: string; keyPem: string }> {
  await dir.mustOpenssl('req', '-new', ...keyArgs, '-nodes', '-subj', '/', ...extra, '-keyout', `${name}-key.pem`, '-out', `${name}-csr.pem`);
  return { csrPem: await dir.read(`${name}-csr.pem`), keyPem: await dir.read(`${name}-key.pem`) };
}

export const P256_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] as const;
