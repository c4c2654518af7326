import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generateClusterCerts } from '../../testing/testbed/certs.ts';
import { ErrorCodes, isIsthmusError } from '../../model/errors.ts';
import { requestAuth } from '../access.ts';
import { RefusedKubeconfigField, clientFromUntrustedKubeconfig } from './kubeconfig.ts';

const certs = await generateClusterCerts('kubeconfig-test');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-kubeconfig-'));
const secretFile = join(dir, 'secret-token');
writeFileSync(secretFile, 'file-content-that-must-not-leave');
const marker = join(dir, 'command-ran');
const cmd = { command: 'sh', args: ['-c', `touch ${marker}; echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"x"}}'`] };
process.on('exit', () => { rmSync(dir, { recursive: true, force: true }); });

type Obj = Record<string, unknown>;

function kubeconfig(opts: { cluster?: Obj; user?: Obj; context?: Obj; top?: Obj; extraUser?: Obj } = {}): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {}, 'current-context': 'c2',
    clusters: [{ name: 'cluster2', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': b64(certs.caCertPem), ...opts.cluster } }],
    users: [
      { name: 'reader', user: opts.user ?? { token: 'inline-token' } },
      ...(opts.extraUser ? [{ name: 'other', user: opts.extraUser }] : []),
    ],
    contexts: [{ name: 'c2', context: { cluster: 'cluster2', user: 'reader', ...opts.context } }],
    ...opts.top,
  });
}

test('an inline token or inline client certificate is accepted and nothing else reaches the client', async () => {
  const client = clientFromUntrustedKubeconfig(kubeconfig({ cluster: { 'tls-server-name': 'kubernetes.default.svc', 'insecure-skip-tls-verify': false } }), 'secret s key "cluster2"');
  assert.equal(client.server, 'https://127.0.0.1:6443');
  assert.deepEqual(client.access, {
    contextName: 'c2', clusterName: 'cluster2', userName: 'reader', skipTLSVerify: false, server: 'https://127.0.0.1:6443',
    caPem: certs.caCertPem, tlsServerName: 'kubernetes.default.svc', user: { token: 'inline-token' },
  });
  assert.deepEqual((await requestAuth(client.access).prepare()).headers, { authorization: 'Bearer inline-token' });

  const withCert = clientFromUntrustedKubeconfig(kubeconfig({ user: { 'client-certificate-data': b64(certs.adminCertPem), 'client-key-data': b64(certs.adminKeyPem) } }), 'secret s key "cluster2"');
  assert.deepEqual(withCert.access.user, { certPem: certs.adminCertPem, keyPem: certs.adminKeyPem });
  assert.deepEqual((await requestAuth(withCert.access).prepare()).headers, {});
});

