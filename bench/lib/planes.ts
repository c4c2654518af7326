/**
 * The two control planes bench/compare runs against the same test bed, behind one face: a real
 * `isthmus discovery` process and the real istiod (`pilot-discovery`), each with plaintext xDS on a
 * free loopback port (Isthmus `--grpcAddr`, istiod `--grpcAddr`: the 15010-style port), the same
 * debounce and push throttle, and its debug HTTP for sync checks (/debug/registryz and
 * /debug/endpointShardz have the same shape in both).
 */
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';
import { IstiodProcess } from '../../src/testing/istiod/istiod-process.ts';

export type PlaneKind = 'isthmus' | 'istiod';

export interface Plane {
  readonly kind: PlaneKind;
  readonly pid: number;
  readonly grpcAddr: string;
  json<T>(path: string): Promise<T>;
  /** The last `lines` lines of its log (default 30). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/** What both get: istiod's default debounce, and a push throttle of 100 (istiod's default on 2 cores is 25). */
export const PLANE_ENV: Readonly<Record<string, string>> = { PILOT_DEBOUNCE_AFTER: '100ms', PILOT_PUSH_THROTTLE: '100' };

export interface PlaneOptions {
  readonly kubeconfig: string;
  readonly clusterId: string;
  readonly dir: string;
  readonly readyTimeoutMs: number;
  /** Isthmus only: a script to run instead of this checkout's bin/isthmus.mjs (same arguments), e.g. another checkout's. */
  readonly isthmusScript?: string;
}

export async function startPlane(kind: PlaneKind, o: PlaneOptions): Promise<Plane> {
  if (kind === 'isthmus') {
    // BENCH_ISTHMUS_NODE_OPTIONS, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, profiles the Isthmus rounds.
    const nodeOptions = process.env['BENCH_ISTHMUS_NODE_OPTIONS'];
    const d = await DiscoveryProcess.start({ ...(o.isthmusScript === undefined ? {} : { command: [o.isthmusScript, 'discovery'] }), kubeconfig: o.kubeconfig, clusterId: o.clusterId, env: {
      // The compiled JavaScript, as the control-plane image runs it (compare.ts builds it first).
      ...PLANE_ENV, POD_NAMESPACE: 'istio-system', ENABLE_DEBUG_ENDPOINT_AUTH: 'false', ISTHMUS_RUN_BUILT: '1', ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    } });
    const pid = d.pid;
    if (pid === undefined) { await d.stop(); throw new Error('isthmus discovery did not start (no pid)'); }
    const plane: Plane = { kind, pid, grpcAddr: d.grpcAddr, json: (p) => d.json(p), logs: (lines = 30) => d.logs().split('\n').slice(-lines).join('\n'), stop: () => d.stop() };
    try { await d.ready(o.readyTimeoutMs); } catch (err) { await d.stop(); throw err; }
    return plane;
  }
  // istiod limits new xDS requests to 25 a second on 2 cores (PILOT_MAX_REQUESTS_PER_SECOND); Isthmus
  // has no such limit, so it is lifted for a like-for-like connect phase (CPU is what is compared).
  const d = await IstiodProcess.start({ kubeconfig: o.kubeconfig, clusterId: o.clusterId, dir: o.dir, env: { ...PLANE_ENV, PILOT_MAX_REQUESTS_PER_SECOND: '10000' } });
  const pid = d.pid;
  if (pid === undefined) { await d.stop(); throw new Error('pilot-discovery did not start (no pid)'); }
  const plane: Plane = { kind, pid, grpcAddr: d.grpcAddr, json: (p) => d.json(p), logs: (lines = 30) => d.logs(lines), stop: () => d.stop() };
  try { await d.ready(o.readyTimeoutMs); } catch (err) { await d.stop(); throw err; }
  return plane;
}

/** Services whose hostname ends with `suffix` (e.g. `.bench.svc.cluster.local`), from /debug/registryz. */
export async function serviceCount(p: Plane, suffix: string): Promise<number> {
  const reg = await p.json<{ hostname?: string }[] | null>('/debug/registryz');
  return (reg ?? []).filter((s) => s.hostname?.endsWith(suffix) === true).length;
}

type Shardz = Record<string, Record<string, { Shards?: Record<string, unknown[] | null> }>> | null;

/** Endpoints of hosts ending with `suffix` in /debug/endpointShardz, only those of `cluster` if given (istiod keys shards `<provider>/<cluster>`). */
export async function endpointCount(p: Plane, suffix: string, cluster?: string): Promise<number> {
  const shardz = await p.json<Shardz>('/debug/endpointShardz');
  let n = 0;
  for (const [host, byNs] of Object.entries(shardz ?? {})) {
    if (!host.endsWith(suffix)) continue;
    for (const entry of Object.values(byNs)) {
      for (const [key, eps] of Object.entries(entry.Shards ?? {})) {
        if (cluster === undefined || key === cluster || key.endsWith(`/${cluster}`)) n += eps?.length ?? 0;
      }
    }
  }
  return n;
}
