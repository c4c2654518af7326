/**
 * Hostile input to the install verbs, through the real CLI process (`bin/isthmus.mjs`): huge list
 * indexes in --set, prototype keys in --set paths and IstioOperator files, files and pipes of
 * many megabytes, deep nesting and alias bombs. Each must be refused with exit code 1, the
 * IstioOperator error code and a message naming the path, well within a generous time bound
 * (the process start alone takes a second or two on a busy machine); each case prints its time.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/isthmus.mjs');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-input-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });

const HEAD = 'apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n';

interface Run { code: number | null; stdout: string; stderr: string; ms: number; signal: NodeJS.Signals | null }

function isthmus(args: readonly string[], stdin?: string | Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    // No wall-clock assertion: the times are printed. A hard stop at 60 s (and a 1 GiB heap) makes the
    // old behaviour fail (51 s and 5 GB for the index case; 4.9 MB and 55 MB inputs never finished)
    // instead of hanging the suite: a killed CLI has no exit code 1.
    const p = spawn(process.execPath, ['--max-old-space-size=1024', bin, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { if (stdout.length < 64_000_000) stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { if (stderr.length < 1_000_000) stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code, signal) => { resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 }); });
    p.stdin.on('error', () => { /* the CLI may stop reading a huge pipe early: that is the point */ });
    p.stdin.end(stdin ?? '');
  });
}

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

async function refused(what: string, args: readonly string[], message: RegExp, stdin?: string | Buffer): Promise<void> {
  const r = await isthmus(args, stdin);
  console.log(`${what}: exit ${r.code} in ${(r.ms / 1000).toFixed(2)} s: ${r.stderr.trim().split('\n')[0]?.slice(0, 200) ?? ''}`);
  assert.equal(r.code, 1, `${what}: exit code (signal ${r.signal}); stderr: ${r.stderr.slice(0, 500)}`);
  assert.match(r.stderr, /^error: \[ISTHMUS_OPERATOR_INVALID\] /, what);
  assert.match(r.stderr, message, what);
  assert.equal(r.stdout, '', `${what}: nothing rendered`);
}

test('--set with a huge list index is refused at once (manifest generate and install)', async () => {
  await refused('manifest generate --set env[99999999]', ['manifest', 'generate', '--set', 'components.pilot.k8s.env[99999999].name=x'],
    /--set "components\.pilot\.k8s\.env\[99999999\]\.name=x": index 99999999 of components\.pilot\.k8s\.env is too large \(at most 999\)/);
  await refused('install --set env[99999999]', ['install', '-y', '--kubeconfig', join(dir, 'absent'), '--set', 'components.pilot.k8s.env[99999999].name=x'],
    /index 99999999 of components\.pilot\.k8s\.env is too large/);
});

test('prototype keys in --set paths are refused', async () => {
  for (const set of ['__proto__.hub=evil', 'values.__proto__.global=x', 'constructor.prototype.x=1', 'components.pilot.k8s.env[0].constructor=x']) {
    await refused(`--set ${set}`, ['manifest', 'generate', '--set', set], /is not allowed in a path/);
  }
});

test('prototype keys anywhere in an IstioOperator are refused, naming the path', async () => {
  await refused('file with values.__proto__', ['manifest', 'generate', '-f', file('proto.yaml', `${HEAD}  values:\n    __proto__:\n      global:\n        hub: evil.example\n`)],
    /proto\.yaml: spec\.values\.__proto__: the key "__proto__" is not allowed/);
  await refused('file with k8s.affinity.constructor', ['manifest', 'generate', '-f', file('ctor.yaml', `${HEAD}  components:\n    pilot:\n      k8s:\n        affinity:\n          constructor:\n            name: x\n`)],
    /ctor\.yaml: spec\.components\.pilot\.k8s\.affinity\.constructor: the key "constructor" is not allowed/);
  await refused('stdin with spec.constructor', ['manifest', 'generate', '-f', '-'], /stdin: spec\.constructor: the key "constructor" is not allowed/, `${HEAD}  constructor:\n    x: 1\n`);
});

function bigMapping(bytes: number): string {
  let s = `${HEAD}  values:\n    pilot:\n      env:\n`;
  const lines: string[] = [];
  for (let i = 0, n = s.length; n < bytes; i++) { const l = `        VAR_${i}: "x"\n`; lines.push(l); n += l.length; }
  s += lines.join('');
  return s;
}

test('multi-megabyte input is refused without reading it all (files and pipes)', async () => {
  await refused('4.9 MB file', ['manifest', 'generate', '-f', file('big.yaml', bigMapping(4.9e6))], /big\.yaml: larger than the 1\.0 MiB accepted for IstioOperator input/);
  const huge = Buffer.alloc(55e6, 'a: b\n');
  await refused('55 MB file', ['manifest', 'generate', '-f', file('huge.yaml', huge.toString())], /huge\.yaml: larger than the 1\.0 MiB accepted/);
  await refused('55 MB on stdin', ['manifest', 'generate', '-f', '-'], /stdin: larger than the 1\.0 MiB accepted/, huge);
});

test('a large but legal mapping renders in linear time', async () => {
  const f = file('env.yaml', bigMapping(900_000));
  const r = await isthmus(['manifest', 'generate', '-f', f]);
  console.log(`900 KB IstioOperator (one mapping of ${(bigMapping(900_000).match(/VAR_/g) ?? []).length} keys): exit ${r.code} in ${(r.ms / 1000).toFixed(2)} s`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /- name: VAR_30000\n\s+value: "?x"?\n/);
});

test('deep nesting, too many values and alias bombs are refused', async () => {
  await refused('100,000 nested flow lists', ['manifest', 'generate', '-f', file('deep.yaml', `${HEAD}  components:\n    pilot:\n      k8s:\n        affinity: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)],
    /deep\.yaml: nested more than 64 levels deep \(line 7\)/);
  const block = Array.from({ length: 200 }, (_, i) => `${' '.repeat(10 + i)}a:`).join('\n');
  await refused('200 nested mappings', ['manifest', 'generate', '-f', file('deep2.yaml', `${HEAD}  components:\n    pilot:\n      k8s:\n        affinity:\n${block}\n`)],
    /deep2\.yaml: nested more than 64 levels deep/);
  let laughs = `${HEAD}  components:\n    pilot:\n      k8s:\n        affinity:\n          a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n`;
  for (let i = 1; i < 10; i++) laughs += `          a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
  await refused('alias bomb (10^10 values)', ['manifest', 'generate', '-f', file('laughs.yaml', laughs)],
    /laughs\.yaml: spec\.components\.pilot\.k8s\.affinity\.a\d\[\d+\]: more than 50000 values \(aliases counted each time they are used\)/);
  const many = `${HEAD}  values:\n    global:\n${Array.from({ length: 30_000 }, (_, i) => `      unknown${i}: x\n`).join('')}`;
  const r = await isthmus(['manifest', 'generate', '-f', file('unknown.yaml', many)]);
  console.log(`30,000 unknown fields: exit ${r.code} in ${(r.ms / 1000).toFixed(2)} s, ${r.stderr.length} bytes of error`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown\.yaml: spec\.values\.global\.unknown0: unknown field/);
  assert.match(r.stderr, /\.\.\. and at least \d+ more problems/);
  assert.ok(r.stderr.length < 10_000, 'the error lists a bounded number of problems');
});
