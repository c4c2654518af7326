import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { VERSION } from '../version.ts';

const run = promisify(execFile);
const bin = new URL('../../bin/isthmus.mjs', import.meta.url).pathname;

test('VERSION matches package.json', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
});

test('isthmus version prints the version', async () => {
  const { stdout } = await run(process.execPath, [bin, 'version']);
  assert.equal(stdout.trim(), VERSION);
  const json = await run(process.execPath, [bin, 'version', '-o', 'json']);
  assert.deepEqual(JSON.parse(json.stdout), { clientVersion: { version: VERSION } });
});

test('isthmus --help lists the verbs and exits 0', async () => {
  const { stdout } = await run(process.execPath, [bin, '--help']);
  assert.match(stdout, /Usage: isthmus/);
  assert.match(stdout, /version/);
});

test('an unknown verb exits non-zero with a message', async () => {
  await assert.rejects(run(process.execPath, [bin, 'no-such-verb']), (e: { code?: number; stderr?: string }) => {
    assert.notEqual(e.code, 0);
    assert.match(e.stderr ?? '', /unknown command/);
    return true;
  });
});
