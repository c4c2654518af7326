/**
 * Locality load balancing of one proxy's load assignment, as istiod applies a DestinationRule's
 * `localityLbSetting`, or without one the mesh-wide default (on, with no rules of its own):
 *
 * - `distribute`: for a proxy whose locality matches an entry's `from`, the groups of each `to`
 *   locality share its weight in proportion to their own weights (rounded up); groups of localities
 *   the entry does not name are left out. No outlier detection needed.
 * - Otherwise only when the cluster has outlier detection (else Envoy never leaves priority 0):
 *   `failoverPriority` splits every group by how many leading labels each endpoint shares with the
 *   proxy (a leading `topology.istio.io/network` that differs only demotes, behind every same-network
 *   endpoint); and `failover`, or the default when `failoverPriority` is empty, orders groups by
 *   locality: same region, zone and subzone 0, same zone 1, same region 2, another region 3 — or 4 for
 *   every region but `to` when a `failover` entry names the proxy's region. Priorities combine (label
 *   priority first) and are renumbered 0..N without gaps.
 *
 * Pure: groups in, new groups out (inputs are not modified). A priority of 0 is left unset.
 */
import type { Locality } from '../../model/endpoint.ts';
import { LABEL_TOPOLOGY_NETWORK } from '../../model/labels.ts';
import type { LocalityLbSetting, TrafficPolicySettings } from '../../model/mesh-view.ts';
import type * as T from '../../proto/types.ts';

const MAX_WEIGHT = 0xffffffff;

/** Istio's mesh-wide default (`meshConfig.localityLbSetting: {enabled: true}`). */
export const MESH_DEFAULT_LOCALITY_LB: LocalityLbSetting = Object.freeze({ distribute: [], failover: [], failoverPriority: [] });

/** The setting in force for a policy: the rule's own, else the mesh default; undefined when turned off. */
export function effectiveLocalityLb(p: Pick<TrafficPolicySettings, 'localityLbSetting'>): LocalityLbSetting | undefined {
  const s = p.localityLbSetting ?? MESH_DEFAULT_LOCALITY_LB;
  return s.enabled === false ? undefined : s;
}

type Labels = Readonly<Record<string, string>>;

/** The labels of the endpoint behind `group.lbEndpoints[index]` (a gateway stands for its cluster and network). */
export type EndpointLabels = (group: T.LocalityLbEndpoints, index: number) => Labels;

export interface LocalityLbInput {
  /** The proxy's locality and labels (topology labels included). */
  readonly proxy: { readonly locality: Locality; readonly labels: Labels };
  /** undefined: locality load balancing is off. */
  readonly setting: LocalityLbSetting | undefined;
  readonly outlierDetection: boolean;
  readonly labelsOf: EndpointLabels;
}

function localityOf(l: T.Locality | null | undefined): Locality {
  return { region: l?.region ?? '', zone: l?.zone ?? '', subzone: l?.subZone ?? '' };
}

/** Whether `l` is in `pattern` (`region[/zone[/subzone]]`; `*` or a missing zone/subzone matches any). */
export function localityMatch(l: Locality, pattern: string): boolean {
  const [r = '', z = '', s = ''] = pattern.split('/');
  return (r === '*' || l.region === r) && (z === '*' || z === '' || l.zone === z) && (s === '*' || s === '' || l.subzone === s);
}

/** 0 same region/zone/subzone, 1 same region/zone, 2 same region, 3 another region. */
export function lbPriority(proxy: Locality, ep: Locality): number {
  if (proxy.region !== ep.region) return 3;
  if (proxy.zone !== ep.zone) return 2;
  return proxy.subzone === ep.subzone ? 0 : 1;
}

function weightOf(g: T.LocalityLbEndpoints): number {
  return g.loadBalancingWeight?.value ?? 1;
}

function withPriority(g: T.LocalityLbEndpoints, priority: number): T.LocalityLbEndpoints {
  const { priority: _old, ...rest } = g;
  return priority > 0 ? { ...rest, priority } : rest;
}

/** Sets each group's priority to the rank of its raw priority among the distinct ones. */
function renumber(groups: readonly T.LocalityLbEndpoints[], raw: readonly number[]): T.LocalityLbEndpoints[] {
  const rank = new Map([...new Set(raw)].sort((a, b) => a - b).map((p, i) => [p, i]));
  return groups.map((g, i) => withPriority(g, rank.get(raw[i] ?? 0) ?? 0));
}

