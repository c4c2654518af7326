import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineLogger } from './log.ts';

test('lineLogger writes the bare message (fields appended), one line per entry, and drops debug by default', () => {
  const lines: string[] = [];
  const log = lineLogger((l) => { lines.push(`  ${l}`); });
  log.info('created Deployment istio-system/istiod');
  log.debug('not shown');
  log.scope('x').warn('pruned (dry run) Service a/b', { count: 2 });
  log.error('line\nbreak');
  console.log(lines.join('\n'));
  assert.deepEqual(lines, ['  created Deployment istio-system/istiod', '  pruned (dry run) Service a/b count=2', '  line\\nbreak']);
});
