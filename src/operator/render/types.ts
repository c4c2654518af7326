/** The shape of a rendered Kubernetes object. */
export interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}

/** The istioctl component an object belongs to (label `operator.istio.io/component`). */
export type ComponentName = 'Base' | 'Pilot' | 'IngressGateways';

export interface Rendered {
  readonly component: ComponentName;
  readonly object: Manifest;
}

/** `namespace/Kind/name`-ish identity used for diffs and pruning. */
export function manifestKey(m: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): string {
  const group = m.apiVersion.includes('/') ? m.apiVersion.slice(0, m.apiVersion.indexOf('/')) : '';
  return `${group}/${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
}

/** `Kind ns/name` for people. */
export function describeManifest(m: Pick<Manifest, 'kind' | 'metadata'>): string {
  return `${m.kind} ${m.metadata.namespace === undefined ? '' : `${m.metadata.namespace}/`}${m.metadata.name}`;
}
