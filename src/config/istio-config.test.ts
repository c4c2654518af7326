import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertDestinationRule, convertGateway } from './istio-config.ts';

const meta = (name: string, namespace = 'istio-system') => ({ name, namespace });

test('the guide\'s cross-network-gateway converts to an AUTO_PASSTHROUGH server on 15443 for *.local', () => {
  const r = convertGateway({
    metadata: meta('cross-network-gateway'),
    spec: { selector: { istio: 'eastwestgateway' }, servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }] },
  });
  assert.deepEqual(r, { ok: true, value: {
    name: 'cross-network-gateway', namespace: 'istio-system', selector: { istio: 'eastwestgateway' },
    servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts: ['*.local'], tls: { mode: 'AUTO_PASSTHROUGH' } }],
  } });
});

test('invalid Gateways are refused with the field that is wrong', () => {
  const cases: [unknown, RegExp][] = [
    [{ selector: { istio: 7 } }, /spec\.selector\.istio: want a string/],
    [{ servers: 'x' }, /spec\.servers: want a list/],
    [{ servers: [{ port: { number: 70000 }, hosts: ['*'] }] }, /spec\.servers\[0\]\.port\.number: want 1-65535/],
    [{ servers: [{ port: { number: 443 }, hosts: [] }] }, /spec\.servers\[0\]\.hosts/],
    [{ servers: [{ port: { number: 443 }, hosts: ['*'], tls: { mode: 'SOMETIMES' } }] }, /spec\.servers\[0\]\.tls\.mode: want one of/],
  ];
  for (const [spec, re] of cases) {
    const r = convertGateway({ metadata: meta('g'), spec });
    assert.equal(r.ok, false);
    assert.match(r.error, re);
  }
});

test('DestinationRule short hosts resolve in the rule\'s namespace; subsets keep their labels', () => {
  const r = convertDestinationRule({ metadata: meta('hello', 'sample'), spec: { host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } });
  assert.deepEqual(r, { ok: true, value: { host: 'helloworld.sample.svc.cluster.local', namespace: 'sample', subsets: [{ name: 'v1', labels: { version: 'v1' } }] } });
  const bad = convertDestinationRule({ metadata: meta('x', 'sample'), spec: { host: 'h', subsets: [{ labels: {} }] } });
  assert.equal(bad.ok, false);
  assert.match(bad.error, /spec\.subsets\[0\]\.name: required/);
});
