import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { nestingEstimate, parseYamlDocuments } from './safe-yaml.ts';

function refused(text: string, ...patterns: RegExp[]): void {
  assert.throws(() => parseYamlDocuments(text, 'f.yaml'), (e: unknown) => {
    assert.ok(isIsthmusError(e, ErrorCodes.OperatorInvalid), String(e));
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

test('plain documents convert to JSON values, empty documents to null', () => {
  const docs = parseYamlDocuments('a: 1\nb: [x, true, null]\n---\n---\nc: {d: "e"}\n', 'f.yaml');
  assert.deepEqual(docs.map((d) => d.value), [{ a: 1, b: ['x', true, null] }, null, { c: { d: 'e' } }]);
  assert.equal(docs[2]?.source, 'f.yaml (document 3)');
});

test('prototype keys are refused with their path, at any depth', () => {
  refused('spec:\n  values:\n    __proto__:\n      x: 1\n', /f\.yaml: spec\.values\.__proto__: the key "__proto__" is not allowed/);
  refused('spec:\n  components:\n    pilot:\n      k8s:\n        affinity:\n          constructor: {}\n', /spec\.components\.pilot\.k8s\.affinity\.constructor: the key "constructor"/);
  refused('a: [{prototype: 1}]\n', /a\[0\]\.prototype/);
  refused('{"__proto__": {"hub": "evil"}}\n', /__proto__/);
});

test('duplicate keys are refused (in linear time)', () => {
  refused('a: 1\nb: 2\na: 3\n', /f\.yaml: a: appears more than once/);
  const big = Array.from({ length: 40_000 }, (_, i) => `k${i}: v`).join('\n');
  const t0 = performance.now();
  const [doc] = parseYamlDocuments(big, 'big.yaml');
  const ms = performance.now() - t0;
  console.log(`one mapping of 40,000 keys parsed in ${ms.toFixed(0)} ms`);
  assert.equal(Object.keys(doc?.value as object).length, 40_000);
});

test('size, nesting, value count and aliases are bounded', () => {
  refused(`a: "${'x'.repeat(1024 * 1024)}"\n`, /f\.yaml: 1\.0 MiB is larger than the 1\.0 MiB accepted/);
  refused(`a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, /nested more than 64 levels deep \(line 1\)/);
  refused(Array.from({ length: 80 }, (_, i) => `${' '.repeat(i)}k:`).join('\n'), /nested more than 64 levels deep/);
  refused(`a: [${Array.from({ length: 60_000 }, () => '1').join(',')}]\n`, /a\[\d+\]: more than 50000 values/);
  let laughs = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < 9; i++) laughs += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
  refused(laughs, /more than 50000 values \(aliases counted each time they are used\)/);
  refused('a: *nope\n', /not valid YAML|refers to no anchor/);
  assert.deepEqual(parseYamlDocuments('a: &x {b: 1}\nc: *x\n', 'f.yaml')[0]?.value, { a: { b: 1 }, c: { b: 1 } });
});

test('nesting estimate counts block indentation and open brackets', () => {
  assert.equal(nestingEstimate('a:\n  b:\n    c: 1\n').depth, 3);
  assert.equal(nestingEstimate('a: [[1]]\nb: 2\n').depth, 3);
  assert.equal(nestingEstimate('# comment\n    \n').depth, 0);
});

test('with the caps raised, a 4.9 MB mapping parses in linear time (the old path was quadratic)', () => {
  const lines: string[] = [];
  for (let i = 0, n = 0; n < 4.9e6; i++) { const l = `k${i}: "x"`; lines.push(l); n += l.length + 1; }
  const text = lines.join('\n');
  const t0 = performance.now();
  const [doc] = parseYamlDocuments(text, 'big.yaml', { maxBytes: 8 * 1024 * 1024, maxNodes: 1_000_000, maxDepth: 64, maxAliases: 100 });
  const ms = performance.now() - t0;
  console.log(`4.9 MB, ${lines.length} keys in one mapping: parsed in ${ms.toFixed(0)} ms`);
  assert.equal(Object.keys(doc?.value as object).length, lines.length);
  assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`);
});
