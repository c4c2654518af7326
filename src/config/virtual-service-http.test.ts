/** VirtualService `http` validation: every refusal names the field; good input keeps its details. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProtoDuration } from './virtual-service-http.ts';
import { convertVirtualService } from './virtual-service.ts';

const HW = 'helloworld.sample.svc.cluster.local';

function convert(spec: Record<string, unknown>) {
  return convertVirtualService({ metadata: { name: 'hw', namespace: 'sample' }, spec: { hosts: [HW], ...spec } });
}

test('http routes convert: split, retries, timeout, matches, exportTo', () => {
  const r = convert({ exportTo: ['.'], http: [{ name: 'r', match: [{ uri: { prefix: '/a' }, headers: { 'X-Env': { exact: 'dev' } } }], route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: 80 }, { destination: { host: HW, subset: 'v2', port: { number: 5000 } }, weight: 20 }], retries: { attempts: 3, perTryTimeout: '2s', retryOn: '5xx' }, timeout: '0.5s' }] });
  assert.ok(r.ok, r.ok ? '' : r.error);
  assert.deepEqual(r.value.exportTo, ['.']);
  const [h] = r.value.http ?? [];
  assert.deepEqual(h?.route, [{ host: HW, subset: 'v1', weight: 80 }, { host: HW, port: 5000, subset: 'v2', weight: 20 }]);
  assert.deepEqual(h.retries, { attempts: 3, perTryTimeout: { seconds: 2, nanos: 0 }, retryOn: '5xx' });
  assert.deepEqual(h.timeout, { seconds: 0, nanos: 500_000_000 });
  assert.deepEqual(h.match[0]?.uri, { prefix: '/a' });
  const m0 = h.match[0];
  assert.ok(m0);
  assert.deepEqual([...m0.headers], [['x-env', { exact: 'dev' }]]);
});

test('bad http routes are refused with the field named', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ http: {} }, /^spec\.http: want a list/],
    [{ http: [{ route: [{ destination: { host: HW, subset: 'v1' }, weight: 80 }, { destination: { host: HW, subset: 'v2' }, weight: 30 }] }] }, /^spec\.http\[0\]\.route: weights sum to 110, want 100/],
    [{ http: [{ route: [{ destination: { host: HW, subset: 'v1' } }, { destination: { host: HW, subset: 'v2' } }] }] }, /^spec\.http\[0\]\.route: weights sum to 0, want 100/],
    [{ http: [{ route: [{ destination: { host: HW } }], timeout: '5 seconds' }] }, /^spec\.http\[0\]\.timeout: want a duration/],
    [{ http: [{ route: [{ destination: { host: HW } }], retries: { attempts: 2, perTryTimeout: 'fast' } }] }, /^spec\.http\[0\]\.retries\.perTryTimeout: want a duration/],
    [{ http: [{ route: [{ destination: { host: HW } }], retries: { attempts: 2, perTryTimeout: '0s' } }] }, /perTryTimeout: want at least 1ms/],
    [{ http: [{ route: [{ destination: { host: HW } }], retries: { attempts: -1 } }] }, /^spec\.http\[0\]\.retries\.attempts/],
    [{ http: [{ route: [] }] }, /^spec\.http\[0\]\.route: want a non-empty list/],
    [{ http: [{ match: [{ uri: { exact: '/a', prefix: '/b' } }], route: [{ destination: { host: HW } }] }] }, /^spec\.http\[0\]\.match\[0\]\.uri: want exactly one/],
    [{ http: [{ match: [{ headers: { 'bad header': { exact: 'x' } } }], route: [{ destination: { host: HW } }] }] }, /^spec\.http\[0\]\.match\[0\]\.headers: "bad header"/],
    [{ http: [{ match: [{ method: { exact: 'GET' } }], route: [{ destination: { host: HW } }] }] }, /^spec\.http\[0\]\.match\[0\]\.method: not supported/],
    [{ http: [{ redirect: { uri: '/x' }, route: [{ destination: { host: HW } }] }] }, /^spec\.http\[0\]\.redirect: not supported/],
    [{ http: [{ route: [{ destination: { host: 'bad host!' } }] }] }, /^spec\.http\[0\]\.route\[0\]\.destination\.host/],
    [{ exportTo: 'sample', http: [] }, /^spec\.exportTo/],
  ];
  for (const [spec, want] of cases) {
    const r = convert(spec);
    assert.ok(!r.ok);
    console.log(r.error);
    assert.match(r.error, want);
  }
});

test('durations: protobuf JSON seconds with fractions', () => {
  assert.deepEqual(parseProtoDuration('5s', 'f'), { ok: true, value: { seconds: 5, nanos: 0 } });
  assert.deepEqual(parseProtoDuration('0.25s', 'f'), { ok: true, value: { seconds: 0, nanos: 250_000_000 } });
  assert.equal(parseProtoDuration('5', 'f').ok, false);
  assert.equal(parseProtoDuration('-1s', 'f').ok, false);
  assert.equal(parseProtoDuration(5, 'f').ok, false);
});
