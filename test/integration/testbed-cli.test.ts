/** The test bed as a user drives it: `up`, `status`, kubectl against it, `down`, nothing left. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = new URL('../../src/testing/testbed/cli.ts', import.meta.url).pathname;

test('testbed up / status / down through the CLI, with kubectl against a cluster', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-cli-'));
  try {
    const up = await run(process.execPath, [cli, 'up', '--clusters', 'east,west', '--dir', dir]);
    assert.match(up.stdout, /east\s+running\s+https:\/\/127\.0\.0\.1:\d+/);
    assert.match(up.stdout, /west\s+running/);

    const again = await run(process.execPath, [cli, 'up', '--clusters', 'west', '--dir', dir]).then(() => undefined, (e: unknown) => e as { code: number; stderr: string });
    assert.ok(again, 'a second `up` of a running name fails');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ISTHMUS_CLUSTER_EXISTS.*west is already running/);

    const ns = await run('kubectl', ['--kubeconfig', join(dir, 'west', 'kubeconfig'), 'get', 'namespaces', '-o', 'name']);
    assert.match(ns.stdout, /namespace\/default/);
    assert.match(ns.stdout, /namespace\/kube-system/);

    const status = await run(process.execPath, [cli, 'status', '--dir', dir]);
    assert.match(status.stdout, /east\s+running/);

    const down = await run(process.execPath, [cli, 'down', '--dir', dir]);
    assert.match(down.stdout, /stopped (east, west|west, east)/);
    const left = execFileSync('ps', ['-eo', 'args']).toString().split('\n').filter((l) => l.includes(dir));
    assert.deepEqual(left, [], 'no process of the test bed survives `down`');
    const after = await run(process.execPath, [cli, 'status', '--dir', dir]);
    assert.match(after.stdout, /no test-bed clusters/);
  } finally {
    await run(process.execPath, [cli, 'down', '--dir', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('testbed rejects a bad cluster name before starting anything', async () => {
  const err = await run(process.execPath, [cli, 'up', '--clusters', 'Bad_Name', '--dir', join(tmpdir(), 'isthmus-never')]).then(() => undefined, (e: unknown) => e as { code: number; stderr: string });
  assert.ok(err);
  assert.match(err.stderr, /invalid cluster name "Bad_Name"/);
});
