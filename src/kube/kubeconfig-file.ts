/**
 * Kubeconfig files the operator gave us (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`) and the
 * in-cluster credentials, read into a `ClusterAccess`. These are trusted input (unlike remote
 * secrets, see `multicluster/kubeconfig.ts`): file paths are read, relative to the file naming them.
 *
 * `$KUBECONFIG` lists are merged as kubectl merges them: the first file to define a cluster, user
 * or context name wins, and the first non-empty `current-context` is the current one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import type { ClusterAccess, StaticCredentials } from './access.ts';
import { isBase64Text, isRecord } from '../model/json.ts';

/** One kubeconfig document: its text, and the file it came from (relative paths are relative to it). */
export interface KubeconfigText {
  readonly text: string;
  readonly file?: string;
}

type Mapping = Record<string, unknown>;

interface Entry { readonly name: string; readonly body: Mapping; readonly baseDir: string; readonly path: string }

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function fail(source: string, message: string, cause?: unknown): never {
  throw new IsthmusError(ErrorCodes.KubeConfig, `${source}: ${message}`, cause === undefined ? undefined : { cause });
}

function optString(source: string, e: Entry, key: string): string | undefined {
  const v = e.body[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(source, `${e.path}.${key} must be a string`);
  return v;
}

function fileText(source: string, e: Entry, key: string): string | undefined {
  const p = optString(source, e, key);
  if (p === undefined) return undefined;
  const abs = isAbsolute(p) ? p : resolve(e.baseDir, p);
  try {
    return readFileSync(abs, 'utf8');
  } catch (err) {
    return fail(source, `${e.path}.${key}: cannot read ${abs}: ${errorMessage(err)}`, err);
  }
}

function base64Text(source: string, e: Entry, key: string): string | undefined {
  const v = optString(source, e, key);
  if (v === undefined) return undefined;
  if (v === '' || !isBase64Text(v)) fail(source, `${e.path}.${key} is not base64 data`);
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Data wins over the file, as in kubectl. */
function pem(source: string, e: Entry, key: string): string | undefined {
  return base64Text(source, e, `${key}-data`) ?? fileText(source, e, key);
}

function parseDocs(docs: readonly KubeconfigText[], source: string): { sections: Record<'clusters' | 'users' | 'contexts', Map<string, Entry>>; current: string | undefined } {
  const sections = { clusters: new Map<string, Entry>(), users: new Map<string, Entry>(), contexts: new Map<string, Entry>() };
  const inner = { clusters: 'cluster', users: 'user', contexts: 'context' } as const;
  let current: string | undefined;
  for (const doc of docs) {
    const where = doc.file ?? source;
    let raw: unknown;
    try {
      raw = parse(doc.text);
    } catch (err) {
      return fail(where, `not valid YAML: ${errorMessage(err)}`, err);
    }
    if (raw === null || raw === undefined) continue;
    if (!isRecord(raw)) fail(where, 'not a kubeconfig (expected a YAML mapping)');
    const baseDir = doc.file === undefined ? process.cwd() : dirname(resolve(doc.file));
    for (const name of ['clusters', 'users', 'contexts'] as const) {
      const list = raw[name];
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) fail(where, `${name} must be a list`);
      list.forEach((item: unknown, i) => {
        const path = `${name}[${i}]`;
        if (!isRecord(item)) fail(where, `${path} must be a mapping`);
        const n = item['name'];
        if (typeof n !== 'string' || n === '') fail(where, `${path}.name must be a non-empty string`);
        const body = item[inner[name]] ?? {};
        if (!isRecord(body)) fail(where, `${path}.${inner[name]} must be a mapping`);
        if (!sections[name].has(n)) sections[name].set(n, { name: n, body, baseDir, path: `${path}.${inner[name]}` });
      });
    }
    const cc = raw['current-context'];
    if (current === undefined && typeof cc === 'string' && cc !== '') current = cc;
  }
  return { sections, current };
}

/** Absolute paths for the file fields client-node reads, so a delegated context reads the same files. */
function absolutePaths(body: Mapping, baseDir: string, keys: readonly string[]): Mapping {
  const out: Mapping = { ...body };
  for (const k of keys) {
    const v = out[k];
    if (typeof v === 'string' && v !== '' && !isAbsolute(v)) out[k] = resolve(baseDir, v);
  }
  return out;
}

/** The one context (the current one, or `context`) of one or more kubeconfig documents. */
export function accessFromKubeconfig(docs: readonly KubeconfigText[], source: string, context?: string): ClusterAccess {
  const { sections, current } = parseDocs(docs, source);
  const ctxName = context ?? current;
  if (ctxName === undefined) fail(source, 'no current-context is set');
  const ctx = sections.contexts.get(ctxName);
  if (!ctx) fail(source, context !== undefined ? `no context named ${JSON.stringify(context)}` : `current-context names no context (${JSON.stringify(ctxName)})`);
  const clusterName = optString(source, ctx, 'cluster');
  const cluster = clusterName === undefined ? undefined : sections.clusters.get(clusterName);
  if (!cluster || clusterName === undefined) return fail(source, 'the current context names no cluster');
  const server = optString(source, cluster, 'server') ?? '';
  if (!/^https?:\/\//.test(server)) fail(source, `cluster ${clusterName} has no valid server URL (got ${JSON.stringify(server)})`);
  const userName = optString(source, ctx, 'user') ?? '';
  const user = sections.users.get(userName);
  if (userName !== '' && !user) fail(source, `${ctx.path}.user names no user (${JSON.stringify(userName)})`);
  const ub = user?.body ?? {};
  for (const k of ['as', 'as-groups', 'as-uid', 'as-user-extra']) {
    if (ub[k] !== undefined && user) fail(source, `${user.path}.${k}: impersonation is not supported by Isthmus`);
  }
  const skip = cluster.body['insecure-skip-tls-verify'];
  if (skip !== undefined && typeof skip !== 'boolean') fail(source, `${cluster.path}.insecure-skip-tls-verify must be true or false`);
  const namespace = optString(source, ctx, 'namespace');
  const tlsServerName = optString(source, cluster, 'tls-server-name');
  const caPem = pem(source, cluster, 'certificate-authority');
  const base = {
    contextName: ctxName, clusterName, server: server.replace(/\/$/, ''), skipTLSVerify: skip === true, userName,
    ...(namespace === undefined ? {} : { namespace }),
    ...(tlsServerName === undefined ? {} : { tlsServerName }),
    ...(caPem === undefined ? {} : { caPem }),
  };
  const plugin = user && (ub['exec'] !== undefined ? 'exec' : ub['auth-provider'] !== undefined ? 'auth-provider' : undefined);
  const proxy = cluster.body['proxy-url'] !== undefined;
  if (plugin !== undefined || proxy) {
    // client-node's own format: JSON is YAML. Only this context's entries, with file paths made absolute.
    const text = JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': ctxName,
      clusters: [{ name: clusterName, cluster: absolutePaths(cluster.body, cluster.baseDir, ['certificate-authority']) }],
      users: user ? [{ name: userName, user: absolutePaths(ub, user.baseDir, ['client-certificate', 'client-key', 'tokenFile']) }] : [],
      contexts: [{ name: ctxName, context: ctx.body }],
    });
    const because = plugin !== undefined && user ? `${user.path}.${plugin}` : `${cluster.path}.proxy-url`;
    return { ...base, user: {}, delegated: { kubeconfigText: text, baseDir: user?.baseDir ?? cluster.baseDir, because } };
  }
  const creds: StaticCredentials = {};
  if (user) {
    const token = optString(source, user, 'token');
    const tokenFile = optString(source, user, 'tokenFile');
    const certPem = pem(source, user, 'client-certificate');
    const keyPem = pem(source, user, 'client-key');
    if ((certPem === undefined) !== (keyPem === undefined)) fail(source, `${user.path}: a client certificate needs its key and a key its certificate`);
    const username = optString(source, user, 'username');
    const password = optString(source, user, 'password');
    Object.assign(creds, {
      ...(token === undefined ? {} : { token }),
      ...(tokenFile === undefined ? {} : { tokenFile: isAbsolute(tokenFile) ? tokenFile : resolve(user.baseDir, tokenFile) }),
      ...(certPem === undefined ? {} : { certPem }),
      ...(keyPem === undefined ? {} : { keyPem }),
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password }),
    });
  }
  return { ...base, user: creds };
}