function distribute(groups: readonly T.LocalityLbEndpoints[], proxy: Locality, rules: LocalityLbSetting['distribute']): T.LocalityLbEndpoints[] {
  const rule = rules.find((r) => localityMatch(proxy, r.from));
  if (rule === undefined) return [...groups];
  const out = groups.map((g) => ({ ...g }));
  const unmatched = new Set(out.keys());
  for (const { locality, weight } of rule.to) {
    const hit = [...unmatched].filter((i) => localityMatch(localityOf(out[i]?.locality), locality));
    let total = 0;
    for (const i of hit) {
      unmatched.delete(i);
      total += weightOf(out[i] ?? {});
    }
    for (const i of hit) {
      const g = out[i];
      const w = g === undefined || total === 0 ? 0 : (weightOf(g) * weight) / total;
      if (g !== undefined && w > 0) g.loadBalancingWeight = { value: Math.min(Math.ceil(w), MAX_WEIGHT) };
    }
  }
  // Localities the rule does not name get no traffic (istiod empties them; empty groups are left out here).
  return out.filter((_, i) => !unmatched.has(i));
}

function localityFailover(groups: readonly T.LocalityLbEndpoints[], proxy: Locality, failover: LocalityLbSetting['failover']): T.LocalityLbEndpoints[] {
  const rule = failover.find((f) => f.from === proxy.region);
  const raw = groups.map((g) => {
    const l = localityOf(g.locality);
    let p = lbPriority(proxy, l);
    if (p === 3 && rule !== undefined && l.region !== rule.to) p = 4;
    return (g.priority ?? 0) * 5 + p;
  });
  return renumber(groups, raw);
}

function byLabels(groups: readonly T.LocalityLbEndpoints[], labelsOf: EndpointLabels, proxyLabels: Labels, priorities: readonly string[]): T.LocalityLbEndpoints[] {
  if (Object.keys(proxyLabels).length === 0) return [...groups];
  const n = priorities.length;
  const includesNetwork = priorities[0] === LABEL_TOPOLOGY_NETWORK;
  const fixed = new Map<string, string>();
  const names = priorities.map((p) => {
    const parts = p.split('=');
    const name = parts[0] ?? '';
    if (parts.length === 2) fixed.set(name, parts[1] ?? '');
    return name;
  });
  const split: T.LocalityLbEndpoints[] = [];
  for (const g of groups) {
    const lbs = g.lbEndpoints ?? [];
    const byPriority = new Map<number, T.LbEndpoint[]>();
    lbs.forEach((lb, i) => {
      const labels = labelsOf(g, i);
      let priority = 0;
      let demoted = 0;
      for (let j = 0; j < n; j++) {
        const name = names[j] ?? '';
        if ((fixed.get(name) ?? proxyLabels[name] ?? '') === (labels[name] ?? '')) continue;
        if (j === 0 && includesNetwork) { demoted = n; continue; }
        priority = n - j;
        break;
      }
      const p = priority + demoted;
      const at = byPriority.get(p);
      if (at === undefined) byPriority.set(p, [lb]); else at.push(lb);
    });
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const members = byPriority.get(p) ?? [];
      const weight = members.reduce((s, e) => s + (e.loadBalancingWeight?.value ?? 1), 0);
      split.push(withPriority({ ...g, lbEndpoints: members, loadBalancingWeight: { value: Math.min(weight, MAX_WEIGHT) } }, p));
    }
  }
  return renumber(split, split.map((g) => g.priority ?? 0));
}

/** The groups with locality priorities or weights for this proxy (see the file comment). */
export function applyLocalityLb(groups: readonly T.LocalityLbEndpoints[], input: LocalityLbInput): T.LocalityLbEndpoints[] {
  const s = input.setting;
  if (s === undefined || groups.length === 0) return [...groups];
  if (s.distribute.length > 0) return distribute(groups, input.proxy.locality, s.distribute);
  if (!input.outlierDetection) return [...groups];
  if (s.failoverPriority.length === 0) return localityFailover(groups, input.proxy.locality, s.failover);
  const split = byLabels(groups, input.labelsOf, input.proxy.labels, s.failoverPriority);
  return s.failover.length > 0 ? localityFailover(split, input.proxy.locality, s.failover) : split;
}

/**
 * For a client that takes each address once per assignment (proxyless gRPC): the groups in priority
 * order, so that merging duplicates keeps an address in its most preferred group, and `renumbered`
 * to close the gaps a merge leaves (a client NACKs non-contiguous priorities).
 */
export function byPriority(groups: readonly T.LocalityLbEndpoints[]): T.LocalityLbEndpoints[] {
  return [...groups].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0));
}

export function contiguousPriorities(groups: readonly T.LocalityLbEndpoints[]): T.LocalityLbEndpoints[] {
  return renumber(groups, groups.map((g) => g.priority ?? 0));
}
