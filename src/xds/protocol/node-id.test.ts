import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidIp, nodeIdProblem, quoteInput } from './node-id.ts';

test('node ids are checked like istiod checks them, plus control characters and length', () => {
  const ok = (id: string, ips?: unknown) => { assert.equal(nodeIdProblem(id, ips), undefined, id); };
  const bad = (id: string, re: RegExp, ips?: unknown) => { assert.match(nodeIdProblem(id, ips) ?? '(accepted)', re, id); };
  ok('sidecar~10.0.0.1~app.ns~ns.svc.cluster.local');
  ok('router~fd00::1~gw.ns~ns.svc.cluster.local');
  ok('sidecar~fe80::1%eth0~app.ns~ns.svc.cluster.local');
  ok('sidecar~~app.ns~ns.svc.cluster.local', '10.0.0.1,10.0.0.2');
  bad('', /empty/);
  bad('sidecar~~app.ns~ns.svc.cluster.local', /invalid IP address ""/);
  bad('sidecar~[::1]~app.ns~ns.svc.cluster.local', /invalid IP address "\[::1\]"/);
  bad('sidecar~1.2.3~app.ns~ns.svc.cluster.local', /invalid IP address/);
  bad('sidecar~10.0.0.1~app.ns~ns.svc.cluster.local', /invalid IP address "x"/, '10.0.0.1,x');
  bad('sidecar~10.0.0.1~app.ns~ns.svc.cluster.local', /comma-separated string/, 7);
  bad('sidecar~10.0.0.1~app\u0000.ns~ns.svc.cluster.local', /control characters: "sidecar~10\.0\.0\.1~app\\u0000\.ns/);
  bad('sidecar~10.0.0.1~app\u0085.ns~ns.svc.cluster.local', /control characters/);
  bad('envoy~10.0.0.1~app.ns~ns.svc.cluster.local', /invalid node type "envoy"/);
  bad('sidecar~10.0.0.1~~ns.svc.cluster.local', /third part/);
  bad('a~b', /has 2 parts, want 4/);
  const huge = nodeIdProblem(`sidecar~10.0.0.1~${'x'.repeat(100_000)}~d`, undefined) ?? '';
  assert.match(huge, /is 100019 characters long \(limit 1024\)/);
  assert.ok(huge.length < 200, 'the message quotes only a prefix');
});

test('quoteInput escapes and cuts', () => {
  assert.equal(quoteInput('a\u0000b'), '"a\\u0000b"');
  assert.equal(quoteInput('x'.repeat(10), 4), '"xxxx"...(10 chars)');
  assert.equal(quoteInput('a\u2028'), '"a\\u2028"');
  assert.equal(isValidIp('::'), true);
  assert.equal(isValidIp('10.0.0.1:80'), false);
});
