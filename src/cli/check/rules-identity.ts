/**
 * Rules about who is who: remote-secret keys against the clusters' declared ids and the proxies'
 * `ISTIO_META_CLUSTER_ID`, and whether a remote secret's credentials still work. Pure.
 */
import type { ClusterFacts, Finding, MeshFacts, RemoteSecretKeyFacts } from './types.ts';
import { CONTROL_PLANE, declaredClusterId, declaredClusterIds, isPrimary, kubectl, remoteSecretKeys, secretTarget, shellQuote } from './topology.ts';

const secretWhere = (p: ClusterFacts, k: RemoteSecretKeyFacts) => ({
  cluster: p.context, namespace: k.namespace, object: `Secret/${k.secret}`, field: `data[${JSON.stringify(k.key)}]`,
});

/** The command that re-creates a remote secret for `remoteContext` under `name` in primary `p`. */
function recreateSecret(p: ClusterFacts, remoteContext: string, name: string, k: RemoteSecretKeyFacts, deleteOld: boolean): string {
  const del = deleteOld ? `${kubectl(p.context)} -n ${shellQuote(k.namespace)} delete secret ${shellQuote(k.secret)} && ` : '';
  return `${del}isthmus create-remote-secret --context ${shellQuote(remoteContext)} --name ${shellQuote(name)} | ${kubectl(p.context)} apply -f -`;
}

export function secretKeyRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  for (const { primary: p, key: k } of remoteSecretKeys(m)) {
    const own = declaredClusterId(p)?.id;
    if (own !== undefined && k.key === own) {
      out.push({
        severity: 'error', rule: 'remote-secret-local-id', where: secretWhere(p, k),
        message: `remote secret key "${k.key}" is the control plane's own cluster id`,
        why: 'the control plane ignores a remote secret key equal to its own CLUSTER_ID, so that cluster\'s services and endpoints are never read',
        fix: `${kubectl(p.context)} -n ${shellQuote(k.namespace)} delete secret ${shellQuote(k.secret)}  # then: isthmus create-remote-secret --context <remote> --name <the remote's clusterName> | ${kubectl(p.context)} apply -f -`,
      });
      continue;
    }
    const target = secretTarget(k, m.clusters);
    const declared = target ? declaredClusterId(target) : undefined;
    if (target && declared && declared.id !== k.key) {
      out.push({
        severity: 'error', rule: 'cluster-id-mismatch', where: secretWhere(p, k),
        message: `remote secret key "${k.key}" names cluster ${target.context}, whose install says its cluster id is "${declared.id}" (${declared.namespace ? `${declared.namespace}/` : ''}${declared.object} ${declared.field})`,
        why: `proxies in ${target.context} present cluster id "${declared.id}", which the control plane does not know: their certificate requests and xDS streams are refused as unauthenticated, and sidecars never become ready`,
        fix: recreateSecret(p, target.context, declared.id, k, true),
      });
    }
    const remoteCtx = target?.context ?? '<remote context>';
    if (k.invalid !== undefined) {
      out.push({
        severity: 'error', rule: 'remote-secret-invalid', where: secretWhere(p, k),
        message: `the kubeconfig in remote secret key "${k.key}" is refused: ${k.invalid}`,
        why: 'the control plane rejects this key, so the cluster\'s services and endpoints are missing from the mesh',
        fix: recreateSecret(p, remoteCtx, k.key, k, false),
      });
      continue;
    }
    if (k.tokenExp !== undefined && k.tokenExp <= m.now) {
      out.push({
        severity: 'error', rule: 'remote-secret-token-expired', where: { ...secretWhere(p, k), field: `data[${JSON.stringify(k.key)}]: users[0].user.token` },
        message: `the token in remote secret key "${k.key}" expired at ${new Date(k.tokenExp * 1000).toISOString()}`,
        why: 'the remote API server answers 401 to the control plane: the cluster stops syncing and its endpoints go stale or vanish after a restart',
        fix: recreateSecret(p, remoteCtx, k.key, k, false),
      });
    } else if (k.auth === 'unauthorized') {
      out.push({
        severity: 'error', rule: 'remote-secret-unauthorized', where: { ...secretWhere(p, k), field: `data[${JSON.stringify(k.key)}]: users[0].user` },
        message: `the credentials in remote secret key "${k.key}" are refused by ${k.server} (401 Unauthorized)${k.authError ? `: ${k.authError}` : ''}`,
        why: 'the control plane cannot read the remote cluster: no services or endpoints from it, and remote workloads\' tokens cannot be reviewed there',
        fix: recreateSecret(p, remoteCtx, k.key, k, false),
      });
    } else if (k.auth === 'unreachable') {
      out.push({
        severity: 'warning', rule: 'remote-secret-unreachable', where: { ...secretWhere(p, k), field: `data[${JSON.stringify(k.key)}]: clusters[0].cluster.server` },
        message: `the API server ${k.server} of remote secret key "${k.key}" could not be reached from here${k.authError ? `: ${k.authError}` : ''}`,
        why: 'if the control plane cannot reach it either, the cluster never syncs (see /debug/clusterz); its permissions were not checked',
        fix: `isthmus create-remote-secret --context ${shellQuote(remoteCtx)} --name ${shellQuote(k.key)} --server <an address the control plane can reach> | ${kubectl(p.context)} apply -f -`,
      });
    }
    if (k.denied.length > 0) {
      out.push({
        severity: 'error', rule: 'remote-secret-rbac', where: { ...secretWhere(p, k), field: `data[${JSON.stringify(k.key)}]: users[0].user` },
        message: `the credentials in remote secret key "${k.key}" may not ${k.denied.join(', ')} in ${target?.context ?? k.server}`,
        why: 'the control plane\'s informers for those resources fail: the remote cluster never syncs, so its services and endpoints are missing',
        fix: target
          ? `isthmus install -y --context ${shellQuote(target.context)} -f <the remote cluster's IstioOperator>  # re-applies the istio-reader ClusterRole and its binding`
          : 'grant the secret\'s service account the istio-reader ClusterRole in the remote cluster (re-run isthmus install there)',
      });
    }
  }
  return out;
}

