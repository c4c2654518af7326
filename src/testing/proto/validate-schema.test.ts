/**
 * protoc-gen-validate checks beyond the Envoy resources of validate.test.ts: rule kinds the Envoy
 * schema does not use (on small synthetic schemas), unsupported rules, schemas whose options are
 * only flattened, and a sweep over every type of the loaded schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { codec, packAny } from '../../proto/codec.ts';
import { protoRoot } from '../../proto/loader.ts';
import * as data from './testdata.ts';
import { validateType } from './validate.ts';
import { translateRe2 } from './validate-regex.ts';

const CLUSTER = 'envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';
const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function listenerWithHcm(hcm: Record<string, unknown>): unknown {
  return {
    ...data.listener,
    filterChains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: packAny(codec<Record<string, unknown>>(HCM), hcm) }] }],
  };
}

// ---- rules this checker does not evaluate, and schemas with flattened options only ----

function syntheticType(body: string): protobuf.Type {
  const base = new protobuf.Root();
  const timestamp = protobuf.common.get('google/protobuf/timestamp.proto');
  if (timestamp?.nested) base.addJSON(timestamp.nested);
  const root = protobuf.parse(`syntax = "proto3"; package t; message M { ${body} }`, base, { keepCase: false }).root;
  root.resolveAll();
  return root.lookupType('t.M');
}

test('unsupported and unknown rules are listed separately, never thrown or silently passed', () => {
  const type = syntheticType(`
    string email = 1 [(validate.rules).string = {email: true, min_len: 3}];
    string weird = 2 [(validate.rules).foo = {bar: 1}];
    string pat = 3 [(validate.rules).string.pattern = "(?U)a+"];
    string mismatch = 4 [(validate.rules).uint32 = {lt: 5}];
    string extra = 5 [(validate.rules).string = {bar: true, prefix: "x"}];`);
  const report = validateType(type, { email: 'a@example.com', extra: 'y' });
  assert.deepStrictEqual(report.issues.map((i) => `${i.path} ${i.rule}`), ['extra string.prefix']);
  assert.deepStrictEqual(report.unsupported.map((u) => `${u.field} ${u.rule}`), [
    'email string.email', 'weird foo', 'pat string.pattern', 'mismatch uint32', 'extra string.bar',
  ]);
});

test('more rule kinds: int64 exclusive ranges, timestamps, int map keys, float in, bytes, oneofs, disabled messages', () => {
  const type = syntheticType(`
    int64 big = 1 [(validate.rules).int64 = {gt: 5, lt: 1}];
    google.protobuf.Timestamp ts = 2 [(validate.rules).timestamp = {lt_now: true}];
    map<int32, string> m = 3 [(validate.rules).map = {min_pairs: 1, keys: {int32: {gt: 0}}, values: {string: {min_len: 2}}}];
    oneof o { option (validate.required) = true; string a = 4; int32 b = 5 [(validate.rules).int32.gt = 0]; }
    float f = 6 [(validate.rules).float = {in: [1.5, 2.5]}];
    bytes by = 7 [(validate.rules).bytes = {prefix: "ab", max_len: 3}];
    optional string opt = 8 [(validate.rules).string.min_len = 2];
    repeated int32 u = 9 [(validate.rules).repeated = {unique: true, max_items: 2}];`);
  const now = Date.parse('2025-01-01T00:00:00Z');
  const report = validateType(type, {
    big: '3', ts: { seconds: String(now / 1000 + 60) }, m: { 0: 'a', 5: 'bb' }, b: 0, f: 2.5, by: new Uint8Array([0x61, 0x63]), u: [1, 2, 1],
  }, { nowMillis: now });
  // Sorted: the order of issues within one field follows the rule text, not asserted here.
  assert.deepStrictEqual(report.issues.map((i) => `${i.path} ${i.rule}`).sort(), [
    'b int32.gt', 'big int64.gt', 'by bytes.prefix', 'm["0"] map.keys.int32.gt', 'm["0"] map.values.string.min_len',
    'ts timestamp.lt_now', 'u repeated.max_items', 'u[2] repeated.unique',
  ]);
  // big '6' and '0' are outside [1, 5]: valid for an exclusive range.
  assert.deepStrictEqual(validateType(type, { a: '', big: '0', m: { 1: 'xx' }, f: 1.5, by: new Uint8Array([0x61, 0x62]) }).issues, []);
  const disabled = protobuf.parse('syntax = "proto3"; message D { option (validate.disabled) = true; string s = 1 [(validate.rules).string.min_len = 1]; }').root;
  assert.deepStrictEqual(validateType(disabled.lookupType('D'), {}).issues, []);
});

test('a schema whose options are only flattened (loaded from JSON) is validated, lossy list rules reported', () => {
  const jsonRoot = protobuf.Root.fromJSON(protoRoot().toJSON());
  jsonRoot.resolveAll();
  const cluster = jsonRoot.lookupType(`.${CLUSTER}`);
  assert.equal(cluster.fields.name?.parsedOptions ?? null, null);
  assert.deepStrictEqual(cluster.fields.name?.options, { '(validate.rules).string.min_len': 1 });
  assert.deepStrictEqual(validateType(cluster, { ...data.cluster, name: '' }).issues.map((i) => `${i.path} ${i.rule}`), ['name string.min_len']);
  const listener = jsonRoot.lookupType(`.${LISTENER}`);
  const noPort = { ...data.listener, address: { socketAddress: { address: '0.0.0.0' } } };
  assert.deepStrictEqual(validateType(listener, noPort).issues.map((i) => `${i.path} ${i.rule}`), ['address.socket_address.port_specifier oneof.required']);
  // `in: "http" in: "https"` flattens to just "https": not checked, reported instead of rejecting "http".
  const report = validateType(listener, listenerWithHcm({ ...data.hcm, schemeHeaderTransformation: { schemeToOverwrite: 'http' } }));
  assert.deepStrictEqual(report.issues, []);
  assert.deepStrictEqual(report.unsupported.map((u) => `${u.path} ${u.rule}`), ['filter_chains[0].filters[0].typed_config.scheme_header_transformation.scheme_to_overwrite string.in']);
});

function allTypes(): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  const walk = (o: protobuf.ReflectionObject): void => {
    if (o instanceof protobuf.Type) out.push(o);
    if (o instanceof protobuf.Namespace) for (const child of o.nestedArray) walk(child);
  };
  walk(protoRoot());
  return out;
}

test('every message type of the loaded schema validates an empty object without throwing', () => {
  const unsupported = new Set<string>();
  for (const type of allTypes()) {
    for (const u of validateType(type, {}).unsupported) unsupported.add(`${u.typeName}.${u.field} ${u.rule}`);
  }
  // envoy/config/core/v3/config_source.proto ExtensionConfigSource:
  // `ConfigSource config_source = 1 [(validate.rules).any = {required: true}];` puts Any rules on a
  // field that is not an Any: reported, not guessed at.
  assert.deepStrictEqual([...unsupported], ['envoy.config.core.v3.ExtensionConfigSource.config_source any']);
});

test('every string.pattern of the loaded schema translates to a JavaScript regex', () => {
  const patterns: string[] = [];
  const collect = (v: unknown, key: string): void => {
    if (key === 'pattern' && typeof v === 'string') patterns.push(v);
    if (v !== null && typeof v === 'object') for (const [k, child] of Object.entries(v)) collect(child, k);
  };
  for (const type of allTypes()) for (const field of type.fieldsArray) collect(field.parsedOptions, '');
  assert.ok(patterns.includes('^[^?#]+[^?#/]$'));
  for (const p of patterns) assert.ok(translateRe2(p).ok, p);
});
