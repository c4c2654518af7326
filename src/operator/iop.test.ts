import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIsthmusError, ErrorCodes } from '../model/errors.ts';
import { loadIstioOperator, merge, setsToSpec } from './iop.ts';
import { iopSpecSchema } from './iop-schema.ts';
import { validate } from './schema.ts';

const iop = (spec: string) => ({ text: `apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n${spec}`, source: 'f.yaml' });

function invalid(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isIsthmusError(e, ErrorCodes.OperatorInvalid), String(e));
    for (const p of patterns) assert.match(e.message, p);
    assert.match(e.message, /nothing was applied/);
    return true;
  });
}

test('an unknown field is an error naming its path, with a suggestion', () => {
  invalid(() => loadIstioOperator([iop('  values:\n    global:\n      netwrok: network1\n')]),
    /f\.yaml: spec\.values\.global\.netwrok: unknown field \(did you mean "network"\?\)/);
});

test('every problem is reported at once, across files and --set', () => {
  invalid(() => loadIstioOperator([iop('  profile: demo\n  components:\n    ingressGateways:\n      - name: gw\n        k8s:\n          service:\n            type: Balanced\n            ports:\n              - name: x\n                port: 70000\n')],
    ['values.global.externalIstiod=maybe']),
  /spec\.profile: must be one of "default", "remote", "minimal", "empty", got "demo"/,
  /spec\.components\.ingressGateways\[0\]\.k8s\.service\.type: must be one of/,
  /spec\.components\.ingressGateways\[0\]\.k8s\.service\.ports\[0\]\.port: must be between 1 and 65535, got 70000/,
  /--set: spec\.values\.global\.externalIstiod: must be true or false, got string "maybe"/);
});

test('bad values of the multicluster settings', () => {
  invalid(() => loadIstioOperator([iop('  values:\n    istiodRemote:\n      injectionPath: /inject/:ENV:cluster=c2\n      injectionURL: http://x/inject\n    global:\n      remotePilotAddress: "not an address"\n      multiCluster:\n        clusterName: "has space"\n')]),
    /spec\.values\.istiodRemote\.injectionPath: must not use the deprecated ":ENV:" form/,
    /spec\.values\.istiodRemote\.injectionURL: must be an https:\/\/ URL/,
    /spec\.values\.global\.remotePilotAddress: must be an IP address or a DNS name/,
    /spec\.values\.global\.multiCluster\.clusterName: must be a valid label value/);
});

test('wrong apiVersion or kind, non-mapping documents and YAML errors are rejected', () => {
  invalid(() => loadIstioOperator([{ text: 'apiVersion: v1\nkind: ConfigMap\n', source: 'cm.yaml' }]), /cm\.yaml: apiVersion: must be one of "install\.istio\.io\/v1alpha1"/, /kind: must be one of "IstioOperator"/);
  assert.throws(() => loadIstioOperator([{ text: '- a\n', source: 'l.yaml' }]), /l\.yaml: expected an IstioOperator mapping, got a list/);
  assert.throws(() => loadIstioOperator([{ text: 'a: [\n', source: 'b.yaml' }]), /b\.yaml: not valid YAML/);
});

test('unsupported Istio fields say so', () => {
  invalid(() => loadIstioOperator([iop('  components:\n    cni:\n      enabled: true\n')]), /spec\.components\.cni: is not supported by isthmus/);
});

test('--set: types, nested paths, list indexes, spec. prefix', () => {
  assert.deepEqual(setsToSpec(['values.global.network=network1', 'spec.values.global.externalIstiod=true', 'values.pilot.replicaCount=2', 'components.ingressGateways[1].enabled=false']), {
    values: { global: { network: 'network1', externalIstiod: true }, pilot: { replicaCount: 2 } },
    components: { ingressGateways: [{}, { enabled: false }] },
  });
  assert.throws(() => setsToSpec(['novalue']), /expected path=value/);
});

