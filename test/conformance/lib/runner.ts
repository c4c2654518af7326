/**
 * Runs the conformance scenarios: two test-bed clusters with Istio's CRDs, the real istiod and a real
 * `isthmus discovery` both against cluster1 (cluster2 through the same remote secret), every
 * simulated proxy connected to each, and the answers compared.
 */
import { DiscoveryProcess } from '../../../src/testing/discovery-process.ts';
import { applyIstioCrds, IstiodProcess, remoteSecret } from '../../../src/testing/istiod/istiod-process.ts';
import { Testbed } from '../../../src/testing/testbed/testbed.ts';
import { acceptedFor, canonical, diffJson, str, type AcceptedDifference, type Difference } from './diff.ts';
import { applyObject, type KubeObject } from './objects.ts';
import { RawAdsStream, type Json, type JsonObject } from './xds-json.ts';
import type { ProxySpec, Role, Scenario } from '../scenarios.ts';

const T = {
  CDS: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  EDS: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  LDS: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  RDS: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
} as const;

/** `TYPE/name` -> resource JSON. */
export type Snapshot = Map<string, JsonObject>;

function collect(v: Json | undefined, key: string, out: Set<string>): void {
  if (Array.isArray(v)) { for (const x of v) collect(x, key, out); return; }
  if (v === null || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if (k === key && typeof x === 'string') out.add(x);
    else collect(x, key, out);
  }
}

/** Connects as `proxy`, fetches its CDS, EDS, LDS and RDS the way the proxy would, and closes. */
export async function snapshot(address: string, proxy: ProxySpec): Promise<Snapshot> {
  const s = new RawAdsStream(address, { id: proxy.id, metadata: proxy.metadata });
  const snap: Snapshot = new Map();
  const put = (type: string, r: JsonObject, name?: string) => { snap.set(`${type}/${name ?? str(r['name'] ?? r['cluster_name'])}`, r); };
  try {
    if (proxy.grpcListeners) {
      const lds = await s.get(T.LDS, proxy.grpcListeners);
      const rdsNames = new Set<string>();
      for (const l of lds) { put('LDS', l); collect(l, 'route_config_name', rdsNames); }
      const rds = rdsNames.size > 0 ? await s.get(T.RDS, [...rdsNames]) : [];
      const clusters = new Set<string>();
      // The two control planes name the route configuration differently (accepted): key it by listener.
      for (const r of rds) { put('RDS', r, `of:${lds.map((l) => str(l['name'])).join(',')}`); collect(r, 'cluster', clusters); }
      for (const r of rds) collectWeighted(r, clusters);
      const cds = clusters.size > 0 ? await s.get(T.CDS, [...clusters]) : [];
      for (const c of cds) put('CDS', c);
      const eds = edsNames(cds);
      for (const e of eds.length > 0 ? await s.get(T.EDS, eds) : []) put('EDS', e);
      return snap;
    }
    const cds = await s.get(T.CDS, []);
    for (const c of cds) put('CDS', c);
    const eds = edsNames(cds);
    for (const e of eds.length > 0 ? await s.get(T.EDS, eds) : []) put('EDS', e);
    const lds = await s.get(T.LDS, []);
    const rdsNames = new Set<string>();
    for (const l of lds) { put('LDS', l); collect(l, 'route_config_name', rdsNames); }
    for (const r of rdsNames.size > 0 ? await s.get(T.RDS, [...rdsNames]) : []) put('RDS', r);
    return snap;
  } finally {
    s.close();
  }
}

/** The clusters of weighted routes (what a gRPC client asks CDS for), not every name in the config. */
function collectWeighted(r: Json | undefined, out: Set<string>): void {
  if (Array.isArray(r)) { for (const x of r) collectWeighted(x, out); return; }
  if (r === null || typeof r !== 'object') return;
  for (const [k, x] of Object.entries(r)) {
    if (k === 'weighted_clusters') collect(x, 'name', out);
    else collectWeighted(x, out);
  }
}

function edsNames(cds: readonly JsonObject[]): string[] {
  return cds.filter((c) => c['type'] === 'EDS').map((c) => {
    const ecc = c['eds_cluster_config'];
    const sn = ecc !== null && typeof ecc === 'object' && !Array.isArray(ecc) ? ecc['service_name'] : undefined;
    return typeof sn === 'string' && sn !== '' ? sn : str(c['name']);
  });
}

