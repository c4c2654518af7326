import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { readList, readTime, statusAsJson, unwrap, type WireReader } from './protobuf.ts';

// Real answers are checked against a real API server in test/integration/kube-protobuf.test.ts;
// these are the answers no API server sends.

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** A LEN field: tag, length, bytes. */
function len(field: number, bytes: number[] | string): number[] {
  const b = typeof bytes === 'string' ? [...Buffer.from(bytes)] : bytes;
  return [(field << 3) | 2, b.length, ...b];
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

function body(raw: number[], extra: number[] = []): Buffer {
  return Buffer.from([...MAGIC, ...len(2, raw), ...extra]);
}

const names = (r: WireReader): string => {
  let name = '';
  while (r.next()) {
    if (r.field === 1) name = r.string();
    else r.skip();
  }
  return name;
};

function malformed(fn: () => unknown, detail: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isIsthmusError(err, ErrorCodes.KubeProtobufMalformed), String(err));
    assert.match((err as Error).message, /^list \/api\/v1\/pods: malformed protobuf answer: /);
    assert.match((err as Error).message, detail);
    return true;
  });
}

test('a list: ListMeta, items, and fields it does not know skipped', () => {
  const raw = [
    ...len(1, [...len(2, '42'), ...len(3, 'next-page'), 0x20, 0x05]),
    ...len(2, len(1, 'a')),
    0x18, 0x96, 0x01, // field 3, varint 150: not a list field, skipped
    ...len(2, [0x29, 1, 2, 3, 4, 5, 6, 7, 8, ...len(1, 'b')]), // a fixed64 (field 5) before the name
  ];
  const list = readList(body(raw), 'list /api/v1/pods', names);
  assert.deepEqual(list, { resourceVersion: '42', continue: 'next-page', items: ['a', 'b'] });
});

test('answers that are not protobuf, or break off, are refused naming the request and byte', () => {
  const what = 'list /api/v1/pods';
  malformed(() => readList(Buffer.from('{"items":[]}'), what, names), /does not start with the k8s protobuf prefix/);
  malformed(() => readList(Buffer.from([...MAGIC, 0x12, 0x05, 0x0a]), what, names), /field 2 is longer \(5 bytes\) than its message at byte 6/);
  malformed(() => readList(body([0x12, 0x80]), what, names), /truncated varint/);
  malformed(() => readList(body([0x00, 0x01]), what, names), /field number 0/);
  malformed(() => readList(body(len(2, [0x08, 0x01])), what, names), /field 1 has wire type 0, expected 2/);
  malformed(() => readList(body(len(2, [0x13])), what, names), /unsupported wire type 3/);
  malformed(() => readList(body([], len(3, 'gzip')), what, names), /content encoding "gzip" is not supported/);
});

test('an answer with an empty raw message is an empty list', () => {
  assert.deepEqual(readList(Buffer.from([...MAGIC, ...len(1, len(2, 'PodList'))]), 'x', names), { resourceVersion: '', continue: '', items: [] });
});

test('a Time reads as RFC 3339 seconds; one past what a Date holds is refused', () => {
  const time = (seconds: number[]): string => {
    const r = unwrap(body(len(9, [0x08, ...seconds])), 'list /api/v1/pods');
    assert.ok(r.next());
    return readTime(r);
  };
  assert.equal(time(varint(Date.UTC(2026, 11, 7, 23, 59, 30) / 1000)), '2026-12-07T23:59:30Z');
  malformed(() => time([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /time .* is out of range/);
});

test('a Status answer reads as the JSON KubeApiError expects; anything else is undefined', () => {
  const status = statusAsJson(body([...len(2, 'Failure'), ...len(3, 'pods "x" is forbidden'), ...len(4, 'Forbidden'), 0x30, 0x93, 0x03]), 'x');
  assert.deepEqual(JSON.parse(status ?? 'null'), { kind: 'Status', status: 'Failure', message: 'pods "x" is forbidden', reason: 'Forbidden', code: 403 });
  assert.equal(statusAsJson(Buffer.from('not protobuf'), 'x'), undefined);
});
