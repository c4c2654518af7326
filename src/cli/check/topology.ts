/**
 * What the gathered facts say about the mesh's shape: which cluster runs the control plane, each
 * cluster's id as its install declares it, its network, and which cluster a remote secret's key
 * points at. Pure.
 */
import { LABEL_TOPOLOGY_NETWORK } from '../../model/labels.ts';
import type { ClusterFacts, MeshFacts, RemoteSecretKeyFacts } from './types.ts';

export const ANNOTATION_CONTROL_PLANE_CLUSTERS = 'topology.istio.io/controlPlaneClusters';
export const CONTROL_PLANE = 'control-plane';

/** A cluster id and the field it was read from. */
export interface DeclaredId { readonly id: string; readonly object: string; readonly field: string; readonly namespace?: string }

const envValue = (c: ClusterFacts, name: string): string | undefined => c.istiodEnv?.find((e) => e.name === name)?.value;

/** Whether the cluster runs the control plane (an istiod Deployment in its system namespace). */
export function isPrimary(c: ClusterFacts): boolean {
  return c.unreachable === undefined && c.istiodEnv !== undefined;
}

/** The cluster id from `/inject/cluster/<id>/...` (or a `url` with that path). */
export function idFromInjectionPath(path: string | undefined): string | undefined {
  const m = /\/inject\/(?:.*\/)?cluster\/([^/]+)/.exec(path ?? '');
  return m?.[1];
}

/** Every place the install wrote this cluster's id: istiod's CLUSTER_ID, the injector's clusterName, webhook paths. */
export function declaredClusterIds(c: ClusterFacts): DeclaredId[] {
  const out: DeclaredId[] = [];
  const env = envValue(c, 'CLUSTER_ID');
  if (env !== undefined && env !== '') out.push({ id: env, namespace: c.systemNamespace, object: 'Deployment/istiod', field: 'spec.template.spec.containers[discovery].env[CLUSTER_ID]' });
  if (c.injectorClusterName !== undefined && c.injectorClusterName !== '') {
    out.push({ id: c.injectorClusterName, namespace: c.systemNamespace, object: 'ConfigMap/istio-sidecar-injector', field: 'data.values: global.multiCluster.clusterName' });
  }
  for (const w of c.webhooks) {
    const id = idFromInjectionPath(w.path ?? w.url);
    if (id !== undefined) out.push({ id, object: `MutatingWebhookConfiguration/${w.config}`, field: `webhooks[${w.index}].clientConfig.${w.path !== undefined ? 'service.path' : 'url'}` });
  }
  return out;
}

/** The cluster id the install gave this cluster: istiod's CLUSTER_ID, the injector's clusterName, else the webhook path. */
export function declaredClusterId(c: ClusterFacts): DeclaredId | undefined {
  return declaredClusterIds(c)[0];
}

export function clusterNetwork(c: ClusterFacts): string | undefined {
  const n = c.istioSystem?.labels[LABEL_TOPOLOGY_NETWORK];
  return n === undefined || n === '' ? undefined : n;
}

export function externalIstiod(c: ClusterFacts): boolean {
  return envValue(c, 'EXTERNAL_ISTIOD') === 'true';
}

const normServer = (s: string) => s.replace(/\/+$/, '').toLowerCase();

/** The cluster a remote secret's key points at: same API server URL, else the same declared id. */
export function secretTarget(k: RemoteSecretKeyFacts, clusters: readonly ClusterFacts[]): ClusterFacts | undefined {
  if (k.server !== '') {
    const byServer = clusters.find((c) => normServer(c.server) === normServer(k.server));
    if (byServer) return byServer;
  }
  return clusters.find((c) => declaredClusterId(c)?.id === k.key);
}

/** Every primary's remote-secret keys, with the primary holding them. */
export function remoteSecretKeys(m: MeshFacts): { readonly primary: ClusterFacts; readonly key: RemoteSecretKeyFacts }[] {
  return m.clusters.filter(isPrimary).flatMap((p) => p.remoteSecrets.map((key) => ({ primary: p, key })));
}

/** Clusters that are remotes: reachable, not running the control plane. */
export function remotes(m: MeshFacts): ClusterFacts[] {
  return m.clusters.filter((c) => c.unreachable === undefined && !isPrimary(c));
}

/** Whether any cluster is a remote of a primary (by secret or by being a control-plane-less cluster). */
export function hasRemotes(m: MeshFacts, primary: ClusterFacts): boolean {
  return primary.remoteSecrets.length > 0 || remotes(m).length > 0;
}

/** `kubectl --context <ctx>`, quoted when needed. */
export function kubectl(context: string): string {
  return `kubectl --context ${shellQuote(context)}`;
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
