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
    localityLbSetting: null,
    connectionPool: { tcp: { maxConnections: 100, connectTimeout: { seconds: 0, nanos: 250_000_000 } }, http: { http2MaxRequests: 10, idleTimeout: { seconds: 90, nanos: 0 } } },
    outlierDetection: { consecutive5xxErrors: 5, interval: { seconds: 300, nanos: 0 }, baseEjectionTime: { seconds: 900, nanos: 0 }, maxEjectionPercent: 50, minHealthPercent: 20 },
    tls: { mode: 'ISTIO_MUTUAL' },
    portLevelSettings: [{ port: 5000, loadBalancer: 'RANDOM', localityLbSetting: null }],
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
  assert.deepEqual(r.value, { localityLbSetting: null, portLevelSettings: [] });
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
  assert.deepEqual(r.value.subsets[0]?.trafficPolicy, { loadBalancer: 'RANDOM', localityLbSetting: null, portLevelSettings: [] });
  const bad = convertDestinationRule(dr({ host: 'helloworld', subsets: [{ name: 'v1', trafficPolicy: { outlierDetection: { interval: 5 } } }] }));
  assert.ok(!bad.ok);
  assert.match(bad.error, /^spec\.subsets\[0\]\.trafficPolicy\.outlierDetection\.interval: want a duration/);
});

test('a localityLbSetting is converted: distribute weights, failover regions, failoverPriority labels', () => {
  const notes: string[] = [];
  const r = convertTrafficPolicy({
    loadBalancer: { localityLbSetting: { enabled: true, failover: [{ from: 'region1', to: 'region2' }], failoverPriority: ['topology.istio.io/network', 'version=v1'] } },
    outlierDetection: { consecutive5xxErrors: 3 },
    portLevelSettings: [{ port: { number: 5000 }, loadBalancer: { simple: 'RANDOM', localityLbSetting: { distribute: [{ from: 'region1/zone1/*', to: { 'region1/zone1/*': 70, 'region2/*': 30 } }] } } }],
  }, 'spec.trafficPolicy', notes);
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.value?.localityLbSetting, { enabled: true, distribute: [], failover: [{ from: 'region1', to: 'region2' }], failoverPriority: ['topology.istio.io/network', 'version=v1'] });
  assert.deepEqual(r.value.portLevelSettings[0]?.localityLbSetting, {
    distribute: [{ from: 'region1/zone1/*', to: [{ locality: 'region1/zone1/*', weight: 70 }, { locality: 'region2/*', weight: 30 }] }], failover: [], failoverPriority: [],
  });
  assert.deepEqual(notes, [], 'failover with outlierDetection at the same level needs no note');
  const quiet: string[] = [];
  assert.ok(convertTrafficPolicy({ loadBalancer: { localityLbSetting: { failover: [{ from: 'a', to: 'b' }] } } }, 'spec.trafficPolicy', quiet).ok);
  assert.deepEqual(quiet, ['spec.trafficPolicy.loadBalancer.localityLbSetting: failover takes effect only with outlierDetection, which this level does not set (it may inherit one)']);
});

test('a bad localityLbSetting is refused naming the field', () => {
  const at = 'spec.trafficPolicy.loadBalancer.localityLbSetting';
  const lb = (localityLbSetting: unknown) => ({ loadBalancer: { localityLbSetting }, outlierDetection: {} });
  const bad: [unknown, string][] = [
    [lb({ distribute: [{ from: 'region1/*', to: { 'region1/*': 60, 'region2/*': 30 } }] }), `${at}.distribute[0].to: weights must sum to 100, got 90`],
    [lb({ distribute: [{ from: 'region1/*', to: { 'region1/*': 0, 'region2/*': 100 } }] }), `${at}.distribute[0].to.region1/*: want a weight 1-100, got 0`],
    [lb({ distribute: [{ from: 'region1/*', to: { 'region1/*': 50, 'region1/zone1': 50 } }] }), `${at}.distribute[0].to: locality "region1/zone1" overlaps "region1/*"`],
    [lb({ distribute: [{ from: 'region1/*/zone', to: { '*': 100 } }] }), `${at}.distribute[0].from: locality "region1/*/zone" may have one '*', only at the end`],
    [lb({ distribute: [{ from: 'region1//a', to: { '*': 100 } }] }), `${at}.distribute[0].from: locality "region1//a" must be region[/zone[/subzone]] without empty parts`],
    [lb({ distribute: [{ from: 'r1', to: { '*': 100 } }], failover: [{ from: 'r1', to: 'r2' }] }), `${at}: set distribute or failover, not both`],
    [lb({ failover: [{ from: 'region1', to: 'region1' }] }), `${at}.failover[0]: from and to must be different regions`],
    [lb({ failover: [{ from: 'region1/zone1', to: 'region2' }] }), `${at}.failover[0].from: want a region (no '/' or '*'), got "region1/zone1"`],
    [lb({ failover: [{ from: 'region1', to: 'region2' }], failoverPriority: ['topology.kubernetes.io/zone'] }), `${at}.failoverPriority[0]: topology.kubernetes.io/zone cannot be used together with failover`],
    [lb({ failoverPriority: [''] }), `${at}.failoverPriority[0]: want a non-empty string`],
    [lb({ enabled: 'yes' }), `${at}.enabled: want true or false`],
    [lb('on'), `${at}: want an object`],
  ];
  for (const [v, want] of bad) {
    const r = convertTrafficPolicy(v, 'spec.trafficPolicy', []);
    assert.ok(!r.ok, JSON.stringify(v));
    assert.equal(r.error, want);
  }
  const dr = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'hw', namespace: 'sample' }, spec: { host: 'helloworld', subsets: [{ name: 'v1', trafficPolicy: lb({ distribute: [{ from: '*', to: { 'a/*': 99 } }] }) }] } };
  const sub = convertDestinationRule(dr);
  assert.ok(!sub.ok);
  assert.equal(sub.error, 'spec.subsets[0].trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to: weights must sum to 100, got 99');
});
