/**
 * Helpers for tests of remote clusters against a real discovery process: remote secrets, a reader
 * kubeconfig, seeded services, freezing a test-bed API server (SIGSTOP/SIGCONT), RSS sampling.
 */
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import type { TestbedCluster } from './testbed/testbed.ts';

/** Creates or replaces a Secret labelled `istio/multiCluster=true` in `istio-system` of `local`. */
export async function putRemoteSecret(local: TestbedCluster, name: string, data: Readonly<Record<string, string>>): Promise<void> {
  const body = {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  const res = await local.request('PUT', `/api/v1/namespaces/istio-system/secrets/${name}`, body);
  if (res.status === 404) await local.requestOk('POST', '/api/v1/namespaces/istio-system/secrets', body);
  else assert.ok(res.status < 300, res.body);
}

export async function deleteSecret(local: TestbedCluster, name: string): Promise<void> {
  await local.requestOk('DELETE', `/api/v1/namespaces/istio-system/secrets/${name}`);
}

/**
 * A kubeconfig for `remote` with a fresh token of istio-reader-service-account, bound to `view` plus
 * reading Nodes (cluster-scoped, not in `view`), as the install's reader ClusterRole allows.
 */
export async function readerKubeconfig(remote: TestbedCluster): Promise<string> {
  await remote.ensureNamespace('istio-system');
  await remote.bindClusterRole('istio-system', 'istio-reader-service-account', 'view', 'istio-reader-view');
  const role = await remote.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'istio-reader-nodes' },
    rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }],
  });
  if (role.status !== 201 && role.status !== 409) throw new Error(`creating ClusterRole istio-reader-nodes: HTTP ${role.status} ${role.body.slice(0, 200)}`);
  await remote.bindClusterRole('istio-system', 'istio-reader-service-account', 'istio-reader-nodes', 'istio-reader-nodes');
  return remote.tokenKubeconfig(await remote.mintToken('istio-system', 'istio-reader-service-account'));
}

/** `n` Services `svc-<i>` in namespace `ns`, each with one EndpointSlice holding `<prefix>.<i>`. */
export async function seedServices(c: TestbedCluster, ns: string, n: number, prefix: string): Promise<void> {
  await c.ensureNamespace(ns);
  for (let i = 0; i < n; i++) {
    await c.requestOk('POST', `/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    }, true);
    await c.requestOk('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `svc-${i}-a`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [`${prefix}.${i + 1}`], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }, true);
  }
}

/** Freezes a process (SIGSTOP): it keeps its sockets open and answers nothing. */
export function freeze(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`not a process id: ${pid}`);
  process.kill(pid, 'SIGSTOP');
}

/** Resumes a frozen process (SIGCONT); harmless if it is not frozen or gone. */
export function thaw(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0) return;
  try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ }
}

/** Resident memory of a process in bytes (Linux), or undefined if it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ClusterzEntry { id: string; secretName: string; syncStatus: string; healthy?: boolean; lastError?: string; reason?: string }
export interface RegistryzEntry { hostname: string; namespace: string; clusterVIPs: Record<string, unknown> }
export type Shardz = Record<string, Record<string, { Shards: Record<string, { address: string }[]> }>>;

/** Hostnames of services the registry has for namespace `ns`. */
export function hostsIn(registry: readonly RegistryzEntry[], ns: string): string[] {
  return registry.filter((s) => s.namespace === ns).map((s) => s.hostname);
}

/** Number of endpoint shards `cluster` has in namespace `ns`. */
export function shardsOf(shardz: Shardz, cluster: string, ns: string): number {
  let n = 0;
  for (const byNs of Object.values(shardz)) if ((byNs[ns]?.Shards[cluster]?.length ?? 0) > 0) n++;
  return n;
}
