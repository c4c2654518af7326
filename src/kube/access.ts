/**
 * How to reach one API server: its URL, the TLS material to verify it and to present, and the
 * caller's credentials. Kubeconfig files (`kubeconfig-file.ts`), in-cluster credentials and remote
 * secrets (`multicluster/kubeconfig.ts`) all become a `ClusterAccess`; `KubeClient` only reads it.
 *
 * Static credentials (a token, a token file, a client certificate, basic auth) are applied here,
 * with a node:https agent per client.
 * Credential plugins (`exec`, `auth-provider`) and proxies (`proxy-url`) are handed to
 * @kubernetes/client-node, imported only when such a kubeconfig is used: that library takes about
 * half a second of CPU and 70 MB to load, which a control plane with plain credentials, the common
 * case, no longer pays at start.
 */
import { readFile, stat } from 'node:fs/promises';
import type * as ClientNodeModule from '@kubernetes/client-node';
import type { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';

/** The credential part of a kubeconfig user that Isthmus applies itself. */
export interface StaticCredentials {
  readonly token?: string;
  /** Read when first needed and again when the file changes (projected tokens rotate). */
  readonly tokenFile?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  readonly username?: string;
  readonly password?: string;
}

/**
 * A kubeconfig whose user (or cluster) needs @kubernetes/client-node: the one context Isthmus uses,
 * as kubeconfig text in client-node's format, and the directory its relative paths are relative to.
 */
export interface DelegatedCredentials {
  readonly kubeconfigText: string;
  readonly baseDir: string;
  /** Why it is delegated, for logs and errors (e.g. `users[0].user.exec`). */
  readonly because: string;
}

export interface ClusterAccess {
  readonly contextName: string;
  /** The namespace the context names, if any. */
  readonly namespace?: string;
  readonly clusterName: string;
  /** `https://host:port` (no trailing slash). */
  readonly server: string;
  readonly caPem?: string;
  readonly tlsServerName?: string;
  readonly skipTLSVerify: boolean;
  readonly userName: string;
  readonly user: StaticCredentials;
  readonly delegated?: DelegatedCredentials;
}

/** What a request needs from the credentials: headers, and the connection pool to send it on. */
export interface RequestAuth {
  prepare(): Promise<{ readonly headers: Record<string, string>; readonly agent: HttpAgent | undefined }>;
}

const TOKEN_FILE_RECHECK_MS = 60_000;
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

/** A token file, re-read when its modification time changes (checked at most once a minute). */
class TokenFile {
  readonly #path: string;
  #token = '';
  #mtimeMs = -1;
  #checkedAt = 0;

  constructor(path: string) {
    this.#path = path;
  }

  async token(): Promise<string> {
    const now = Date.now();
    if (this.#token !== '' && now - this.#checkedAt < TOKEN_FILE_RECHECK_MS) return this.#token;
    try {
      const st = await stat(this.#path);
      this.#checkedAt = now;
      if (st.mtimeMs === this.#mtimeMs && this.#token !== '') return this.#token;
      if (st.size > MAX_TOKEN_FILE_BYTES) throw new Error(`larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
      const text = (await readFile(this.#path, 'utf8')).trim();
      if (text === '') throw new Error('empty');
      this.#token = text;
      this.#mtimeMs = st.mtimeMs;
      return text;
    } catch (err) {
      // A rotation in progress must not cut a working client: keep the last good token.
      if (this.#token !== '') return this.#token;
      throw new IsthmusError(ErrorCodes.KubeConfig, `token file ${this.#path}: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/**
 * TLS options for a client's agent: one context built now, or, when the material does not load (a
 * bad PEM), the raw options, so that each request fails with node's error as it would without this.
 */
function sharedTlsContext(material: Pick<SecureContextOptions, 'ca' | 'cert' | 'key'>): Pick<SecureContextOptions, 'ca' | 'cert' | 'key'> | { secureContext: SecureContext } {
  try {
    return { secureContext: createSecureContext(material) };
  } catch {
    return material;
  }
}

function staticAuth(access: ClusterAccess): RequestAuth {
  const u = access.user;
  const file = u.tokenFile === undefined ? undefined : new TokenFile(u.tokenFile);
  const basic = u.username !== undefined ? `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}` : undefined;
  // One pool per client: connections are reused (watches hold theirs); TCP keep-alive after 30 s
  // idle, as client-go, so load balancers do not drop quiet watches.
  // One TLS context per client too: given only `ca`/`cert`/`key`, node builds a new context (parsing
  // the PEM again) for every connection, and each watch holds a connection of its own.
  const agent = access.server.startsWith('https:')
    ? new HttpsAgent({
      keepAlive: true,
      keepAliveMsecs: 30_000,
      ...sharedTlsContext({
        ...(access.caPem === undefined ? {} : { ca: access.caPem }),
        ...(u.certPem === undefined ? {} : { cert: u.certPem }),
        ...(u.keyPem === undefined ? {} : { key: u.keyPem }),
      }),
      ...(access.tlsServerName === undefined ? {} : { servername: access.tlsServerName }),
      ...(access.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    })
    : undefined;
  const headers = async (): Promise<Record<string, string>> => {
    if (u.token !== undefined) return { authorization: `Bearer ${u.token}` };
    if (file) return { authorization: `Bearer ${await file.token()}` };
    if (basic !== undefined) return { authorization: basic };
    return {};
  };
  return { prepare: async () => ({ headers: await headers(), agent }) };
}

type ClientNode = typeof ClientNodeModule;

/** Credentials applied by @kubernetes/client-node (plugins, proxies), loaded on first use. */
function delegatedAuth(access: ClusterAccess, d: DelegatedCredentials): RequestAuth {
  let kc: InstanceType<ClientNode['KubeConfig']> | undefined;
  const load = async (): Promise<InstanceType<ClientNode['KubeConfig']>> => {
    if (kc) return kc;
    try {
      const lib = await import('@kubernetes/client-node');
      const next = new lib.KubeConfig();
      next.loadFromString(d.kubeconfigText);
      next.makePathsAbsolute(d.baseDir);
      next.setCurrentContext(access.contextName);
      kc = next;
      return next;
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `context ${access.contextName} (${d.because}): ${errorMessage(err)}`, { cause: err });
    }
  };
  return {
    async prepare() {
      const config = await load();
      // Headers (the plugin's credential) and the agent (TLS, proxy; client-node caches it per context).
      const opts: HttpsRequestOptions = {};
      await config.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
      if (typeof opts.auth === 'string') headers['authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return { headers, agent: typeof opts.agent === 'object' ? opts.agent : undefined };
    },
  };
}

/** The request authenticator for `access`. */
export function requestAuth(access: ClusterAccess): RequestAuth {
  return access.delegated ? delegatedAuth(access, access.delegated) : staticAuth(access);
}
