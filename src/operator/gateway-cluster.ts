/**
 * The cluster id of a gateway-only install. Istio's gateways get `ISTIO_META_CLUSTER_ID` from
 * the injector (its values, or the remote webhook's `/inject/cluster/<c>/net/<n>` path); Isthmus
 * renders the gateway Deployment whole, so `isthmus install` reads the same facts from the cluster
 * when the IstioOperator does not name the cluster (gen-eastwest-gateway's does not): the injector
 * ConfigMap's `values` (a primary or config cluster), else the injection webhook's path (a remote).
 * Without either the gateway keeps Istio's default `Kubernetes`. Pure.
 */
import { isObject, type Json } from './iop.ts';

export interface ClusterSource {
  readonly clusterName: string;
  /** What it came from, for the install's output. */
  readonly from: string;
}

function at(o: Json | undefined, path: readonly string[]): Json | undefined {
  let cur = o;
  for (const k of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Whether the merged spec names the cluster (`values.global.multiCluster.clusterName`). */
export function namesCluster(spec: Json): boolean {
  const v = at(spec, ['values', 'global', 'multiCluster', 'clusterName']);
  return typeof v === 'string' && v !== '';
}

/** What the install accepts as a cluster id read from the cluster (it becomes a `--set` value). */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const INJECT_PATH = /\/inject\/cluster\/([^/]+)\/net\/[^/?]*/;

/**
 * The cluster id from the objects an earlier control-plane install left in the cluster.
 * `configMap`: `istio-sidecar-injector[-rev]` (its `data.values` JSON); `webhook`: the
 * MutatingWebhookConfiguration of the same name. Either may be undefined (not found).
 */
export function clusterFromInjector(configMap: Json | undefined, webhook: Json | undefined, names: { configMap: string; webhook: string }): ClusterSource | undefined {
  const values = at(configMap, ['data', 'values']);
  if (typeof values === 'string') {
    try {
      const name = at(JSON.parse(values) as Json, ['global', 'multiCluster', 'clusterName']);
      if (typeof name === 'string' && CLUSTER_NAME.test(name) && name !== 'Kubernetes') return { clusterName: name, from: `ConfigMap ${names.configMap}` };
    } catch {
      // not JSON: the injector reports that itself; fall through to the webhook
    }
  }
  const hooks = at(webhook, ['webhooks']);
  for (const h of Array.isArray(hooks) ? hooks : []) {
    for (const p of [at(h, ['clientConfig', 'service', 'path']), at(h, ['clientConfig', 'url'])]) {
      const m = typeof p === 'string' ? INJECT_PATH.exec(p) : null;
      if (m?.[1] !== undefined && CLUSTER_NAME.test(m[1])) return { clusterName: m[1], from: `MutatingWebhookConfiguration ${names.webhook}` };
    }
  }
  return undefined;
}
