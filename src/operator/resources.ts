/** Where each kind Isthmus renders lives in the Kubernetes API. Pure. */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { Manifest } from './render/types.ts';

export interface ResourceType {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Re-installs delete objects of this type that they no longer render. */
  readonly prunable: boolean;
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  // Namespaces hold everyone's objects and CRDs hold everyone's config: never pruned (as istioctl).
  { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, prunable: false },
  { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false, prunable: false },
  { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true, prunable: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, prunable: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false, prunable: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', namespaced: true, prunable: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true, prunable: true },
  { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, prunable: true },
  { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true, prunable: false },
  { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true, prunable: true },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true, prunable: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true, prunable: true },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false, prunable: true },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations', namespaced: false, prunable: true },
];

export function resourceType(apiVersion: string, kind: string): ResourceType {
  const t = RESOURCE_TYPES.find((r) => r.apiVersion === apiVersion && r.kind === kind);
  if (!t) throw new IsthmusError(ErrorCodes.ApplyFailed, `no API mapping for ${apiVersion} ${kind}`);
  return t;
}

function groupPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** Collection path of a type, cluster-wide (`/apis/apps/v1/deployments`) or in `namespace`. */
export function collectionPath(t: ResourceType, namespace?: string): string {
  return namespace !== undefined && t.namespaced
    ? `${groupPrefix(t.apiVersion)}/namespaces/${encodeURIComponent(namespace)}/${t.plural}`
    : `${groupPrefix(t.apiVersion)}/${t.plural}`;
}

/** Item path of an object. */
export function objectPath(m: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): string {
  const t = resourceType(m.apiVersion, m.kind);
  if (t.namespaced && m.metadata.namespace === undefined) throw new IsthmusError(ErrorCodes.ApplyFailed, `${m.kind} ${m.metadata.name} has no namespace`);
  return `${collectionPath(t, m.metadata.namespace)}/${encodeURIComponent(m.metadata.name)}`;
}
