/**
 * istioctl's xDS client settings (docs/istio-compat.md §14.2): each has a flag and an `ISTIOCTL_*`
 * environment variable (viper: an explicitly given flag wins over the variable, the variable over
 * the default; an empty variable counts as set). Pure: the environment is passed in.
 */
import type { Command, OptionValues } from '@commander-js/extra-typings';
import { parseDuration } from '../../model/duration.ts';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';

/** The flags as commander hands them over: absent when not given (no commander defaults). */
export interface XdsFlags {
  readonly xdsAddress?: string;
  readonly xdsPort?: string;
  readonly xdsLabel?: string;
  readonly istioNamespace?: string;
  readonly authority?: string;
  readonly certDir?: string;
  readonly insecure?: boolean;
  readonly plaintext?: boolean;
  readonly timeout?: string;
  readonly revision?: string;
  readonly context?: string;
  readonly kubeconfig?: string;
}

export interface XdsClientConfig {
  /** `host:port` to ask directly; '' = find the control plane pods through the kube API. */
  readonly xdsAddress: string;
  /** Pod port used when asking each control plane pod (15012). */
  readonly xdsPort: number;
  readonly xdsLabel: string;
  readonly istioNamespace: string;
  /** Expected server name (`--authority`); '' = none given. */
  readonly authority: string;
  /** Directory with `cert-chain.pem`, `key.pem`, `root-cert.pem` for mTLS; '' = none. */
  readonly certDir: string;
  readonly insecure: boolean;
  readonly plaintext: boolean;
  readonly timeoutMs: number;
  readonly revision: string;
  readonly context: string | undefined;
  readonly kubeconfig: string | undefined;
}

export const DEFAULT_XDS_PORT = 15012;
export const DEFAULT_XDS_LABEL = 'app=istiod';
export const DEFAULT_ISTIO_NAMESPACE = 'istio-system';
export const DEFAULT_TIMEOUT_MS = 30_000;

export type Env = Readonly<Record<string, string | undefined>>;

function usage(message: string): IsthmusError {
  return new IsthmusError(ErrorCodes.Usage, message);
}

/** Go's strconv.ParseBool, as viper reads booleans; anything else is a usage error. */
export function parseBool(value: string, what: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False', ''].includes(value)) return false;
  throw usage(`${what}: ${JSON.stringify(value)} is not a boolean (use true or false)`);
}

function port(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usage(`${what}: ${JSON.stringify(value)} is not a port`);
  return n;
}

/** Flag if given, else env var if set (even empty), else undefined. */
function pick(flag: string | undefined, env: Env, name: string): string | undefined {
  if (flag !== undefined) return flag;
  return env[name];
}

function pickBool(flag: boolean | undefined, env: Env, name: string): boolean {
  if (flag !== undefined) return flag;
  const v = env[name];
  return v === undefined ? false : parseBool(v, name);
}

export function resolveXdsConfig(flags: XdsFlags, env: Env): XdsClientConfig {
  if (flags.xdsAddress !== undefined && flags.xdsLabel !== undefined) throw usage('--xds-address and --xds-label are mutually exclusive');
  const xdsPort = pick(flags.xdsPort, env, 'ISTIOCTL_XDS_PORT');
  const timeout = flags.timeout;
  const cfg: XdsClientConfig = {
    xdsAddress: (pick(flags.xdsAddress, env, 'ISTIOCTL_XDS_ADDRESS') ?? '').trim(),
    xdsPort: xdsPort === undefined || xdsPort === '' ? DEFAULT_XDS_PORT : port(xdsPort, '--xds-port/ISTIOCTL_XDS_PORT'),
    xdsLabel: flags.xdsLabel ?? DEFAULT_XDS_LABEL,
    istioNamespace: pick(flags.istioNamespace, env, 'ISTIOCTL_ISTIONAMESPACE') || DEFAULT_ISTIO_NAMESPACE,
    authority: pick(flags.authority, env, 'ISTIOCTL_AUTHORITY') ?? '',
    certDir: pick(flags.certDir, env, 'ISTIOCTL_CERT_DIR') ?? '',
    insecure: pickBool(flags.insecure, env, 'ISTIOCTL_INSECURE'),
    plaintext: pickBool(flags.plaintext, env, 'ISTIOCTL_PLAINTEXT'),
    timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout, '--timeout'),
    revision: flags.revision ?? '',
    context: flags.context,
    kubeconfig: flags.kubeconfig,
  };
  if (cfg.xdsAddress !== '' && !/^(\[[^\]]+\]|[^:[\]\s]+):\d+$/.test(cfg.xdsAddress)) {
    throw usage(`xDS address ${JSON.stringify(cfg.xdsAddress)} (--xds-address/ISTIOCTL_XDS_ADDRESS) must be host:port`);
  }
  if (cfg.plaintext && cfg.certDir !== '') throw usage('--plaintext and --cert-dir are mutually exclusive');
  return cfg;
}

/** `ISTIOCTL_PREFER_EXPERIMENTAL`: mount the experimental variants at the top level. */
export function preferExperimental(env: Env): boolean {
  const v = env['ISTIOCTL_PREFER_EXPERIMENTAL'];
  return v === undefined ? false : parseBool(v, 'ISTIOCTL_PREFER_EXPERIMENTAL');
}

/** The SAN istioctl expects of a control plane pod: `istiod[-<rev>].<ns>.svc`. */
export function expectedAuthority(cfg: Pick<XdsClientConfig, 'authority' | 'revision' | 'istioNamespace'>): string {
  if (cfg.authority !== '') return cfg.authority;
  const rev = cfg.revision === '' || cfg.revision === 'default' ? '' : `-${cfg.revision}`;
  return `istiod${rev}.${cfg.istioNamespace}.svc`;
}

/** Adds istioctl's central control plane flags to a command (no defaults: see resolveXdsConfig). */
/** The flags every xDS-client verb takes; their types flow into the verb's action from these definitions. */
export function addXdsFlags<Args extends unknown[], Opts extends OptionValues>(cmd: Command<Args, Opts>) {
  return cmd
    .option('--xds-address <host:port>', 'xDS server to ask instead of the control plane pods (env ISTIOCTL_XDS_ADDRESS)')
    .option('--xds-port <port>', `control plane pod port to ask (env ISTIOCTL_XDS_PORT, default ${DEFAULT_XDS_PORT})`)
    .option('--xds-label <selector>', `control plane pod selector (default ${DEFAULT_XDS_LABEL})`)
    .option('-i, --istioNamespace <ns>', `istio system namespace (env ISTIOCTL_ISTIONAMESPACE, default ${DEFAULT_ISTIO_NAMESPACE})`)
    .option('--authority <name>', 'expected server name of the xDS server (env ISTIOCTL_AUTHORITY)')
    .option('--cert-dir <dir>', 'mTLS: directory with cert-chain.pem, key.pem, root-cert.pem (env ISTIOCTL_CERT_DIR)')
    .option('--insecure', 'skip server certificate verification (env ISTIOCTL_INSECURE)')
    .option('--plaintext', 'plaintext h2c, no TLS and no token, e.g. port 15010 (env ISTIOCTL_PLAINTEXT)')
    .option('--timeout <duration>', 'how long to wait for the answer (default 30s)')
    .option('-r, --revision <rev>', 'control plane revision')
    .option('--context <name>', 'kubeconfig context')
    .option('--kubeconfig <file>', 'kubeconfig file');
}
