/**
 * How istioctl dials an xDS server (docs/istio-compat.md §14.4), as grpc-js channel credentials:
 *
 * | mode          | when                                   | TLS                                               | token |
 * | plaintext     | `--plaintext`                          | none (h2c)                                        | no    |
 * | mtls          | `--cert-dir`                           | client cert; server verified against root-cert.pem unless `--insecure` | no |
 * | tls-verify    | `--authority` given, not `--insecure`  | server verified against the given roots, name = authority | yes |
 * | tls-insecure  | otherwise (istioctl's default)         | server certificate not verified (InsecureSkipVerify) | yes |
 *
 * Skipping verification in grpc-js takes two settings: `rejectUnauthorized: false` (accept a chain
 * that does not verify) and a `checkServerIdentity` that accepts any name. With only the second, an
 * untrusted chain still fails; with only the first, grpc-js would still run the hostname check.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';

export type TransportMode = 'plaintext' | 'mtls' | 'tls-verify' | 'tls-insecure';

export interface Transport {
  readonly mode: TransportMode;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  /** Whether calls carry `authorization: Bearer <token>` (istioctl sends none with mTLS or plaintext). */
  readonly sendsToken: boolean;
}

export interface TransportOptions {
  readonly plaintext: boolean;
  readonly certDir: string;
  readonly authority: string;
  readonly insecure: boolean;
  /** Roots for `tls-verify` (PEM); undefined = Node's default CA store. */
  readonly rootCertPem?: string | undefined;
  /** SNI to send when the address is an IP (Node warns about IP server names), e.g. `istiod.istio-system.svc`. */
  readonly fallbackServerName?: string;
  /** Largest response accepted; syncz answers grow with the number of proxies. */
  readonly maxReceiveBytes?: number;
}

export const CERT_DIR_FILES = { chain: 'cert-chain.pem', key: 'key.pem', root: 'root-cert.pem' } as const;
export const DEFAULT_MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

/** Accept any server certificate and any name: Go's InsecureSkipVerify. */
export const SKIP_VERIFY = { rejectUnauthorized: false, checkServerIdentity: () => undefined } as const;

function readCertFile(dir: string, name: string): Buffer {
  try {
    return readFileSync(join(dir, name));
  } catch (err) {
    throw new IsthmusError(ErrorCodes.Usage, `--cert-dir ${dir}: cannot read ${name}: ${errorMessage(err)}`, { cause: err });
  }
}

/** Host part of `host:port` / `[v6]:port`. */
export function hostOf(address: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^(.*):\d+$/.exec(address);
  return m?.[1] ?? address;
}

export function transportFor(opts: TransportOptions, address: string): Transport {
  const base: ChannelOptions = { 'grpc.max_receive_message_length': opts.maxReceiveBytes ?? DEFAULT_MAX_RECEIVE_BYTES };
  if (opts.plaintext) return { mode: 'plaintext', credentials: credentials.createInsecure(), channelOptions: base, sendsToken: false };
  const host = hostOf(address);
  const nameFor = (wanted: string): ChannelOptions => {
    if (wanted !== '') return { 'grpc.ssl_target_name_override': wanted, 'grpc.default_authority': wanted };
    if (isIP(host) !== 0 && opts.fallbackServerName) return { 'grpc.ssl_target_name_override': opts.fallbackServerName };
    return {};
  };
  if (opts.certDir !== '') {
    const root = readCertFile(opts.certDir, CERT_DIR_FILES.root);
    const key = readCertFile(opts.certDir, CERT_DIR_FILES.key);
    const chain = readCertFile(opts.certDir, CERT_DIR_FILES.chain);
    const creds = credentials.createSsl(root, key, chain, opts.insecure ? SKIP_VERIFY : {});
    return { mode: 'mtls', credentials: creds, channelOptions: { ...base, ...nameFor(opts.authority) }, sendsToken: false };
  }
  if (opts.authority !== '' && !opts.insecure) {
    const creds = credentials.createSsl(opts.rootCertPem === undefined ? null : Buffer.from(opts.rootCertPem));
    return { mode: 'tls-verify', credentials: creds, channelOptions: { ...base, ...nameFor(opts.authority) }, sendsToken: true };
  }
  return { mode: 'tls-insecure', credentials: credentials.createSsl(null, null, null, SKIP_VERIFY), channelOptions: { ...base, ...nameFor('') }, sendsToken: true };
}