/** Clusters the control plane reports as not synced, unless a secret finding already explains why. */
export function clusterzRules(m: MeshFacts, explained: ReadonlySet<string>): Finding[] {
  const primary = m.clusters.find(isPrimary);
  const out: Finding[] = [];
  for (const c of m.debug?.clusters ?? []) {
    if (c.syncStatus === undefined || c.syncStatus === 'synced' || c.secretName === undefined || c.secretName === '') continue;
    if (explained.has(`${c.secretName}#${c.id}`)) continue;
    const [ns, name] = c.secretName.includes('/') ? c.secretName.split('/', 2) as [string, string] : ['istio-system', c.secretName];
    out.push({
      severity: c.syncStatus === 'syncing' ? 'warning' : 'error', rule: 'remote-cluster-not-synced',
      where: { cluster: primary?.context ?? CONTROL_PLANE, namespace: ns, object: `Secret/${name}`, field: `data[${JSON.stringify(c.id)}]` },
      message: `the control plane reports cluster "${c.id}" as ${c.syncStatus}${c.lastError ? `: ${c.lastError}` : ''}`,
      why: 'until it syncs, the cluster\'s services and endpoints are missing from every proxy\'s configuration',
      fix: `isthmus remote-clusters --debug-addr ${m.debug?.address ?? '<host:port>'}  # then fix the secret: isthmus create-remote-secret --context <remote> --name ${shellQuote(c.id)} | ${kubectl(primary?.context ?? '<primary>')} apply -f -`,
    });
  }
  return out;
}

/**
 * Proxies whose ISTIO_META_CLUSTER_ID is not the id of the cluster their pod runs in, or not an id
 * the control plane knows at all.
 */
