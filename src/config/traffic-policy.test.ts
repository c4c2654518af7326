import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertDestinationRule } from './istio-config.ts';
import { convertTrafficPolicy } from './traffic-policy.ts';

test('a traffic policy is converted with Go-syntax durations, port-level settings, and LEAST_CONN as LEAST_REQUEST', () => {
  const notes: string[] = [];
  const r = convertTrafficPolicy({
    loadBalancer: { simple: 'LEAST_CONN' },
    connectionPool: { tcp: { maxConnections: 100, connectTimeout: '250ms' }, http: { http2MaxRequests: 10, idleTimeout: '1m30s' } },
    outlierDetection: { consecutive5xxErrors: 5, interval: '5m', baseEjectionTime: '15m', maxEjectionPercent: 50, minHealthPercent: 20 },
    tls: { mode: 'ISTIO_MUTUAL' },
    portLevelSettings: [{ port: { number: 5000 }, loadBalancer: { simple: 'RANDOM' } }],
  }, 'spec.trafficPolicy', notes);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    loadBalancer: 'LEAST_REQUEST',
    connectionPool: { tcp: { maxConnections: 100, connectTimeout: { seconds: 0, nanos: 250_000_000 } }, http: { http2MaxRequests: 10, idleTimeout: { seconds: 90, nanos: 0 } } },
    outlierDetection: { consecutive5xxErrors: 5, interval: { seconds: 300, nanos: 0 }, baseEjectionTime: { seconds: 900, nanos: 0 }, maxEjectionPercent: 50, minHealthPercent: 20 },
    tls: { mode: 'ISTIO_MUTUAL' },
    portLevelSettings: [{ port: 5000, loadBalancer: 'RANDOM' }],
  });
  assert.deepEqual(notes, []);
});

test('a bad traffic policy is refused naming the field; unapplied parts are noted', () => {
  const bad: [unknown, RegExp][] = [
    [{ loadBalancer: { simple: 'FASTEST' } }, /^spec\.trafficPolicy\.loadBalancer\.simple: want one of/],
    [{ connectionPool: { tcp: { maxConnections: -1 } } }, /^spec\.trafficPolicy\.connectionPool\.tcp\.maxConnections: want an integer/],
    [{ connectionPool: { tcp: { connectTimeout: '30' } } }, /^spec\.trafficPolicy\.connectionPool\.tcp\.connectTimeout: want a duration/],
    [{ outlierDetection: { maxEjectionPercent: 101 } }, /^spec\.trafficPolicy\.outlierDetection\.maxEjectionPercent: want an integer 0-100/],
    [{ tls: { mode: 'PLAIN' } }, /^spec\.trafficPolicy\.tls\.mode: want one of/],
    [{ portLevelSettings: [{ port: { number: 0 } }] }, /^spec\.trafficPolicy\.portLevelSettings\[0\]\.port\.number: want 1-65535/],
    ['fast', /^spec\.trafficPolicy: want an object/],
  ];
  for (const [v, re] of bad) {
    const r = convertTrafficPolicy(v, 'spec.trafficPolicy', []);
    assert.ok(!r.ok, JSON.stringify(v));
    assert.match(r.error, re);
  }
  const notes: string[] = [];
  const r = convertTrafficPolicy({ loadBalancer: { consistentHash: { httpHeaderName: 'x' } }, tls: { mode: 'SIMPLE' }, tunnel: {} }, 'spec.trafficPolicy', notes);
  assert.ok(r.ok);
  assert.deepEqual(r.value, { portLevelSettings: [] });
  assert.deepEqual(notes, [
    'spec.trafficPolicy.loadBalancer.consistentHash is not applied by Isthmus',
    'spec.trafficPolicy.tls.mode SIMPLE (TLS origination) is not applied by Isthmus: Istio\'s auto mTLS stays in force',
    'spec.trafficPolicy.tunnel is not applied by Isthmus',
  ]);
});

test('a DestinationRule carries its own and its subsets\' traffic policies; a bad subset policy names its subset', () => {
  const dr = (spec: unknown) => ({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'hw', namespace: 'sample' }, spec });
  const r = convertDestinationRule(dr({ host: 'helloworld', trafficPolicy: { tls: { mode: 'DISABLE' } }, subsets: [{ name: 'v1', labels: { version: 'v1' }, trafficPolicy: { loadBalancer: { simple: 'RANDOM' } } }] }));
  assert.ok(r.ok);
  assert.deepEqual(r.value.trafficPolicy, { tls: { mode: 'DISABLE' }, portLevelSettings: [] });
  assert.deepEqual(r.value.subsets[0]?.trafficPolicy, { loadBalancer: 'RANDOM', portLevelSettings: [] });
  const bad = convertDestinationRule(dr({ host: 'helloworld', subsets: [{ name: 'v1', trafficPolicy: { outlierDetection: { interval: 5 } } }] }));
  assert.ok(!bad.ok);
  assert.match(bad.error, /^spec\.subsets\[0\]\.trafficPolicy\.outlierDetection\.interval: want a duration/);
});
