/**
 * Kubeconfigs from remote secrets are untrusted input: anyone who can write a Secret in the system
 * namespace could otherwise make the control plane run programs (exec plugins, `auth-provider`
 * commands), read its own files (`token-file`, `client-key`, `certificate-authority`, ...) and send
 * what it read to a server of their choice, or route its traffic through a proxy.
 *
 * So the text is never handed to @kubernetes/client-node's loader (which reads `token-file` while
 * parsing). It is parsed here, every field of every cluster, user and context is checked against an
 * allow list, and the client's cluster and user objects are built from the checked values only:
 *
 * - cluster: `server` (https URL), `certificate-authority-data`, `tls-server-name`,
 *   `insecure-skip-tls-verify` only when false. `tls-server-name` is allowed: it only changes the
 *   name the server's certificate is verified against (verification still happens, against the
 *   same CA), so it grants nothing the author of the secret does not already have by choosing the
 *   server URL, and it is what makes an IP or load-balancer address with a named certificate work.
 * - user: `token`, `client-certificate-data` + `client-key-data`.
 * - context: `cluster`, `user`, `namespace`.
 *
 * Anything else is refused with the secret, the key and the field named (`RefusedKubeconfigField`).
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { parse } from 'yaml';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import { KubeClient, type ClientOptions } from '../client.ts';
import { isBase64Text, isRecord } from '../../model/json.ts';

/** A kubeconfig field outside the allow list (or with a value it does not allow). */
export class RefusedKubeconfigField extends IsthmusError {
  /** The field's path, e.g. `users[0].user.token-file` (bounded, printable). */
  readonly field: string;

  constructor(source: string, field: string, why: string) {
    super(ErrorCodes.RemoteKubeconfigRefused, `${source}: ${field} ${why}`);
    this.name = 'RefusedKubeconfigField';
    this.field = field;
  }
}

const MAX_KUBECONFIG_BYTES = 1024 * 1024;
const MAX_TOKEN_BYTES = 64 * 1024;

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'preferences', 'current-context', 'clusters', 'contexts', 'users']);
const ENTRY = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;
type Section = keyof typeof ENTRY;
const ALLOWED: Readonly<Record<Section, ReadonlySet<string>>> = {
  clusters: new Set(['server', 'certificate-authority-data', 'tls-server-name', 'insecure-skip-tls-verify']),
  users: new Set(['token', 'client-certificate-data', 'client-key-data']),
  contexts: new Set(['cluster', 'user', 'namespace']),
};

/** A field name for messages and metric labels: printable, bounded, quoted when unusual. */
export function fieldName(name: string): string {
  if (/^[A-Za-z0-9_.-]{1,64}$/.test(name)) return name;
  const clipped = name.length > 64 ? `${name.slice(0, 64)}...` : name;
  return JSON.stringify(clipped).replace(/[^\x20-\x7e]/g, '?');
}

type Mapping = Record<string, unknown>;

function own(m: Mapping, k: string): unknown {
  return Object.hasOwn(m, k) ? m[k] : undefined;
}

interface Named { readonly name: string; readonly body: Mapping; readonly path: string }

/** Checks one section (`clusters`, `users`, `contexts`) and answers its entries by name. */
function section(source: string, cfg: Mapping, name: Section): Map<string, Named> {
  const out = new Map<string, Named>();
  const list = own(cfg, name);
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new RefusedKubeconfigField(source, name, 'must be a list');
  const inner = ENTRY[name];
  list.forEach((entry: unknown, i) => {
    const at = `${name}[${i}]`;
    if (!isRecord(entry)) throw new RefusedKubeconfigField(source, at, 'must be a mapping');
    for (const k of Object.keys(entry)) {
      if (k !== 'name' && k !== inner) throw new RefusedKubeconfigField(source, `${at}.${fieldName(k)}`, `is not allowed in a remote secret (allowed: name, ${inner})`);
    }
    const entryName = own(entry, 'name');
    if (typeof entryName !== 'string' || entryName === '') throw new RefusedKubeconfigField(source, `${at}.name`, 'must be a non-empty string');
    if (out.has(entryName)) throw new RefusedKubeconfigField(source, `${at}.name`, `duplicates ${JSON.stringify(entryName.slice(0, 64))}`);
    const body = own(entry, inner) ?? {};
    if (!isRecord(body)) throw new RefusedKubeconfigField(source, `${at}.${inner}`, 'must be a mapping');
    for (const k of Object.keys(body)) {
      if (!ALLOWED[name].has(k)) {
        throw new RefusedKubeconfigField(source, `${at}.${inner}.${fieldName(k)}`, `is not allowed in a remote secret (allowed: ${[...ALLOWED[name]].join(', ')})`);
      }
    }
    out.set(entryName, { name: entryName, body, path: `${at}.${inner}` });
  });
  return out;
}