test('precedence: --set over later files over earlier files over the profile', () => {
  const m = loadIstioOperator([iop('  values:\n    global:\n      network: a\n      meshID: m1\n'), iop('  values:\n    global:\n      network: b\n')], ['values.global.meshID=m2']);
  assert.equal(m.profile, 'default');
  assert.equal(m.name, 'installed-state');
  assert.deepEqual((m.spec['values'] as { global: unknown }).global, { network: 'b', meshID: 'm2' });
  assert.deepEqual(m.spec['components'], { base: { enabled: true }, pilot: { enabled: true }, ingressGateways: [{ name: 'istio-ingressgateway', enabled: true }] });
});

test('gateway lists merge by name', () => {
  assert.deepEqual(merge([{ name: 'a', enabled: true }], [{ name: 'a', enabled: false }, { name: 'b', enabled: true }], 'ingressGateways'),
    [{ name: 'a', enabled: false }, { name: 'b', enabled: true }]);
  const m = loadIstioOperator([iop('  profile: remote\n')], ['profile=minimal']);
  assert.equal(m.profile, 'minimal');
});

test('--set refuses prototype keys and huge list indexes, quickly, naming the path', () => {
  for (const set of ['__proto__.hub=evil', 'values.constructor.x=1', 'components.pilot.k8s.prototype=1', 'values.global.__proto__.network=n']) {
    assert.throws(() => setsToSpec([set]), (e: unknown) => isIsthmusError(e, ErrorCodes.OperatorInvalid) && /is not allowed in a path/.test(e.message), set);
  }
  const t0 = performance.now();
  assert.throws(() => setsToSpec(['components.pilot.k8s.env[99999999].name=x']),
    /--set "components\.pilot\.k8s\.env\[99999999\]\.name=x": index 99999999 of components\.pilot\.k8s\.env is too large \(at most 999\)/);
  assert.ok(performance.now() - t0 < 1000);
  assert.deepEqual(setsToSpec(['components.pilot.k8s.env[0].name=A', 'components.pilot.k8s.env[1].name=B']), { components: { pilot: { k8s: { env: [{ name: 'A' }, { name: 'B' }] } } } });
});

test('prototype keys in an IstioOperator never change the result: they are refused', () => {
  invalid(() => loadIstioOperator([iop('  values:\n    __proto__:\n      global:\n        hub: evil\n')]), /f\.yaml: spec\.values\.__proto__: the key "__proto__" is not allowed/);
  invalid(() => loadIstioOperator([iop('  constructor:\n    x: 1\n')]), /spec\.constructor: the key "constructor" is not allowed/);
});

test('the schema refuses prototype keys even in values built in code (defence in depth)', () => {
  const spec: unknown = JSON.parse('{"values":{"pilot":{"env":{"__proto__":"x"}}},"components":{"pilot":{"k8s":{"affinity":{"a":{"constructor":1}}}}},"constructor":{}}');
  const problems = validate(iopSpecSchema, spec, 'spec').map((p) => `${p.path}: ${p.message}`);
  assert.deepEqual(problems.sort(), [
    'spec.components.pilot.k8s.affinity.a.constructor: the key "constructor" is not allowed',
    'spec.constructor: the key "constructor" is not allowed',
    'spec.values.pilot.env.__proto__: the key "__proto__" is not allowed',
  ]);
});

test('merging many gateways is linear, and merge never copies prototype keys', () => {
  const over = { ingressGateways: Array.from({ length: 20_000 }, (_, i) => ({ name: `g${i}`, enabled: false })) };
  const t0 = performance.now();
  const m = merge({ ingressGateways: [{ name: 'g5', enabled: true, label: { a: 'b' } }] }, over) as { ingressGateways: unknown[] };
  console.log(`merged 20,000 gateways in ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(m.ingressGateways.length, 20_000);
  assert.deepEqual(m.ingressGateways[0], { name: 'g5', enabled: false, label: { a: 'b' } });
  const evil = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, never>;
  const r = merge({}, evil) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(r), Object.prototype);
  assert.equal(r['polluted'], undefined);
  assert.equal(r['ok'], 1);
});
