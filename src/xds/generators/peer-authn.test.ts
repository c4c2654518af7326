/** PeerAuthentication composition: mesh, namespace, workload and port-level precedence (docs/istio-compat.md §13). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MtlsMode, PeerAuthentication } from '../../model/mesh-view.ts';
import { inboundMtlsPolicy, modeForPort } from './peer-authn.ts';
import { fakeMeshView } from '../../testing/mesh/builders.ts';

function pa(namespace: string, name: string, mode: MtlsMode, more: Partial<PeerAuthentication> = {}): PeerAuthentication {
  return { name, namespace, inRootNamespace: namespace === 'istio-system', selector: {}, mode, portLevelMtls: [], creationTimestamp: '2026-01-01T00:00:00Z', ...more };
}

const resolve = (pas: PeerAuthentication[], ns = 'shop', labels: Record<string, string> = { app: 'web' }) => inboundMtlsPolicy(fakeMeshView({ peerAuthentications: pas }), ns, labels);

test('no PeerAuthentication: every port PERMISSIVE', () => {
  const p = resolve([]);
  assert.equal(p.mode, 'PERMISSIVE');
  assert.equal(modeForPort(p, 8080), 'PERMISSIVE');
});

test('mesh-wide policy (root namespace, no selector) applies to every namespace', () => {
  assert.equal(resolve([pa('istio-system', 'default', 'STRICT')]).mode, 'STRICT');
  assert.equal(resolve([pa('istio-system', 'default', 'STRICT')], 'istio-system').mode, 'STRICT');
  // a namespace-wide policy of another namespace does not
  assert.equal(resolve([pa('other', 'default', 'STRICT')]).mode, 'PERMISSIVE');
});

test('namespace beats mesh, workload beats namespace; UNSET inherits the wider scope', () => {
  const mesh = pa('istio-system', 'default', 'STRICT');
  const ns = pa('shop', 'default', 'DISABLE');
  const wl = pa('shop', 'web', 'PERMISSIVE', { selector: { app: 'web' } });
  assert.equal(resolve([mesh, ns]).mode, 'DISABLE');
  assert.equal(resolve([mesh, ns, wl]).mode, 'PERMISSIVE');
  assert.equal(resolve([mesh, pa('shop', 'default', 'UNSET'), pa('shop', 'web', 'UNSET', { selector: { app: 'web' } })]).mode, 'STRICT', 'UNSET at namespace and workload: the mesh mode');
  assert.equal(resolve([pa('istio-system', 'default', 'UNSET')]).mode, 'PERMISSIVE', 'UNSET everywhere: the default');
});

test('a workload policy applies only where its selector matches the proxy labels', () => {
  const wl = pa('shop', 'db-only', 'STRICT', { selector: { app: 'db', tier: 'data' } });
  assert.equal(resolve([wl], 'shop', { app: 'web' }).mode, 'PERMISSIVE');
  assert.equal(resolve([wl], 'shop', { app: 'db' }).mode, 'PERMISSIVE', 'every selector label must match');
  assert.equal(resolve([wl], 'shop', { app: 'db', tier: 'data', version: 'v1' }).mode, 'STRICT');
  assert.equal(resolve([wl], 'other', { app: 'db', tier: 'data' }).mode, 'PERMISSIVE', 'only in its own namespace');
  // istiod ignores policies with a selector in the root namespace
  assert.equal(resolve([pa('istio-system', 'sel', 'STRICT', { selector: { app: 'web' } })]).mode, 'PERMISSIVE');
});

test('port-level modes override the workload mode for their target port; UNSET there = the workload mode', () => {
  const mesh = pa('istio-system', 'default', 'STRICT');
  const wl = pa('shop', 'web', 'UNSET', { selector: { app: 'web' }, portLevelMtls: [{ port: 8080, mode: 'DISABLE' }, { port: 9000, mode: 'UNSET' }] });
  const p = resolve([mesh, wl]);
  assert.equal(p.mode, 'STRICT');
  assert.equal(modeForPort(p, 8080), 'DISABLE');
  assert.equal(modeForPort(p, 9000), 'STRICT');
  assert.equal(modeForPort(p, 3306), 'STRICT');
});

test('of several policies at one scope the oldest wins, then the first by name', () => {
  const newer = pa('shop', 'a-newer', 'DISABLE', { creationTimestamp: '2026-03-01T00:00:00Z' });
  const older = pa('shop', 'z-older', 'STRICT', { creationTimestamp: '2026-02-01T00:00:00Z' });
  assert.equal(resolve([newer, older]).mode, 'STRICT');
  assert.equal(resolve([pa('shop', 'b', 'DISABLE'), pa('shop', 'a', 'STRICT')]).mode, 'STRICT');
});
