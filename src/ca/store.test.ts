import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../kube/client.ts';
import { ErrorCodes, isIsthmusError } from '../model/errors.ts';
import { CaStore } from './store.ts';

test('an API server that refuses connections: the CA store fails with KubeUnreachable naming the server', async () => {
  // A port that was free a moment ago: nothing listens on it.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0); });
    });
  });
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-ca-store-'));
  try {
    const file = join(dir, 'kubeconfig');
    writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: x, context: { cluster: c, user: u } }]
current-context: x
`);
    const store = new CaStore({ client: KubeClient.fromFile(file), namespace: 'istio-system', watch: false });
    await assert.rejects(store.start(), (err: unknown) => {
      assert.ok(isIsthmusError(err, ErrorCodes.KubeUnreachable), String(err));
      assert.match(err.message, new RegExp(`reading the CA's Secrets in https://127\\.0\\.0\\.1:${port}: cannot reach the API server: .*ECONNREFUSED`));
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
