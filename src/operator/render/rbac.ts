/**
 * Least-privilege RBAC: what the control plane needs in its own cluster, and the reader role that
 * a remote secret's service account gets in a remote cluster (docs/istio-compat.md §5.4).
 */
import { istiodName, type Effective } from '../effective.ts';
import type { Manifest } from './types.ts';

interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const READ = ['get', 'list', 'watch'];
const ISTIO_GROUPS = ['config.istio.io', 'security.istio.io', 'networking.istio.io', 'authentication.istio.io', 'rbac.istio.io', 'telemetry.istio.io', 'extensions.istio.io'];

/** The reader rules of docs/istio-compat.md §5.4; `remote` adds what a control plane leading that cluster writes. */
export function readerRules(remote: boolean): Rule[] {
  const rules: Rule[] = [
    { apiGroups: ISTIO_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: [''], resources: ['endpoints', 'pods', 'services', 'nodes', 'replicationcontrollers', 'namespaces', 'secrets', 'configmaps'], verbs: READ },
    { apiGroups: ['networking.istio.io'], resources: ['workloadentries'], verbs: READ },
    { apiGroups: ['networking.x-k8s.io', 'gateway.networking.k8s.io'], resources: ['gateways'], verbs: READ },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: ['multicluster.x-k8s.io'], resources: ['serviceexports'], verbs: [...READ, 'create', 'delete'] },
    { apiGroups: ['multicluster.x-k8s.io'], resources: ['serviceimports'], verbs: READ },
    { apiGroups: ['apps'], resources: ['replicasets'], verbs: READ },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
  ];
  if (remote) {
    rules.push(
      { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'list', 'watch', 'update'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: [...READ, 'update', 'patch'] },
      { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: [...READ, 'update'] },
    );
  }
  return rules;
}

/** `<base>[-<rev>]-<namespace>`, the naming of Istio's cluster-scoped RBAC objects. */
export function clusterRbacName(e: Pick<Effective, 'revision' | 'namespace'>, base: string): string {
  return `${base}${e.revision === '' ? '' : `-${e.revision}`}-${e.namespace}`;
}

function clusterRoleAndBinding(name: string, labels: Record<string, string>, rules: readonly Rule[], sa: string, ns: string): Manifest[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  ];
}

/** The reader ClusterRole and its binding to the reader service account (or `sa`). */
export function readerRbac(e: Effective, sa = e.readerServiceAccount): Manifest[] {
  return clusterRoleAndBinding(clusterRbacName(e, 'istio-reader-clusterrole'), { app: 'istio-reader', release: 'istio' }, readerRules(e.istiodRemote), sa, e.namespace);
}

/**
 * What `isthmus discovery` does in its own (config) cluster: read the registry and Istio config,
 * write `istio-ca-root-cert` ConfigMaps in every namespace, patch its webhook's caBundle, review
 * tokens. Secrets (remote secrets, CA key material) only in its own namespace, through a Role.
 */
export function istiodClusterRules(): Rule[] {
  return [
    { apiGroups: ISTIO_GROUPS, resources: ['*'], verbs: READ },
    { apiGroups: ['networking.istio.io'], resources: ['workloadentries'], verbs: [...READ, 'create', 'update', 'patch', 'delete'] },
    { apiGroups: ['networking.istio.io'], resources: ['workloadentries/status', 'serviceentries/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [''], resources: ['pods', 'nodes', 'services', 'endpoints', 'namespaces'], verbs: READ },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'list', 'watch', 'update'] },
    { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: READ },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['*'], verbs: READ },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: [...READ, 'update', 'patch'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
  ];
}

export function istiodNamespaceRules(): Rule[] {
  return [
    { apiGroups: [''], resources: ['secrets'], verbs: [...READ, 'create', 'update', 'delete'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: [...READ, 'create', 'update', 'delete'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'patch'] },
  ];
}

/** The control plane's own service account, ClusterRole(Binding) and Role(Binding). */
export function istiodRbac(e: Effective): Manifest[] {
  const sa = istiodName(e);
  const labels = { app: 'istiod', release: 'istio' };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: e.namespace, labels } },
    ...clusterRoleAndBinding(clusterRbacName(e, 'istiod-clusterrole'), labels, istiodClusterRules(), sa, e.namespace),
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: sa, namespace: e.namespace, labels }, rules: istiodNamespaceRules() },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: sa, namespace: e.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: e.namespace }],
    },
  ];
}
