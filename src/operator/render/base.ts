/**
 * The `base` component: the system namespace, the Istio CRDs Isthmus reads, and the reader
 * service account used by remote secrets.
 */
import type { Effective } from '../effective.ts';
import type { Manifest } from './types.ts';

interface CrdDef {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly shortNames: readonly string[];
  /** Served versions, storage version first. */
  readonly versions: readonly string[];
}

const NETWORKING = ['v1', 'v1beta1', 'v1alpha3'];
const SECURITY = ['v1', 'v1beta1'];

/**
 * The Istio config kinds the control plane reads. Schemas are minimal (spec and status are kept
 * as written); Isthmus validates their content itself rather than through OpenAPI.
 */
export const ISTIO_CRDS: readonly CrdDef[] = [
  { group: 'networking.istio.io', kind: 'Gateway', plural: 'gateways', shortNames: ['gw'], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'VirtualService', plural: 'virtualservices', shortNames: ['vs'], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'DestinationRule', plural: 'destinationrules', shortNames: ['dr'], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'ServiceEntry', plural: 'serviceentries', shortNames: ['se'], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'Sidecar', plural: 'sidecars', shortNames: [], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'WorkloadEntry', plural: 'workloadentries', shortNames: ['we'], versions: NETWORKING },
  { group: 'networking.istio.io', kind: 'WorkloadGroup', plural: 'workloadgroups', shortNames: ['wg'], versions: ['v1', 'v1beta1', 'v1alpha3'] },
  { group: 'security.istio.io', kind: 'PeerAuthentication', plural: 'peerauthentications', shortNames: ['pa'], versions: SECURITY },
  { group: 'security.istio.io', kind: 'AuthorizationPolicy', plural: 'authorizationpolicies', shortNames: ['ap'], versions: SECURITY },
  { group: 'security.istio.io', kind: 'RequestAuthentication', plural: 'requestauthentications', shortNames: ['ra'], versions: SECURITY },
];

const OPEN_SCHEMA = {
  openAPIV3Schema: {
    type: 'object',
    properties: {
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
};

export function crd(d: CrdDef): Manifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${d.plural}.${d.group}` },
    spec: {
      group: d.group,
      names: {
        kind: d.kind,
        listKind: `${d.kind}List`,
        plural: d.plural,
        singular: d.kind.toLowerCase(),
        categories: ['istio-io', `${d.group.split('.')[0] ?? ''}-istio-io`],
        ...(d.shortNames.length > 0 ? { shortNames: [...d.shortNames] } : {}),
      },
      scope: 'Namespaced',
      versions: d.versions.map((v, i) => ({ name: v, served: true, storage: i === 0, schema: OPEN_SCHEMA, subresources: { status: {} } })),
    },
  };
}

export function namespaceObject(e: Effective): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: e.namespace } };
}

export function readerServiceAccount(e: Effective, name = e.readerServiceAccount): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name, namespace: e.namespace, labels: { app: 'istio-reader', release: 'istio' } },
  };
}

export function renderBase(e: Effective): Manifest[] {
  if (!e.base) return [];
  return [
    ...ISTIO_CRDS.map(crd),
    ...(e.readerRBAC ? [readerServiceAccount(e)] : []),
  ];
}
