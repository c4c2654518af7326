/**
 * The control plane's replicas as the Kubernetes API lists them: Running pods matching a label
 * selector (istioctl's `--xds-label`, the xds-proxy's `--selector`) in the istio namespace, by name.
 */
import type { KubeClient } from './client.ts';

interface PodList {
  readonly items?: readonly { readonly metadata?: { readonly name?: string }; readonly status?: { readonly podIP?: string } }[];
}

export async function listControlPlanePods(client: KubeClient, namespace: string, selector: string): Promise<{ name: string; ip: string }[]> {
  const q = new URLSearchParams({ labelSelector: selector, fieldSelector: 'status.phase=Running' });
  const list = await client.request<PodList>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?${q.toString()}`);
  return (list.items ?? [])
    .map((p) => ({ name: p.metadata?.name ?? '', ip: p.status?.podIP ?? '' }))
    .filter((p) => p.name !== '' && p.ip !== '')
    .sort((a, b) => a.name.localeCompare(b.name));
}
