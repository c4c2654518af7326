import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchClusterz, formatClusters } from './index.ts';

test('the x remote-clusters table', () => {
  assert.equal(formatClusters([{ id: 'cluster2', secretName: 'istio-system/istio-remote-secret-cluster2', syncStatus: 'synced' }], 'istiod-1'),
    'NAME      SECRET                                     STATUS  ISTIOD\n' +
    'cluster2  istio-system/istio-remote-secret-cluster2  synced  istiod-1\n');
});

test('reads /debug/clusterz; an unreachable address is a clear error', async () => {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === '/debug/clusterz' ? JSON.stringify([{ id: 'cluster1', secretName: '', syncStatus: 'synced' }, { id: 'cluster2', secretName: 's', syncStatus: 'timeout' }]) : '[]');
  });
  await new Promise<void>((r) => { server.listen(0, '127.0.0.1', r); });
  const { port } = server.address() as AddressInfo;
  try {
    const got = await fetchClusterz(`127.0.0.1:${port}`);
    assert.deepEqual(got.map((e) => `${e.id}:${e.syncStatus ?? ''}`), ['cluster1:synced', 'cluster2:timeout']);
  } finally {
    await new Promise<void>((r) => { server.close(() => { r(); }); });
  }
  await assert.rejects(fetchClusterz(`127.0.0.1:${port}`), /cannot reach the control plane's debug endpoint/);
});
