/**
 * The two error catalogs (the product's in src/model/errors.ts, the test bed's here) never give two
 * meanings to one code string, every code of either is explained in docs/errors.md, and a test-bed
 * error is told apart from a product error by its class.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ErrorCodes, IsthmusError, isIsthmusError } from '../../model/errors.ts';
import { TestbedError, TestbedErrorCodes, isTestbedError } from './errors.ts';

const product: readonly string[] = Object.values(ErrorCodes);
const testbed: readonly string[] = Object.values(TestbedErrorCodes);

test('no code string is in both catalogs, and none repeats within one', (t) => {
  t.diagnostic(`${product.length} product codes, ${testbed.length} test-bed codes`);
  assert.deepEqual(product.filter((c) => testbed.includes(c)), []);
  assert.equal(new Set(product).size, product.length);
  assert.equal(new Set(testbed).size, testbed.length);
  for (const c of [...product, ...testbed]) assert.match(c, /^ISTHMUS_[A-Z0-9_]+$/);
});

test('docs/errors.md explains every code of both catalogs', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const missing = [...product, ...testbed].filter((c) => !doc.includes(`| \`${c}\` |`));
  assert.deepEqual(missing, []);
});

test('a test-bed error keeps its code, message and cause, and is not a product error', () => {
  const cause = new Error('address already in use');
  const err = new TestbedError(TestbedErrorCodes.PortBusy, 'etcd exited', { cause });
  assert.equal(err.code, 'ISTHMUS_PORT_BUSY');
  assert.equal(err.message, 'etcd exited');
  assert.equal(err.cause, cause);
  assert.ok(isTestbedError(err, TestbedErrorCodes.PortBusy));
  assert.ok(!isTestbedError(err, TestbedErrorCodes.ClusterStart));
  assert.ok(!isIsthmusError(err));
  assert.ok(!isTestbedError(new IsthmusError(ErrorCodes.Usage, 'bad flag')));
});
