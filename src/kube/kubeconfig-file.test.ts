import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { generateClusterCerts } from '../testing/testbed/certs.ts';
import { KubeClient } from './client.ts';
import { accessFromDefault, accessFromFile, accessFromKubeconfig } from './kubeconfig-file.ts';

const certs = await generateClusterCerts('kubeconfig-file-test');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-kubeconfig-file-'));
process.on('exit', () => { rmSync(dir, { recursive: true, force: true }); });

/** A real HTTPS server with the test bed's server certificate; answers who called with what. */
interface Seen { readonly authorization: string | undefined; readonly clientCn: string | undefined }
const seen: Seen[] = [];
const server = createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem, ca: certs.caCertPem, requestCert: true, rejectUnauthorized: false }, (req: IncomingMessage, res) => {
  const sock = req.socket;
  // rejectUnauthorized is off so that calls without a certificate get through: `authorized` says a verified one came.
  const cn = sock instanceof TLSSocket && sock.authorized ? sock.getPeerCertificate().subject.CN : undefined;
  const s: Seen = { authorization: req.headers.authorization, clientCn: typeof cn === 'string' ? cn : undefined };
  seen.push(s);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ kind: 'Status', path: req.url, ...s }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
test.after(() => { server.close(); });

type Obj = Record<string, unknown>;
const config = (opts: { cluster?: Obj; user?: Obj; context?: Obj; current?: string; names?: string } = {}): string => {
  const n = opts.names ?? 'a';
  return stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': opts.current ?? `ctx-${n}`,
    clusters: [{ name: `cl-${n}`, cluster: { server: url, 'certificate-authority-data': b64(certs.caCertPem), ...opts.cluster } }],
    users: [{ name: `u-${n}`, user: opts.user ?? { token: `token-${n}` } }],
    contexts: [{ name: `ctx-${n}`, context: { cluster: `cl-${n}`, user: `u-${n}`, ...opts.context } }],
  });
};

async function call(client: KubeClient): Promise<Seen> {
  return client.request<Seen>('GET', '/api');
}

test('a bearer token is sent over TLS verified against the kubeconfig CA', async () => {
  const client = KubeClient.fromString(config(), 'test kubeconfig');
  const s = await call(client);
  assert.equal(s.authorization, 'Bearer token-a');
  assert.equal(s.clientCn, undefined);
  assert.equal(client.contextName, 'ctx-a');
});

test('file paths are read relative to the kubeconfig file: CA, client certificate and key, token file', async () => {
  const sub = join(dir, 'rel');
  mkdirSync(join(sub, 'pki'), { recursive: true });
  writeFileSync(join(sub, 'pki', 'ca.crt'), certs.caCertPem);
  writeFileSync(join(sub, 'pki', 'admin.crt'), certs.adminCertPem);
  writeFileSync(join(sub, 'pki', 'admin.key'), certs.adminKeyPem);
  writeFileSync(join(sub, 'pki', 'token'), 'token-from-file\n');
  const file = join(sub, 'kubeconfig');
  writeFileSync(file, config({
    cluster: { 'certificate-authority-data': undefined, 'certificate-authority': 'pki/ca.crt' },
    user: { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key', tokenFile: 'pki/token' },
    context: { namespace: 'team' },
  }));
  const client = KubeClient.fromFile(file);
  const s = await call(client);
  assert.equal(s.clientCn, 'isthmus-admin', 'the client certificate is presented');
  assert.equal(s.authorization, 'Bearer token-from-file');
  assert.equal(client.contextNamespace, 'team');
});

test('a server whose certificate the CA did not sign is refused', async () => {
  const other = await generateClusterCerts('someone-else');
  const client = KubeClient.fromString(config({ cluster: { 'certificate-authority-data': b64(other.caCertPem) } }), 'test kubeconfig');
  await assert.rejects(call(client), /fetch failed|certificate/);
});

test('tls-server-name is the name the certificate is verified against', async () => {
  const ok = KubeClient.fromString(config({ cluster: { 'tls-server-name': 'kubernetes.default.svc' } }), 'test kubeconfig');
  assert.equal((await call(ok)).authorization, 'Bearer token-a');
  const wrong = KubeClient.fromString(config({ cluster: { 'tls-server-name': 'not-in-the-certificate.example' } }), 'test kubeconfig');
  await assert.rejects(call(wrong));
});

test('an exec credential plugin is run (through client-node) and its token sent', async () => {
  const client = KubeClient.fromString(config({
    user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'sh', args: ['-c', 'echo \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"token-from-exec"}}\''], interactiveMode: 'Never' } },
  }), 'test kubeconfig');
  assert.equal(client.access.delegated?.because, 'users[0].user.exec');
  const s = await call(client);
  assert.equal(s.authorization, 'Bearer token-from-exec');
});

