import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandTable, parseTable, tableRecords } from './table.ts';

// Shaped like `istioctl proxy-status -v 1`: tabwriter padding, a two-word header, ages on statuses,
// a short row and a trailing blank line.
const OUTPUT = [
  'NAME               CLUSTER      CDS              LDS         ISTIOD        SUBSCRIBED TYPES',
  'a-0.sample         cluster1     SYNCED (12s)     IGNORED     <external>    2 (CDS,EDS)',
  'b-nack.sample      cluster1     ERROR (2m3s)     SYNCED      istiod-b      4 (CDS,LDS,EDS,RDS)',
  'short.sample       cluster2',
  '',
].join('\n');

test('parseTable splits on runs of two or more spaces and keeps one-space headers whole', () => {
  const t = parseTable(OUTPUT);
  assert.deepEqual(t.header, ['NAME', 'CLUSTER', 'CDS', 'LDS', 'ISTIOD', 'SUBSCRIBED TYPES']);
  assert.equal(t.rows.length, 3);
  assert.deepEqual(t.rows[0], ['a-0.sample', 'cluster1', 'SYNCED (12s)', 'IGNORED', '<external>', '2 (CDS,EDS)']);
});

test('tableRecords keys cells by header, drops status ages and fills missing cells with ""', () => {
  const [a, b, short] = tableRecords(parseTable(OUTPUT));
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(a['CDS'], 'SYNCED');
  assert.equal(b['CDS'], 'ERROR');
  assert.equal(a['SUBSCRIBED TYPES'], '2 (CDS,EDS)', 'a count with a list in parentheses is not an age');
  assert.equal(a['ISTIOD'], '<external>');
  assert.deepEqual(short, { 'NAME': 'short.sample', 'CLUSTER': 'cluster2', 'CDS': '', 'LDS': '', 'ISTIOD': '', 'SUBSCRIBED TYPES': '' });
});

test('commandTable refuses a failed command and shows what it printed', () => {
  assert.deepEqual(commandTable({ code: 0, stdout: OUTPUT, stderr: '' }, 'ok').header[0], 'NAME');
  assert.throws(() => commandTable({ code: 1, stdout: '', stderr: 'Error: no running Istio pods' }, 'istioctl proxy-status'),
    /^Error: istioctl proxy-status: exit 1\nstdout:\n\nstderr:\nError: no running Istio pods$/);
  assert.throws(() => commandTable({ code: null, stdout: OUTPUT, stderr: '' }, 'killed'), /killed: exit null/);
});
