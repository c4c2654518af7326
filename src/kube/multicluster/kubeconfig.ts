/**
 * Kubeconfigs from remote secrets are untrusted input: anyone who can write a Secret in the system
 * namespace could otherwise make the control plane run programs or read its own files. Only inline
 * credentials are accepted (token, client certificate/key data, CA data), as istiod does by default.
 */
import { parse } from 'yaml';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import { KubeClient, type ClientOptions } from '../client.ts';

interface RawKubeconfig {
  clusters?: { name?: string; cluster?: Record<string, unknown> }[];
  users?: { name?: string; user?: Record<string, unknown> }[];
}

const FORBIDDEN_USER_FIELDS = ['exec', 'tokenFile', 'client-certificate', 'client-key', 'username', 'password'] as const;

/** Builds a client from kubeconfig text found in `source` (e.g. `secret istio-system/x key cluster2`). */
export function clientFromUntrustedKubeconfig(text: string, source: string, opts?: ClientOptions): KubeClient {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: not valid YAML: ${errorMessage(err)}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: not a kubeconfig (expected a YAML mapping)`);
  }
  const cfg = raw as RawKubeconfig;
  for (const u of cfg.users ?? []) {
    const user = u.user ?? {};
    for (const f of FORBIDDEN_USER_FIELDS) {
      if (f in user) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: users[${u.name ?? '?'}].user.${f} is not allowed in a remote secret (only inline token or certificate data)`);
    }
    const provider = user['auth-provider'] as { name?: string } | undefined;
    if (provider && provider.name !== 'oidc') {
      throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: users[${u.name ?? '?'}].user.auth-provider ${JSON.stringify(provider.name)} is not allowed in a remote secret`);
    }
  }
  for (const c of cfg.clusters ?? []) {
    if (c.cluster && 'certificate-authority' in c.cluster) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: clusters[${c.name ?? '?'}].cluster.certificate-authority (a file path) is not allowed; use certificate-authority-data`);
    }
  }
  const client = KubeClient.fromString(text, source, undefined, opts);
  const cluster = client.config.getCurrentCluster();
  if (cluster?.skipTLSVerify) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: insecure-skip-tls-verify is not allowed in a remote secret`);
  }
  return client;
}