/** A kubeconfig file; `context` overrides its current context. */
export function accessFromFile(file: string, context?: string): ClusterAccess {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `cannot load kubeconfig ${file}: ${errorMessage(err)}`, { cause: err });
  }
  return accessFromKubeconfig([{ text, file }], `kubeconfig ${file}`, context);
}

/** The service account of the pod this process runs in. */
export function inClusterAccess(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ClusterAccess {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined || host === '') throw new IsthmusError(ErrorCodes.KubeConfig, 'in-cluster credentials need a pod (KUBERNETES_SERVICE_HOST is not set)');
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) throw new IsthmusError(ErrorCodes.KubeConfig, `in-cluster credentials: ${tokenFile} does not exist`);
  let caPem: string;
  try {
    caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  } catch (err) {
    throw new IsthmusError(ErrorCodes.KubeConfig, `in-cluster credentials: cannot read ${join(dir, 'ca.crt')}: ${errorMessage(err)}`, { cause: err });
  }
  let namespace: string | undefined;
  try { namespace = readFileSync(join(dir, 'namespace'), 'utf8').trim() || undefined; } catch { namespace = undefined; }
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    contextName: 'inCluster', clusterName: 'inCluster', userName: 'inClusterUser', server: `https://${h}:${port}`,
    caPem, skipTLSVerify: false, user: { tokenFile }, ...(namespace === undefined ? {} : { namespace }),
  };
}

/**
 * As kubectl: the files of `$KUBECONFIG` (a list; files that do not exist are skipped), else
 * `~/.kube/config`; with neither, the in-cluster credentials when running in a pod.
 */
export function accessFromDefault(context?: string, env: NodeJS.ProcessEnv = process.env): ClusterAccess {
  const listed = (env['KUBECONFIG'] ?? '').split(delimiter).filter((f) => f !== '');
  const files = listed.length > 0 ? listed.filter((f) => existsSync(f)) : [join(env['HOME'] ?? homedir(), '.kube', 'config')].filter((f) => existsSync(f));
  if (files.length === 0) {
    if (env['KUBERNETES_SERVICE_HOST']) return inClusterAccess(env);
    throw new IsthmusError(ErrorCodes.KubeConfig, listed.length > 0 ? `none of the files in KUBECONFIG exists (${listed.join(delimiter)})` : 'no kubeconfig: ~/.kube/config does not exist and KUBECONFIG is not set');
  }
  const docs = files.map((file) => {
    try {
      return { text: readFileSync(file, 'utf8'), file };
    } catch (err) {
      throw new IsthmusError(ErrorCodes.KubeConfig, `cannot load kubeconfig ${file}: ${errorMessage(err)}`, { cause: err });
    }
  });
  const source = listed.length > 0 ? `kubeconfig ${listed.join(delimiter)}` : `kubeconfig ${files[0] ?? ''}`;
  return accessFromKubeconfig(docs, source, context);
}
