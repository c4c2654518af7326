/**
 * bench/compare's objects, written into API-server-only test-bed clusters as a scheduler, kubelets
 * and the EndpointSlice controller would have written them: Services with a selector, Running Pods
 * (status.podIP set, labelled security.istio.io/tlsMode=istio so both control planes send mTLS
 * metadata), and one EndpointSlice per Service whose endpoints reference those Pods. Addresses are
 * only data (10.x.y.z); nothing dials them.
 */
import type { TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { runPool } from './pool.ts';

const PORT = 8080;
type Obj = Record<string, unknown>;

interface Backend { readonly pod: string; readonly ip: string }

function serviceBody(name: string): Obj {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { app: name } }, spec: { selector: { app: name }, ports: [{ name: 'http', port: PORT, targetPort: PORT }] } };
}

function sliceBody(service: string, ns: string, backends: readonly Backend[]): Obj {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${service}-a`, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', ports: [{ name: 'http', port: PORT, protocol: 'TCP' }],
    endpoints: backends.map((b) => ({ addresses: [b.ip], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: ns, name: b.pod } })),
  };
}

/** A Running pod of `service` at `ip` (created, then its status written as a kubelet would). */
async function runningPod(c: TestbedCluster, ns: string, service: string, b: Backend): Promise<void> {
  const created = await c.requestOk('POST', `/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: b.pod, labels: { app: service, 'security.istio.io/tlsMode': 'istio' } },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/bench/app:1', ports: [{ containerPort: PORT }] }] },
  }, true) as Obj;
  await c.requestOk('PUT', `/api/v1/namespaces/${ns}/pods/${b.pod}/status`, {
    ...created, status: { phase: 'Running', podIP: b.ip, podIPs: [{ ip: b.ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  });
}

/** Services `svc-<i>` in `ns`, with `sizes[i]` pods each at `address(i, k)`. */
async function services(c: TestbedCluster, ns: string, sizes: readonly number[], address: (i: number, k: number) => string, concurrency: number, log: (m: string) => void): Promise<void> {
  await c.ensureNamespace(ns);
  const backends = sizes.map((n, i) => Array.from({ length: n }, (_, k) => ({ pod: `svc-${i}-${k}`, ip: address(i, k) })));
  const total = sizes.reduce((a, b) => a + b, 0);
  const pods = backends.flatMap((bs, i) => bs.map((b) => async () => { await runningPod(c, ns, `svc-${i}`, b); }));
  await runPool(pods, concurrency, (done) => { if (done % 2000 === 0) log(`  ${c.name}: ${done}/${total} pods`); });
  await runPool(backends.map((bs, i) => async () => {
    await c.requestOk('POST', `/api/v1/namespaces/${ns}/services`, serviceBody(`svc-${i}`), true);
    await c.requestOk('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, sliceBody(`svc-${i}`, ns, bs), true);
  }), concurrency);
  log(`  ${c.name}: ${sizes.length} services, ${total} pods and endpoints in namespace ${ns}`);
}

/** cluster1's workload: `count` services in namespace `bench`, `per` endpoints each, `total` in all. */
export async function createWorkload(c: TestbedCluster, count: number, per: number, total: number, concurrency: number, log: (m: string) => void): Promise<void> {
  const sizes = Array.from({ length: count }, (_, i) => Math.min(per, total - i * per));
  await services(c, 'bench', sizes, (i, k) => `10.${10 + Math.floor(i / 250)}.${i % 250}.${k + 1}`, concurrency, log);
}

/** The remote cluster's workload: `count` services in namespace `remote` sharing `total` endpoints. */
export async function createRemoteWorkload(c: TestbedCluster, count: number, total: number, concurrency: number, log: (m: string) => void): Promise<void> {
  const sizes = Array.from({ length: count }, (_, i) => Math.floor(total / count) + (i < total % count ? 1 : 0));
  await services(c, 'remote', sizes, (i, k) => `10.${100 + Math.floor(i / 250)}.${i % 250}.${k + 1}`, concurrency, log);
}

/**
 * Flips the `ready` condition of the first endpoint of `svc-<i>` in `bench` (its pod becoming
 * unready or ready again), or sets it to `ready` when given; answers the new state.
 */
export async function toggleReady(c: TestbedCluster, i: number, ready?: boolean): Promise<boolean> {
  const path = `/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices/svc-${i}-a`;
  const slice = await c.requestOk('GET', path) as Obj & { endpoints?: { conditions?: { ready?: boolean; serving?: boolean } }[] };
  const first = slice.endpoints?.[0];
  if (!first) throw new Error(`${path} has no endpoints`);
  const next = ready ?? first.conditions?.ready !== true;
  if (first.conditions?.ready === next) return next;
  first.conditions = { ...first.conditions, ready: next, serving: next };
  await c.requestOk('PUT', path, slice);
  return next;
}

/** A new Service `name` in `bench` with one pod at `ip`. */
export async function newService(c: TestbedCluster, name: string, ip: string): Promise<void> {
  const b = { pod: `${name}-0`, ip };
  await runningPod(c, 'bench', name, b);
  await c.requestOk('POST', '/api/v1/namespaces/bench/services', serviceBody(name));
  await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices', sliceBody(name, 'bench', [b]));
}

export async function deleteService(c: TestbedCluster, name: string): Promise<void> {
  for (const path of [`/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices/${name}-a`, `/api/v1/namespaces/bench/services/${name}`, `/api/v1/namespaces/bench/pods/${name}-0`]) {
    const r = await c.request('DELETE', path);
    if (r.status >= 300 && r.status !== 404) throw new Error(`DELETE ${path}: ${r.status} ${r.body.slice(0, 200)}`);
  }
}
