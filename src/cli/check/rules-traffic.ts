/**
 * Rules about traffic: endpoints that cross-network load balancing drops for lack of mTLS, and
 * proxies whose configuration is not in sync. Pure.
 */
import { LABEL_TLS_MODE, LABEL_TOPOLOGY_NETWORK } from '../../model/labels.ts';
import type { ClusterFacts, Finding, MeshFacts, PodFacts } from './types.ts';
import { CONTROL_PLANE, clusterNetwork, kubectl, shellQuote } from './topology.ts';

const SKIPPED_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

function podNetwork(c: ClusterFacts, p: PodFacts | undefined): string | undefined {
  return p?.labels[LABEL_TOPOLOGY_NETWORK] ?? clusterNetwork(c);
}

/**
 * A service defined in clusters of different networks is balanced across them through the east-west
 * gateways; endpoints whose pods are not labelled `security.istio.io/tlsMode=istio` are dropped from
 * other networks' view (SNI routing needs mTLS).
 */
export function tlsModeRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  const clusters = m.clusters.filter((c) => c.unreachable === undefined);
  for (const c of clusters) {
    const pods = new Map(c.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    for (const s of c.services) {
      if (SKIPPED_NAMESPACES.has(s.namespace) || s.namespace === c.systemNamespace) continue;
      const withPods = s.endpoints.filter((e) => e.pod !== undefined);
      if (withPods.length === 0) continue;
      const localNets = new Set(withPods.map((e) => podNetwork(c, pods.get(e.pod ?? ''))));
      const peers = clusters.filter((d) => d !== c && d.services.some((x) => x.namespace === s.namespace && x.name === s.name)
        && [...localNets].some((n) => clusterNetwork(d) !== n));
      if (peers.length === 0) continue;
      const plain = [...new Set(withPods.filter((e) => pods.get(e.pod ?? '')?.labels[LABEL_TLS_MODE] !== 'istio').map((e) => e.pod ?? ''))].sort();
      if (plain.length === 0) continue;
      const all = plain.length === new Set(withPods.map((e) => e.pod)).size;
      const names = plain.map((p) => p.slice(p.indexOf('/') + 1));
      out.push({
        severity: all ? 'error' : 'warning', rule: 'endpoint-not-mtls',
        where: { cluster: c.context, namespace: s.namespace, object: `Pod/${names[0] ?? ''}`, field: `metadata.labels["${LABEL_TLS_MODE}"]` },
        message: `${names.length} endpoint pod(s) of service ${s.namespace}/${s.name} in ${c.context} (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}) lack ${LABEL_TLS_MODE}=istio; the service also runs in ${peers.map((d) => d.context).join(', ')} on another network`,
        why: `proxies in other networks reach these pods only through the east-west gateway, which needs mTLS: they silently drop ${all ? 'every endpoint of this cluster' : 'these endpoints'} from load balancing`,
        fix: `${kubectl(c.context)} label namespace ${shellQuote(s.namespace)} istio-injection=enabled --overwrite && ${kubectl(c.context)} -n ${shellQuote(s.namespace)} delete pod ${names.map(shellQuote).join(' ')}  # re-created with a sidecar and the label`,
      });
    }
  }
  return out;
}

const SYNC_RULES: Readonly<Record<string, { readonly severity: 'error' | 'warning'; readonly rule: string; readonly why: string }>> = {
  ERROR: { severity: 'error', rule: 'proxy-sync-error', why: 'the proxy rejected (NACKed) its configuration and keeps running an older one: routes, clusters or endpoints are out of date' },
  STALE: { severity: 'warning', rule: 'proxy-sync-stale', why: 'the proxy has not acknowledged the last push: it may be overloaded, stuck or disconnected, and serves older configuration' },
  NOT_SENT: { severity: 'warning', rule: 'proxy-sync-not-sent', why: 'the proxy asked for configuration that was never sent: what it asked for is unknown to the control plane (wrong names or cluster id), so it has none of it' },
};

export function syncRules(m: MeshFacts): Finding[] {
  const debug = m.debug;
  if (!debug || debug.unreachable !== undefined) return [];
  const out: Finding[] = [];
  for (const p of debug.proxies) {
    const dot = p.proxy.lastIndexOf('.');
    const [pod, ns] = dot > 0 ? [p.proxy.slice(0, dot), p.proxy.slice(dot + 1)] : [p.proxy, ''];
    const home = m.clusters.find((c) => c.pods.some((x) => x.name === pod && x.namespace === ns));
    for (const status of ['ERROR', 'STALE', 'NOT_SENT'] as const) {
      const types = Object.entries(p.types).filter(([, t]) => t.status === status).map(([name, t]) => ({ name, error: t.error }));
      if (types.length === 0) continue;
      const r = SYNC_RULES[status];
      if (!r) continue;
      const errors = types.filter((t) => t.error).map((t) => `${t.name}: ${t.error ?? ''}`);
      out.push({
        severity: r.severity, rule: r.rule,
        where: { cluster: home?.context ?? CONTROL_PLANE, namespace: ns, object: `Pod/${pod}`, field: `sync status ${types.map((t) => t.name).join(',')}` },
        message: `proxy ${p.proxy} (cluster ${p.clusterId}) is ${status === 'NOT_SENT' ? 'NOT SENT' : status} for ${types.map((t) => t.name).join(', ')}${errors.length > 0 ? `: ${errors.join('; ')}` : ''}`,
        why: r.why,
        fix: status === 'ERROR'
          ? `isthmus proxy-status ${shellQuote(p.proxy)} -o json  # read the rejection, fix the config it names${home ? `; then ${kubectl(home.context)} -n ${shellQuote(ns)} delete pod ${shellQuote(pod)} if it does not recover` : ''}`
          : `isthmus proxy-status ${shellQuote(p.proxy)}${home ? `  # if it persists: ${kubectl(home.context)} -n ${shellQuote(ns)} delete pod ${shellQuote(pod)}` : ''}`,
      });
    }
  }
  return out;
}