/** Every field @kubernetes/client-node 2.x reads from a kubeconfig besides the allowed ones. */
const refused: { name: string; config: string; field: string }[] = [
  { name: 'user token-file (read at load time, sent as bearer token)', config: kubeconfig({ user: { 'token-file': secretFile } }), field: 'users[0].user.token-file' },
  { name: 'user tokenFile', config: kubeconfig({ user: { token: 't', tokenFile: secretFile } }), field: 'users[0].user.tokenFile' },
  { name: 'user exec plugin', config: kubeconfig({ user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', ...cmd } } }), field: 'users[0].user.exec' },
  { name: 'auth-provider oidc with config.exec (run by the exec authenticator)', config: kubeconfig({ user: { 'auth-provider': { name: 'oidc', config: { exec: cmd } } } }), field: 'users[0].user.auth-provider' },
  { name: 'auth-provider oidc with an idp issuer (network fetch, CA file)', config: kubeconfig({ user: { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://127.0.0.1:1', 'client-id': 'x', 'refresh-token': 'r', 'idp-certificate-authority': secretFile } } } }), field: 'users[0].user.auth-provider' },
  { name: 'auth-provider config.tokenFile (file authenticator)', config: kubeconfig({ user: { 'auth-provider': { name: 'x', config: { tokenFile: secretFile } } } }), field: 'users[0].user.auth-provider' },
  { name: 'auth-provider gcp cmd-path', config: kubeconfig({ user: { 'auth-provider': { name: 'gcp', config: { 'cmd-path': 'sh', 'cmd-args': `-c "touch ${marker}"` } } } }), field: 'users[0].user.auth-provider' },
  { name: 'auth-provider azure cmd-path', config: kubeconfig({ user: { 'auth-provider': { name: 'azure', config: { 'cmd-path': 'sh' } } } }), field: 'users[0].user.auth-provider' },
  { name: 'user client-certificate file', config: kubeconfig({ user: { 'client-certificate': secretFile, 'client-key-data': b64(certs.adminKeyPem) } }), field: 'users[0].user.client-certificate' },
  { name: 'user client-key file', config: kubeconfig({ user: { 'client-certificate-data': b64(certs.adminCertPem), 'client-key': secretFile } }), field: 'users[0].user.client-key' },
  { name: 'user username', config: kubeconfig({ user: { username: 'admin', token: 't' } }), field: 'users[0].user.username' },
  { name: 'user password', config: kubeconfig({ user: { password: 'p', token: 't' } }), field: 'users[0].user.password' },
  { name: 'user as (impersonation)', config: kubeconfig({ user: { token: 't', as: 'system:admin' } }), field: 'users[0].user.as' },
  { name: 'user as-groups', config: kubeconfig({ user: { token: 't', 'as-groups': ['system:masters'] } }), field: 'users[0].user.as-groups' },
  { name: 'user extensions', config: kubeconfig({ user: { token: 't', extensions: [] } }), field: 'users[0].user.extensions' },
  { name: 'cluster certificate-authority file', config: kubeconfig({ cluster: { 'certificate-authority': secretFile } }), field: 'clusters[0].cluster.certificate-authority' },
  { name: 'cluster proxy-url', config: kubeconfig({ cluster: { 'proxy-url': 'http://127.0.0.1:3128' } }), field: 'clusters[0].cluster.proxy-url' },
  { name: 'cluster insecure-skip-tls-verify true', config: kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }), field: 'clusters[0].cluster.insecure-skip-tls-verify' },
  { name: 'cluster plain http server', config: kubeconfig({ cluster: { server: 'http://127.0.0.1:8080' } }), field: 'clusters[0].cluster.server' },
  { name: 'cluster server with credentials', config: kubeconfig({ cluster: { server: 'https://u:p@127.0.0.1:6443' } }), field: 'clusters[0].cluster.server' },
  { name: 'cluster extensions', config: kubeconfig({ cluster: { extensions: [] } }), field: 'clusters[0].cluster.extensions' },
  { name: 'cluster CA data that is not a certificate', config: kubeconfig({ cluster: { 'certificate-authority-data': b64('not a cert') } }), field: 'clusters[0].cluster.certificate-authority-data' },
  { name: 'tls-server-name that is not a name', config: kubeconfig({ cluster: { 'tls-server-name': 'a b/c' } }), field: 'clusters[0].cluster.tls-server-name' },
  { name: 'context extensions', config: kubeconfig({ context: { extensions: [] } }), field: 'contexts[0].context.extensions' },
  { name: 'a forbidden field in a user the current context does not use', config: kubeconfig({ extraUser: { 'token-file': secretFile } }), field: 'users[1].user.token-file' },
  { name: 'token with a newline (header injection)', config: kubeconfig({ user: { token: 'a\r\nX-Evil: 1' } }), field: 'users[0].user.token' },
  { name: 'no credential at all', config: kubeconfig({ user: {} }), field: 'users[0].user' },
  { name: 'unknown top-level field', config: kubeconfig({ top: { 'x-exec': 'sh' } }), field: 'x-exec' },
  { name: 'a field name made of control bytes is escaped', config: kubeconfig({ user: { token: 't', 'e\u0000\u001b[31m': 1 } }), field: 'users[0].user."e\\u0000\\u001b[31m"' },
];

for (const c of refused) {
  test(`refused: ${c.name}`, async () => {
    let err: unknown;
    try {
      const client = clientFromUntrustedKubeconfig(c.config, 'secret istio-system/evil key "cluster2"');
      // Had it been accepted, this is where credentials would be applied (commands run, files read).
      await requestAuth(client.access).prepare();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RefusedKubeconfigField, `expected a refusal, got ${String(err)}`);
    assert.ok(isIsthmusError(err, ErrorCodes.RemoteKubeconfigRefused));
    assert.equal(err.field, c.field);
    assert.match(err.message, /^secret istio-system\/evil key "cluster2": /);
    assert.ok(err.message.includes(c.field), err.message);
    assert.ok(!err.message.includes('file-content-that-must-not-leave'));
    assert.equal(existsSync(marker), false, 'a command from the kubeconfig ran');
  });
}

test('malformed text is a kubeconfig error, not a crash', () => {
  for (const text of ['{', '- a\n- b', 'x'.repeat(2 * 1024 * 1024), 'a: &a [*a, *a]']) {
    assert.throws(() => clientFromUntrustedKubeconfig(text, 'secret s key "k"'), (e: unknown) => isIsthmusError(e));
  }
});
