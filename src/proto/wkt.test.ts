import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { durationCodec, structCodec, timestampCodec } from './codec.ts';
import type { JsonObject } from './wkt.ts';
import {
  durationFromMillis, durationToMillis, structFromJson, structString, structToJson, timestampFromDate, timestampToDate,
} from './wkt.ts';

test('Struct <-> JSON survives an encode/decode in between', () => {
  const json: JsonObject = {
    CLUSTER_ID: 'cluster1',
    LABELS: { app: 'reviews', 'topology.istio.io/network': 'network1' },
    list: [1, 'two', false, null, [], {}],
    n: 0,
    empty: '',
    nested: { deeper: { x: -1.5 } },
  };
  const s = structFromJson(json);
  assert.deepStrictEqual(structCodec.decode(structCodec.encode(s)), s);
  assert.deepStrictEqual(structToJson(structCodec.decode(structCodec.encode(s))), json);
  assert.equal(structString(s, 'CLUSTER_ID'), 'cluster1');
  assert.equal(structString(s, 'n'), undefined);
  assert.equal(structString(undefined, 'CLUSTER_ID'), undefined);
  assert.deepStrictEqual(structFromJson({}), {});
  assert.deepStrictEqual(structToJson(structCodec.decode(new Uint8Array(0))), {});
});

test('Timestamp <-> Date, including before 1970 and at the epoch', () => {
  for (const iso of ['2025-11-24T12:00:00.123Z', '1969-12-31T23:59:59.500Z', '1970-01-01T00:00:00.000Z']) {
    const ts = timestampFromDate(new Date(iso));
    const back = timestampCodec.decode(timestampCodec.encode(ts));
    assert.deepStrictEqual(back, ts);
    assert.equal(timestampToDate(back).toISOString(), iso);
  }
  assert.deepStrictEqual(timestampFromDate(new Date('1969-12-31T23:59:59.500Z')), { seconds: '-1', nanos: 500000000 });
  assert.throws(() => timestampFromDate(new Date('nope')), (e: unknown) => isIsthmusError(e, ErrorCodes.ProtoCodec));
});

test('Duration <-> milliseconds keeps seconds and nanos of one sign', () => {
  assert.deepStrictEqual(durationFromMillis(1500), { seconds: '1', nanos: 500000000 });
  assert.deepStrictEqual(durationFromMillis(-1500), { seconds: '-1', nanos: -500000000 });
  assert.deepStrictEqual(durationFromMillis(10_000), { seconds: '10' });
  assert.deepStrictEqual(durationFromMillis(0), {});
  for (const ms of [0, 1, 999, 1500, -1500, 86_400_000]) {
    assert.equal(durationToMillis(durationCodec.decode(durationCodec.encode(durationFromMillis(ms)))), ms);
  }
  assert.throws(() => durationToMillis({ seconds: '9223372036854775807' }), (e: unknown) => isIsthmusError(e, ErrorCodes.ProtoCodec));
});
