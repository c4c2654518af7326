import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertVirtualService } from './virtual-service.ts';
import { exposeIstiod } from '../operator/eastwest.ts';

const meta = (name: string, namespace = 'istio-system') => ({ name, namespace });

test('the guide\'s istiod-vs converts to two tls routes, bound to istio-system/istiod-gateway', () => {
  const vs = exposeIstiod().find((o) => o.kind === 'VirtualService');
  assert.ok(vs);
  const r = convertVirtualService({ metadata: meta(vs.metadata.name), spec: vs['spec'] });
  assert.deepEqual(r, { ok: true, value: {
    name: 'istiod-vs', namespace: 'istio-system', hosts: ['*'], gateways: ['istio-system/istiod-gateway'],
    tls: [
      { match: [{ sniHosts: ['*'], port: 15012, gateways: [] }], route: [{ host: 'istiod.istio-system.svc.cluster.local', port: 15012, subset: '', weight: 100 }] },
      { match: [{ sniHosts: ['*'], port: 15017, gateways: [] }], route: [{ host: 'istiod.istio-system.svc.cluster.local', port: 443, subset: '', weight: 100 }] },
    ],
  } });
});

test('VirtualService defaults: gateways `mesh`, short hosts in the object\'s namespace, `ns/name` gateway refs kept', () => {
  const r = convertVirtualService({ metadata: meta('v', 'sample'), spec: {
    hosts: ['db'], tls: [{ match: [{ sniHosts: ['db.example'], gateways: ['edge', 'other/gw'] }], route: [{ destination: { host: 'db', subset: 'v1' } }] }],
  } });
  assert.ok(r.ok);
  assert.deepEqual(r.value.gateways, ['mesh']);
  const [first] = r.value.tls;
  assert.ok(first);
  assert.deepEqual(first.match[0]?.gateways, ['sample/edge', 'other/gw']);
  assert.deepEqual(first.route, [{ host: 'db.sample.svc.cluster.local', subset: 'v1', weight: 100 }]);
});

test('invalid VirtualServices are refused with the field that is wrong', () => {
  const route = [{ destination: { host: 'a' } }];
  const cases: [unknown, RegExp][] = [
    ['x', /^spec: want an object/],
    [{}, /^spec\.hosts: want a non-empty list/],
    [{ hosts: ['*'], gateways: [3] }, /^spec\.gateways: want a list of non-empty strings/],
    [{ hosts: ['*'], tls: {} }, /^spec\.tls: want a list/],
    [{ hosts: ['*'], tls: [{ route }] }, /^spec\.tls\[0\]\.match: want a non-empty list/],
    [{ hosts: ['*'], tls: [{ match: [{}], route }] }, /^spec\.tls\[0\]\.match\[0\]\.sniHosts: want a non-empty list/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'], port: 0 }], route }] }, /^spec\.tls\[0\]\.match\[0\]\.port: want 1-65535/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }] }] }, /^spec\.tls\[0\]\.route: want a non-empty list/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }], route: [{}] }] }, /^spec\.tls\[0\]\.route\[0\]\.destination: required/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }], route: [{ destination: { host: 'Bad_Host' } }] }] }, /^spec\.tls\[0\]\.route\[0\]\.destination\.host: "Bad_Host" is not a host name/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }], route: [{ destination: { host: 'a', port: { number: 'x' } } }] }] }, /^spec\.tls\[0\]\.route\[0\]\.destination\.port\.number: want 1-65535/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }], route: [{ destination: { host: 'a' }, weight: 101 }] }] }, /^spec\.tls\[0\]\.route\[0\]\.weight: want 0-100/],
    [{ hosts: ['*'], tls: [{ match: [{ sniHosts: ['a'] }], route: [{ destination: { host: 'a' } }, { destination: { host: 'b' } }] }] }, /^spec\.tls\[0\]\.route: weights of several destinations must not all be 0/],
  ];
  for (const [spec, re] of cases) {
    const r = convertVirtualService({ metadata: meta('bad'), spec });
    assert.equal(r.ok, false, JSON.stringify(spec));
    assert.match(r.error, re);
  }
});
