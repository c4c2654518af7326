/**
 * The webhook server under misbehaving callers and dependencies: a namespace look-up that never
 * answers must not hold a pod past the look-up deadline, and a client that sends half a body and
 * stalls must not delay other callers. Real TLS on loopback; the certificate comes from our CA code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { request } from 'node:https';
import { generateRootCa } from '../pki/root.ts';
import { ServingCertificate } from '../ca/server/serving.ts';
import { silentLogger } from '../observability/log.ts';
import { parseInjectorConfig } from './config.ts';
import { InjectionServer } from './server.ts';

const cfg = parseInjectorConfig({}, { clusterName: 'cluster1', istioNamespace: 'istio-system', trustDomain: 'cluster.local' });
let server: InjectionServer;
let port = 0;
let ca = '';
let lookups = 0;

before(async () => {
  const root = await generateRootCa();
  const cert = await ServingCertificate.create(root, { namespace: 'istio-system' });
  ca = cert.rootCertPem;
  server = new InjectionServer({
    address: '127.0.0.1:0', certChainPem: cert.certChainPem, keyPem: cert.keyPem, config: () => cfg, log: silentLogger,
    // A namespace look-up that never answers (an API server that hangs).
    namespaceInfo: () => { lookups++; return new Promise(() => undefined); },
    lookupTimeoutMs: 300,
  });
  port = (await server.listen()).port;
});

after(async () => { await server.close(); });

function post(body: string): Promise<{ status: number; body: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/inject', method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: Date.now() - t0 }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const podReview = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
  request: { uid: 'p-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'app', operation: 'CREATE', object: { metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'app' }] } } },
});

test('a hanging namespace look-up costs at most its deadline; the webhook selectors decide', async () => {
  const r = await post(podReview);
  console.log(`answer with a hanging namespace look-up: HTTP ${r.status} in ${r.ms} ms (deadline 300 ms)`);
  assert.equal(r.status, 200);
  assert.ok(lookups >= 1, 'the look-up was attempted');
  const resp = (JSON.parse(r.body) as { response: { allowed: boolean; patch?: string } }).response;
  assert.equal(resp.allowed, true);
  assert.ok(resp.patch, 'injected (policy enabled, namespace unknown)');
  assert.ok(r.ms >= 250, `waited for the deadline (${r.ms} ms)`);
  assert.ok(r.ms < 5000, `but not much longer (${r.ms} ms)`);
});

test('a client stalled half-way through its body does not delay another caller', async () => {
  const stalled = connect({ host: '127.0.0.1', port, ca, servername: 'istiod.istio-system.svc' });
  await new Promise<void>((resolve, reject) => { stalled.once('secureConnect', resolve); stalled.once('error', reject); });
  stalled.write(`POST /inject HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{"apiVersion":`);
  try {
    const bad = await post('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"kind":{"kind":"Service"},"uid":"s","operation":"CREATE","object":{}}}');
    console.log(`answer while another client stalls: HTTP ${bad.status} in ${bad.ms} ms`);
    assert.equal(bad.status, 200);
    assert.ok(bad.ms < 2000, `${bad.ms} ms`);
  } finally {
    stalled.destroy();
  }
});