function str(source: string, m: Named, key: string, max: number): string | undefined {
  const v = own(m.body, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new RefusedKubeconfigField(source, `${m.path}.${key}`, 'must be a non-empty string');
  if (v.length > max) throw new RefusedKubeconfigField(source, `${m.path}.${key}`, `is longer than ${max} characters`);
  return v;
}

/** Base64 PEM data: answers the PEM text after checking it decodes. */
function pemData(source: string, m: Named, key: string, check: (pem: string) => void): string | undefined {
  const v = str(source, m, key, MAX_KUBECONFIG_BYTES);
  if (v === undefined) return undefined;
  const field = `${m.path}.${key}`;
  if (!isBase64Text(v)) throw new RefusedKubeconfigField(source, field, 'is not base64 data');
  const pem = Buffer.from(v, 'base64').toString('utf8');
  try {
    check(pem);
  } catch (err) {
    throw new RefusedKubeconfigField(source, field, `is not valid PEM: ${errorMessage(err)}`);
  }
  return pem;
}

function checkCertificates(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no CERTIFICATE block');
  for (const b of blocks) new X509Certificate(b);
}

function checkServer(source: string, cluster: Named): string {
  const field = `${cluster.path}.server`;
  const raw = str(source, cluster, 'server', 2048);
  if (raw === undefined) throw new RefusedKubeconfigField(source, field, 'is missing');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedKubeconfigField(source, field, `is not a URL: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:') throw new RefusedKubeconfigField(source, field, `must be an https:// URL (got ${JSON.stringify(url.protocol)})`);
  if (url.username || url.password) throw new RefusedKubeconfigField(source, field, 'must not carry credentials');
  if (url.search || url.hash) throw new RefusedKubeconfigField(source, field, 'must not carry a query or fragment');
  return raw.replace(/\/$/, '');
}

function checkServerName(source: string, cluster: Named): string | undefined {
  const name = str(source, cluster, 'tls-server-name', 253);
  if (name === undefined) return undefined;
  const dns = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(name) === 0 && !dns.test(name)) throw new RefusedKubeconfigField(source, `${cluster.path}.tls-server-name`, 'must be a DNS name or an IP address');
  return name;
}

function checkUser(source: string, user: Named): { token?: string; certPem?: string; keyPem?: string } {
  const token = str(source, user, 'token', MAX_TOKEN_BYTES);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new RefusedKubeconfigField(source, `${user.path}.token`, 'must be printable ASCII without spaces');
  }
  const certData = pemData(source, user, 'client-certificate-data', checkCertificates);
  const keyData = pemData(source, user, 'client-key-data', (pem) => { createPrivateKey(pem); });
  if ((certData === undefined) !== (keyData === undefined)) {
    const missing = certData === undefined ? 'client-certificate-data' : 'client-key-data';
    throw new RefusedKubeconfigField(source, `${user.path}.${missing}`, 'is missing (client-certificate-data and client-key-data go together)');
  }
  if (token === undefined && certData === undefined) {
    throw new RefusedKubeconfigField(source, user.path, 'has no credential (need token, or client-certificate-data and client-key-data)');
  }
  return { ...(token === undefined ? {} : { token }), ...(certData === undefined ? {} : { certPem: certData }), ...(keyData === undefined ? {} : { keyPem: keyData }) };
}

/** Builds a client from kubeconfig text found in `source` (e.g. `secret istio-system/x key "cluster2"`). */
export function clientFromUntrustedKubeconfig(text: string, source: string, opts?: ClientOptions): KubeClient {
  if (Buffer.byteLength(text) > MAX_KUBECONFIG_BYTES) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: kubeconfig is larger than ${MAX_KUBECONFIG_BYTES} bytes`);
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: not valid YAML: ${errorMessage(err)}`);
  }
  if (!isRecord(raw)) throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: not a kubeconfig (expected a YAML mapping)`);
  for (const k of Object.keys(raw)) {
    if (!TOP_LEVEL.has(k)) throw new RefusedKubeconfigField(source, fieldName(k), `is not allowed in a remote secret (allowed: ${[...TOP_LEVEL].join(', ')})`);
  }
  // Every entry is checked, not only the current context's: nothing unchecked is kept anywhere.
  const clusters = section(source, raw, 'clusters');
  const users = section(source, raw, 'users');
  const contexts = section(source, raw, 'contexts');
  const checkedClusters = new Map([...clusters].map(([n, c]) => {
    const skip = own(c.body, 'insecure-skip-tls-verify');
    if (skip !== undefined && skip !== false) throw new RefusedKubeconfigField(source, `${c.path}.insecure-skip-tls-verify`, 'is not allowed in a remote secret (only false)');
    const caData = pemData(source, c, 'certificate-authority-data', checkCertificates);
    const tlsServerName = checkServerName(source, c);
    return [n, { server: checkServer(source, c), ...(caData === undefined ? {} : { caPem: caData }), ...(tlsServerName === undefined ? {} : { tlsServerName }) }] as const;
  }));
  const checkedUsers = new Map([...users].map(([n, u]) => [n, checkUser(source, u)] as const));

  const current = own(raw, 'current-context');
  if (typeof current !== 'string' || current === '') throw new RefusedKubeconfigField(source, 'current-context', 'must name a context');
  const ctx = contexts.get(current);
  if (!ctx) throw new RefusedKubeconfigField(source, 'current-context', `names no context (${JSON.stringify(current.slice(0, 64))})`);
  const clusterName = own(ctx.body, 'cluster');
  const userName = own(ctx.body, 'user');
  const cluster = typeof clusterName === 'string' ? checkedClusters.get(clusterName) : undefined;
  const user = typeof userName === 'string' ? checkedUsers.get(userName) : undefined;
  if (!cluster) throw new RefusedKubeconfigField(source, `${ctx.path}.cluster`, 'names no cluster of the kubeconfig');
  if (!user) throw new RefusedKubeconfigField(source, `${ctx.path}.user`, 'names no user of the kubeconfig');

  const namespace = own(ctx.body, 'namespace');
  return new KubeClient({
    contextName: current, clusterName: String(clusterName), userName: String(userName), skipTLSVerify: false, ...cluster, user,
    ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}),
  }, opts);
}
