import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertPeerAuthentication } from './peer-authentication.ts';

const meta = (name: string, namespace: string) => ({ name, namespace, creationTimestamp: '2026-12-07T10:00:00Z' });

test('mesh-wide STRICT, a workload policy with port-level modes, and an empty spec convert', () => {
  assert.deepEqual(convertPeerAuthentication({ metadata: meta('default', 'istio-system'), spec: { mtls: { mode: 'STRICT' } } }, 'istio-system'), {
    ok: true,
    value: { name: 'default', namespace: 'istio-system', inRootNamespace: true, selector: {}, mode: 'STRICT', portLevelMtls: [], creationTimestamp: '2026-12-07T10:00:00Z' },
  });
  const wl = convertPeerAuthentication({
    metadata: meta('web', 'shop'),
    spec: { selector: { matchLabels: { app: 'web' } }, portLevelMtls: { 9090: { mode: 'DISABLE' }, 8080: {} } },
  }, 'istio-system');
  assert.deepEqual(wl, {
    ok: true,
    value: {
      name: 'web', namespace: 'shop', inRootNamespace: false, selector: { app: 'web' }, mode: 'UNSET',
      portLevelMtls: [{ port: 8080, mode: 'UNSET' }, { port: 9090, mode: 'DISABLE' }], creationTimestamp: '2026-12-07T10:00:00Z',
    },
  });
  const empty = convertPeerAuthentication({ metadata: { name: 'x', namespace: 'shop' } }, 'istio-system');
  assert.ok(empty.ok);
  assert.equal(empty.value.mode, 'UNSET');
});

test('invalid PeerAuthentications are refused with the field that is wrong', () => {
  const cases: [unknown, RegExp][] = [
    ['x', /^spec: want an object/],
    [{ mtls: { mode: 'SOMETIMES' } }, /spec\.mtls\.mode: want one of UNSET, DISABLE, PERMISSIVE, STRICT, got "SOMETIMES"/],
    [{ mtls: 'STRICT' }, /spec\.mtls: want an object with mode/],
    [{ selector: { matchLabels: { app: 3 } } }, /spec\.selector\.matchLabels\.app: want a string/],
    [{ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 0: { mode: 'STRICT' } } }, /spec\.portLevelMtls\.0: port want 1-65535/],
    [{ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { http: { mode: 'STRICT' } } }, /spec\.portLevelMtls\.http: port want 1-65535/],
    [{ selector: { matchLabels: { app: 'a' } }, portLevelMtls: { 8080: { mode: 'strict' } } }, /spec\.portLevelMtls\.8080\.mode: want one of/],
    [{ portLevelMtls: { 8080: { mode: 'STRICT' } } }, /spec\.portLevelMtls: needs spec\.selector/],
  ];
  for (const [spec, re] of cases) {
    const r = convertPeerAuthentication({ metadata: meta('bad', 'shop'), spec }, 'istio-system');
    assert.equal(r.ok, false, JSON.stringify(spec));
    assert.match(r.error, re);
  }
});
