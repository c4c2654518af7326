/**
 * The TLS side of a static-credential client (src/kube/access.ts) against a real HTTPS server: the
 * server is verified with the kubeconfig's CA, the client certificate is presented, connections after
 * the first work too (one TLS context per client), and unloadable PEM material fails each request
 * with an error instead of failing the client's creation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { generateClusterCerts } from '../testing/testbed/certs.ts';
import { KubeClient } from './client.ts';

const certs = await generateClusterCerts('access-tls-test');
const other = await generateClusterCerts('access-tls-other');
const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(server: string, caPem: string, user: Record<string, string>): string {
  return stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
    clusters: [{ name: 'k', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  });
}

test('a client verifies the API server with its CA, presents its certificate on every connection, and bad PEM fails requests, not creation', async (t) => {
  const seen: string[] = [];
  const server = createServer({ cert: certs.serverCertPem, key: certs.serverKeyPem, ca: certs.caCertPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const cn = req.socket instanceof TLSSocket ? req.socket.getPeerCertificate().subject.CN : undefined;
    seen.push(Array.isArray(cn) ? cn.join(',') : cn ?? '(none)');
    res.setHeader('content-type', 'application/json');
    // Close every connection so that the next request makes a new one.
    res.setHeader('connection', 'close');
    res.end(JSON.stringify({ kind: 'Status', path: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => { server.close(); });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const user = { 'client-certificate-data': b64(certs.adminCertPem), 'client-key-data': b64(certs.adminKeyPem) };

  const good = KubeClient.fromString(kubeconfig(url, certs.caCertPem, user), 'test');
  for (const p of ['/api', '/apis', '/version']) {
    const r = await good.requestText('GET', p);
    assert.equal(r.status, 200, p);
  }
  assert.equal(seen.length, 3, 'three requests, three connections');
  assert.ok(seen.every((cn) => cn !== '(none)' && cn !== ''), `client certificate presented on each connection: ${seen.join(', ')}`);

  const wrongCa = KubeClient.fromString(kubeconfig(url, other.caCertPem, user), 'test');
  await assert.rejects(wrongCa.requestText('GET', '/api'), /certificate|self.signed|verify/i, 'a server the CA did not sign is refused');

  const badPem = KubeClient.fromString(kubeconfig(url, certs.caCertPem, { 'client-certificate-data': b64('not a certificate'), 'client-key-data': b64('not a key') }), 'test');
  await assert.rejects(badPem.requestText('GET', '/api'), 'unloadable client certificate: the request fails');
  console.log(`client certificate subjects seen: ${seen.join(', ')}`);
});
