/** Kubeconfig files and a minimal admin HTTPS client for test-bed clusters. */
import { request } from 'node:https';
import { stringify } from 'yaml';

export interface AdminCredentials {
  readonly server: string;
  readonly caCertPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** An admin kubeconfig whose cluster, context and user are all named after the cluster. */
export function adminKubeconfig(name: string, creds: AdminCredentials): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: creds.server, 'certificate-authority-data': b64(creds.caCertPem) } }],
    users: [{ name, user: { 'client-certificate-data': b64(creds.clientCertPem), 'client-key-data': b64(creds.clientKeyPem) } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    preferences: {},
  });
}

/** A kubeconfig that authenticates with a bearer token (a remote secret's); cluster, context and user are all `name`. */
export function tokenKubeconfig(opts: { readonly name: string; readonly server: string; readonly caCertPem: string; readonly token: string }): string {
  const { name } = opts;
  return stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caCertPem) } }],
    users: [{ name, user: { token: opts.token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
}

/** One request to the API server as cluster admin. */
export async function adminRequest(creds: AdminCredentials, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<ApiResponse> {
  const url = new URL(path, creds.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method,
      ca: creds.caCertPem,
      cert: creds.clientCertPem,
      key: creds.clientKeyPem,
      timeout: timeoutMs,
      headers: payload === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error(`${method} ${url.href} timed out after ${timeoutMs} ms`)); });
    req.on('error', reject);
    req.end(payload);
  });
}
