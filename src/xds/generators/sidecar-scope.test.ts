/** Sidecar resources scope what a sidecar gets, chosen and matched as istiod does. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SidecarConfig } from '../../model/mesh-view.ts';
import { echo, helloworld, hidden, mysql } from '../../testing/mesh/fixtures.ts';
import { fakeMeshView, proxy } from '../../testing/mesh/builders.ts';
import { generate as cds, cacheKey as cdsKey } from './cds.ts';
import { generate as lds } from './lds.ts';
import { generate as rds, cacheKey as rdsKey } from './rds.ts';
import { sidecarFor } from './sidecar-scope.ts';

const sc = (name: string, namespace: string, egressHosts: SidecarConfig['egressHosts'], selector: Record<string, string> = {}, creationTimestamp = '2026-12-01T00:00:00Z'): SidecarConfig =>
  ({ name, namespace, inRootNamespace: namespace === 'istio-system', selector, egressHosts, creationTimestamp });

const onlySample = sc('default', 'sample', [{ namespace: 'sample', host: '*' }]);
const services = [helloworld, echo, mysql, hidden];

test('the workload Sidecar wins over the namespace one, which wins over the root namespace one; oldest first', () => {
  const root = sc('default', 'istio-system', [{ namespace: '*', host: '*' }]);
  const workload = sc('sleep', 'sample', [{ namespace: 'db', host: '*' }], { app: 'sleep' });
  const newer = sc('sleep-2', 'sample', [{ namespace: '*', host: '*' }], { app: 'sleep' }, '2026-12-02T00:00:00Z');
  const view = fakeMeshView({ services, sidecars: [newer, root, onlySample, workload] });
  assert.equal(sidecarFor(view, 'sample', { app: 'sleep' })?.name, 'sleep');
  assert.equal(sidecarFor(view, 'sample', { app: 'other' }), onlySample);
  assert.equal(sidecarFor(view, 'db', {}), root, 'a namespace without its own falls back to the root namespace\'s');
  assert.equal(sidecarFor(fakeMeshView({ services }), 'sample', {}), undefined);
});

test('a sidecar under "./*" gets clusters, listeners and routes of its own namespace\'s services only', () => {
  const free = fakeMeshView({ services });
  const scoped = fakeMeshView({ services, sidecars: [onlySample] });
  const p = proxy({ namespace: 'sample' });
  const outbound = (v: typeof free) => cds(p, v, 'wildcard').map((r) => r.name).filter((n) => n.startsWith('outbound|'));
  assert.ok(outbound(free).some((n) => n.includes('mysql.db')), 'without a Sidecar, db\'s mysql is visible');
  assert.ok(outbound(scoped).length > 0 && outbound(scoped).every((n) => n.endsWith('.sample.svc.cluster.local')), outbound(scoped).join(', '));
  const listeners = lds(p, scoped, 'wildcard').map((r) => r.name);
  assert.ok(!listeners.some((n) => n.endsWith('_3306')), `no listener for mysql: ${listeners.join(', ')}`);
  assert.ok(listeners.includes('0.0.0.0_5000'), 'helloworld keeps its HTTP listener');
  const hosts = rds(p, scoped, ['5000']).flatMap((r) => (r.resource.virtualHosts ?? []).map((v) => v.name));
  assert.ok(hosts.includes(`${helloworld.hostname}:5000`));
  const other = proxy({ namespace: 'db' });
  assert.ok(cds(other, scoped, 'wildcard').some((r) => r.name.includes('helloworld')), 'proxies of other namespaces are not scoped');
  assert.notEqual(cdsKey(p, scoped), cdsKey(p, free), 'the Sidecar is part of the CDS cache key');
  assert.notEqual(rdsKey(p, scoped), rdsKey(p, free), 'and of the RDS one');
});

test('egress hosts match by namespace and host name; "~" admits nothing', () => {
  const p = proxy({ namespace: 'sample' });
  const names = (egressHosts: SidecarConfig['egressHosts']) => cds(p, fakeMeshView({ services, sidecars: [sc('default', 'sample', egressHosts)] }), 'wildcard')
    .map((r) => r.name).filter((n) => n.startsWith('outbound|') && !n.includes('|v'));
  assert.deepEqual(names([{ namespace: '*', host: 'mysql.db.svc.cluster.local' }]), ['outbound|3306||mysql.db.svc.cluster.local']);
  assert.deepEqual(names([{ namespace: 'db', host: '*.svc.cluster.local' }]), ['outbound|3306||mysql.db.svc.cluster.local']);
  assert.deepEqual(names([{ namespace: 'sample', host: 'mysql.db.svc.cluster.local' }]), [], 'the namespace part must match too');
  assert.deepEqual(names([{ namespace: '~', host: '*' }]), []);
  assert.deepEqual(names([{ namespace: 'other', host: '*' }]), [], 'a Sidecar cannot widen exportTo: private.other stays hidden');
});