test('KUBECONFIG lists are merged as kubectl does: the first definition of a name and the first current-context win', () => {
  const f1 = join(dir, 'k1');
  const f2 = join(dir, 'k2');
  writeFileSync(f1, config({ names: 'a', current: '' }));
  writeFileSync(f2, [config({ names: 'b' })].join(''));
  const merged = accessFromDefault(undefined, { KUBECONFIG: `${f1}:${join(dir, 'missing')}:${f2}` });
  assert.equal(merged.contextName, 'ctx-b', 'the first non-empty current-context');
  assert.deepEqual(merged.user, { token: 'token-b' });
  const a = accessFromDefault('ctx-a', { KUBECONFIG: `${f1}:${f2}` });
  assert.deepEqual(a.user, { token: 'token-a' });
  // A second file defining the same user name does not override the first.
  writeFileSync(f2, config({ names: 'a', user: { token: 'shadowed' } }));
  assert.deepEqual(accessFromDefault('ctx-a', { KUBECONFIG: `${f1}:${f2}` }).user, { token: 'token-a' });
});

test('bad kubeconfigs are refused with the file and field named', () => {
  const bad: [string, string, RegExp][] = [
    ['no such context', config(), /no context named "nope"/],
    ['current context names no cluster', config({ context: { cluster: 'ghost' } }), /the current context names no cluster/],
    ['server not a URL', config({ cluster: { server: 'localhost:6443' } }), /cluster cl-a has no valid server URL/],
    ['impersonation', config({ user: { token: 't', as: 'system:admin' } }), /users\[0\]\.user\.as: impersonation is not supported/],
    ['user missing', config({ context: { user: 'ghost' } }), /contexts\[0\]\.context\.user names no user \("ghost"\)/],
    ['certificate without key', config({ user: { 'client-certificate-data': b64(certs.adminCertPem) } }), /users\[0\]\.user: a client certificate needs its key/],
    ['CA file missing', config({ cluster: { 'certificate-authority-data': undefined, 'certificate-authority': '/nonexistent/ca.crt' } }), /clusters\[0\]\.cluster\.certificate-authority: cannot read \/nonexistent\/ca\.crt/],
    ['not YAML', 'clusters: [', /not valid YAML/],
    ['not a mapping', '- a\n- b\n', /not a kubeconfig/],
  ];
  for (const [name, text, want] of bad) {
    assert.throws(() => accessFromKubeconfig([{ text }], 'kubeconfig /x', name === 'no such context' ? 'nope' : undefined), (err: unknown) => {
      assert.ok(isIsthmusError(err, ErrorCodes.KubeConfig), `${name}: ${String(err)}`);
      assert.match((err as Error).message, want, name);
      assert.match((err as Error).message, /^kubeconfig \/x: /, name);
      return true;
    }, name);
  }
  assert.throws(() => accessFromFile(join(dir, 'does-not-exist')), /cannot load kubeconfig .*does-not-exist/);
  assert.throws(() => accessFromDefault(undefined, { KUBECONFIG: join(dir, 'missing') }), /none of the files in KUBECONFIG exists/);
});
