/**
 * Reads the control plane's debug endpoints for `isthmus check`: `/debug/clusterz` (its view of
 * remote clusters) and `/debug/syncz` (every proxy's cluster id and per-type sync status). A proxy
 * seen STALE is read again shortly after, so a push in flight is not reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../model/errors.ts';
import type { ClusterzFacts, DebugFacts, ProxySyncFacts } from './types.ts';

interface SynczEntry {
  proxy?: string;
  cluster_id?: string;
  types?: Record<string, { status?: string; sent?: string; error?: string }>;
}

export interface DebugOptions {
  readonly address: string;
  readonly token?: string;
  readonly timeoutMs: number;
  /** Delay before re-reading proxies seen STALE. */
  readonly staleRecheckMs: number;
}

export function isLoopbackAddress(hostPort: string): boolean {
  const host = hostPort.replace(/^https?:\/\//, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

async function getJson(o: DebugOptions, path: string): Promise<unknown> {
  const base = /^https?:\/\//.test(o.address) ? o.address : `http://${o.address}`;
  const res = await fetch(`${base}${path}`, {
    signal: AbortSignal.timeout(o.timeoutMs),
    ...(o.token === undefined ? {} : { headers: { authorization: `Bearer ${o.token}` } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 200).trim()}`);
  return JSON.parse(text) as unknown;
}

/** Pure: syncz JSON to proxy facts. */
export function proxiesFromSyncz(body: unknown): ProxySyncFacts[] {
  if (!Array.isArray(body)) return [];
  return (body as SynczEntry[]).filter((e) => typeof e.proxy === 'string').map((e) => ({
    proxy: e.proxy ?? '', clusterId: e.cluster_id ?? '',
    types: Object.fromEntries(Object.entries(e.types ?? {}).map(([k, t]) => [k, { status: t.status ?? 'UNKNOWN', ...(t.error ? { error: t.error } : {}) }])),
  }));
}

/** Pure: a proxy stays STALE only if it is STALE for the same type and nonce in both reads. */
export function confirmStale(first: unknown, second: unknown): ProxySyncFacts[] {
  const again = new Map<string, SynczEntry>();
  if (Array.isArray(second)) for (const e of second as SynczEntry[]) if (e.proxy) again.set(e.proxy, e);
  const firstList = Array.isArray(first) ? first as SynczEntry[] : [];
  const kept = firstList.map((e) => {
    const later = again.get(e.proxy ?? '');
    const types = Object.fromEntries(Object.entries(e.types ?? {}).map(([k, t]) => {
      if (t.status !== 'STALE') return [k, t];
      const l = later?.types?.[k];
      return [k, l?.status === 'STALE' && l.sent === t.sent ? t : { ...t, status: l?.status ?? 'SYNCED' }];
    }));
    return { ...e, types };
  }).filter((e) => again.has(e.proxy ?? ''));
  return proxiesFromSyncz(kept);
}

export async function gatherDebug(o: DebugOptions): Promise<DebugFacts> {
  try {
    const [clusterz, syncz] = await Promise.all([getJson(o, '/debug/clusterz'), getJson(o, '/debug/syncz')]);
    let proxies = proxiesFromSyncz(syncz);
    if (proxies.some((p) => Object.values(p.types).some((t) => t.status === 'STALE'))) {
      await sleep(o.staleRecheckMs);
      proxies = confirmStale(syncz, await getJson(o, '/debug/syncz'));
    }
    const clusters: ClusterzFacts[] = Array.isArray(clusterz)
      ? (clusterz as Record<string, unknown>[]).filter((c) => typeof c['id'] === 'string').map((c) => ({
        id: c['id'] as string,
        ...(typeof c['secretName'] === 'string' ? { secretName: c['secretName'] } : {}),
        ...(typeof c['syncStatus'] === 'string' ? { syncStatus: c['syncStatus'] } : {}),
        ...(typeof c['lastError'] === 'string' ? { lastError: c['lastError'] } : {}),
        ...(typeof c['shouldLead'] === 'boolean' ? { shouldLead: c['shouldLead'] } : {}),
      }))
      : [];
    return { address: o.address, clusters, proxies };
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? `: ${errorMessage(err.cause)}` : '';
    return { address: o.address, unreachable: `${errorMessage(err)}${cause}`, clusters: [], proxies: [] };
  }
}
