import { test } from 'node:test';
import assert from 'node:assert/strict';
import { committedProtoTypes, generateProtoTypes } from '../../scripts/proto-types.ts';

test('the committed generated protocol types are what the pinned .proto files generate today', () => {
  const fresh = generateProtoTypes();
  const committed = committedProtoTypes();
  console.log(`${fresh.size} generated files, ${committed.size} committed`);
  const missing = [...fresh.keys()].filter((f) => !committed.has(f));
  const extra = [...committed.keys()].filter((f) => !fresh.has(f));
  const changed = [...fresh].filter(([f, text]) => committed.has(f) && committed.get(f) !== text).map(([f]) => f);
  assert.deepEqual({ missing, extra, changed }, { missing: [], extra: [], changed: [] }, 'run `node scripts/proto-types.ts` and commit src/proto/generated');
  assert.ok(fresh.has('envoy/config/endpoint/v3/ClusterLoadAssignment.ts'));
});