const canonicalSnap = (s: Snapshot): string => [...s.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${canonical(v)}`).join('\n');

/**
 * Snapshots `proxy` from one control plane until two snapshots 300 ms apart agree and the expected
 * resources are present (the control plane has converged on what was applied).
 */
export async function settled(address: string, proxy: ProxySpec, expect: readonly string[], timeoutMs = 60_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let prev = '';
  for (;;) {
    const snap = await snapshot(address, proxy);
    const c = canonicalSnap(snap);
    if (c === prev && expect.every((k) => snap.has(k))) return snap;
    if (Date.now() > deadline) {
      throw new Error(`${proxy.role} at ${address}: no stable answer with ${expect.join(', ') || 'the expected resources'} after ${timeoutMs} ms (has ${[...snap.keys()].slice(0, 40).join(', ')})`);
    }
    prev = c;
    await new Promise((r) => setTimeout(r, 300));
  }
}

export interface NodeResult {
  readonly role: Role;
  readonly resources: number;
  readonly identical: number;
  /** Resources whose differences are all accepted as harmless (no `NOT YET FIXED` entry), identical ones included. */
  readonly equivalent: number;
  /** Resources with at least one difference accepted as a known gap (`NOT YET FIXED`). */
  readonly knownGaps: number;
  readonly accepted: { readonly d: Difference; readonly reason: string }[];
  readonly failures: Difference[];
}

/** Compares two snapshots of one node resource by resource. */
export function compare(role: Role, istiod: Snapshot, isthmus: Snapshot, list: readonly AcceptedDifference[]): NodeResult {
  const keys = [...new Set([...istiod.keys(), ...isthmus.keys()])].sort();
  let identical = 0;
  let equivalent = 0;
  let knownGaps = 0;
  const accepted: NodeResult['accepted'] = [];
  const failures: Difference[] = [];
  for (const k of keys) {
    const diffs: Difference[] = [];
    const a = istiod.get(k);
    const b = isthmus.get(k);
    if (a === undefined || b === undefined) diffs.push({ path: k, istiod: a === undefined ? undefined : '<present>', isthmus: b === undefined ? undefined : '<present>' });
    else diffJson(k, a, b, diffs);
    if (diffs.length === 0) identical++;
    let gap = false;
    let failed = false;
    for (const d of diffs) {
      const e = acceptedFor(d, role, list);
      if (e) accepted.push({ d, reason: e.reason }); else failures.push(d);
      failed ||= e === undefined;
      gap ||= e?.reason.startsWith('NOT YET FIXED') === true;
    }
    if (gap) knownGaps++;
    else if (!failed) equivalent++;
  }
  return { role, resources: keys.length, identical, equivalent, knownGaps, accepted, failures };
}

export class World {
  readonly bed: Testbed;
  readonly istiod: IstiodProcess;
  readonly isthmus: DiscoveryProcess;

  private constructor(bed: Testbed, istiod: IstiodProcess, isthmus: DiscoveryProcess) {
    this.bed = bed;
    this.istiod = istiod;
    this.isthmus = isthmus;
  }

  /** Clusters, CRDs, the remote secret, then istiod and Isthmus; everything started is stopped on failure. */
  static async up(dir: string, log: (s: string) => void): Promise<World> {
    const bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
    let istiod: IstiodProcess | undefined;
    try {
      const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
      const t0 = Date.now();
      const n = await Promise.all([applyIstioCrds(c1), applyIstioCrds(c2)]);
      log(`Istio CRDs applied by server-side apply: ${n.join(' + ')} in ${Date.now() - t0} ms`);
      for (const [c, net] of [[c1, 'network1'], [c2, 'network2']] as const) {
        await applyObject(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system', labels: { 'topology.istio.io/network': net } } });
      }
      await applyObject(c1, await remoteSecret(c2) as KubeObject);
      const t1 = Date.now();
      istiod = await IstiodProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', dir });
      await istiod.ready();
      log(`istiod ready ${Date.now() - t1} ms after start`);
      const t2 = Date.now();
      const isthmus = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', env: { POD_NAMESPACE: 'istio-system' } });
      try {
        await isthmus.ready(60_000);
      } catch (err) {
        await isthmus.stop();
        throw err;
      }
      log(`isthmus discovery ready ${Date.now() - t2} ms after start`);
      return new World(bed, istiod, isthmus);
    } catch (err) {
      await istiod?.stop();
      await bed.down();
      throw err;
    }
  }

  async apply(s: Scenario): Promise<void> {
    for (const [name, objs] of Object.entries(s.objects)) {
      const c = this.bed.cluster(name);
      for (const o of objs) await applyObject(c, o);
    }
  }

  async down(): Promise<void> {
    await Promise.allSettled([this.istiod.stop(), this.isthmus.stop()]);
    await this.bed.down();
  }
}