export function proxyClusterIdRules(m: MeshFacts): Finding[] {
  const debug = m.debug;
  if (!debug || debug.unreachable !== undefined) return [];
  const known = new Set<string>();
  for (const c of m.clusters) { const d = declaredClusterId(c); if (d && isPrimary(c)) known.add(d.id); }
  for (const { key } of remoteSecretKeys(m)) known.add(key.key);
  for (const c of debug.clusters) if (c.syncStatus !== 'error') known.add(c.id);
  // ids each cluster is known by: its declared id and the keys of secrets pointing at it
  const idsOf = new Map<string, Set<string>>();
  for (const c of m.clusters) {
    const s = new Set<string>();
    const d = declaredClusterId(c);
    if (d) s.add(d.id);
    idsOf.set(c.context, s);
  }
  for (const { key } of remoteSecretKeys(m)) { const t = secretTarget(key, m.clusters); if (t) idsOf.get(t.context)?.add(key.key); }

  const out: Finding[] = [];
  for (const p of debug.proxies) {
    const dot = p.proxy.lastIndexOf('.');
    const [pod, ns] = dot > 0 ? [p.proxy.slice(0, dot), p.proxy.slice(dot + 1)] : [p.proxy, ''];
    const homes = m.clusters.filter((c) => c.pods.some((x) => x.name === pod && x.namespace === ns));
    const home = homes.length === 1 ? homes[0] : undefined;
    const homeIds = home ? idsOf.get(home.context) : undefined;
    const field = 'spec.containers[istio-proxy].env[ISTIO_META_CLUSTER_ID]';
    const fix = home
      ? `${kubectl(home.context)} -n ${shellQuote(ns)} delete pod ${shellQuote(pod)}  # re-injected with the cluster id of its webhook path${homeIds && homeIds.size > 0 ? ` (${[...homeIds].join(', ')})` : ''}`
      : `set ISTIO_META_CLUSTER_ID of ${p.proxy} to one of: ${[...known].sort().join(', ')}`;
    if (home && homeIds && homeIds.size > 0 && !homeIds.has(p.clusterId)) {
      out.push({
        severity: 'error', rule: 'proxy-cluster-id-mismatch', where: { cluster: home.context, namespace: ns, object: `Pod/${pod}`, field },
        message: `proxy ${p.proxy} runs in ${home.context} (cluster id ${[...homeIds].join(' or ')}) but says it is in cluster "${p.clusterId}"`,
        why: 'its token is reviewed in the wrong cluster (or none), so certificates and xDS are refused as unauthenticated; it also gets no inbound configuration for its own services',
        fix,
      });
    } else if (!known.has(p.clusterId)) {
      const cp = m.clusters.find(isPrimary);
      const homeDeclared = home ? declaredClusterId(home)?.id : undefined;
      out.push({
        severity: 'error', rule: 'proxy-cluster-id-unknown', where: { cluster: home?.context ?? CONTROL_PLANE, namespace: ns, object: `Pod/${pod}`, field },
        message: `proxy ${p.proxy} says it is in cluster "${p.clusterId}", which the control plane does not know (known: ${[...known].sort().join(', ')})`,
        why: 'certificate requests and xDS over 15012 from it are refused as unauthenticated ("client claims to be in cluster ...")',
        // Its own cluster's install says this id: the control plane's remote secret is what is wrong.
        fix: home && cp && homeDeclared === p.clusterId
          ? `isthmus create-remote-secret --context ${shellQuote(home.context)} --name ${shellQuote(p.clusterId)} | ${kubectl(cp.context)} apply -f -`
          : fix,
      });
    }
  }
  return out;
}

/** One cluster whose install wrote different ids in different places (e.g. CLUSTER_ID vs the webhook path). */
export function declaredIdRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  for (const c of m.clusters) {
    if (c.unreachable !== undefined) continue;
    const ids = declaredClusterIds(c);
    const first = ids[0];
    if (!first) continue;
    for (const d of ids.slice(1)) {
      if (d.id === first.id) continue;
      out.push({
        severity: 'error', rule: 'cluster-id-inconsistent',
        where: { cluster: c.context, ...(d.namespace === undefined ? {} : { namespace: d.namespace }), object: d.object, field: d.field },
        message: `${c.context} is cluster "${d.id}" here but "${first.id}" in ${first.object} (${first.field})`,
        why: 'pods injected through this path present one id while the control plane and remote secret use the other: their certificate and xDS requests are refused as unauthenticated',
        fix: `isthmus install -y --context ${shellQuote(c.context)} -f <the cluster's IstioOperator> --set values.global.multiCluster.clusterName=${shellQuote(first.id)}  # and the same id in istiodRemote.injectionPath`,
      });
    }
  }
  return out;
}
