/**
 * Rendering an IstioOperator into Kubernetes objects, in apply order, each labelled with its
 * owner (`install.operator.istio.io/owning-resource`) and component so re-installs can prune.
 */
import { stringify } from 'yaml';
import type { Effective } from '../effective.ts';
import { namespaceObject, renderBase } from './base.ts';
import { renderGateways } from './gateways.ts';
import { injectorConfigMap } from './injector.ts';
import { renderPilot } from './pilot.ts';
import type { ComponentName, Manifest, Rendered } from './types.ts';

export const OWNER_LABEL = 'install.operator.istio.io/owning-resource';
export const OWNER_NS_LABEL = 'install.operator.istio.io/owning-resource-namespace';
const COMPONENT_LABEL = 'operator.istio.io/component';
const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** Apply order: things others refer to first, webhooks last (so they never point at nothing). */
const KIND_ORDER = [
  'Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding',
  'ConfigMap', 'Secret', 'Service', 'EndpointSlice', 'Deployment', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration',
];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
}

function label(e: Effective, component: ComponentName, m: Manifest): Manifest {
  if (m.kind === 'Namespace') return m;
  return {
    ...m,
    metadata: {
      ...m.metadata,
      labels: {
        ...m.metadata.labels,
        [OWNER_LABEL]: e.name,
        [OWNER_NS_LABEL]: e.namespace,
        [COMPONENT_LABEL]: component,
        [MANAGED_BY_LABEL]: 'isthmus',
      },
    },
  };
}

/** Every object the install consists of, in apply order (stable within a kind). */
export function render(e: Effective): Rendered[] {
  const parts: Rendered[] = [];
  const add = (component: ComponentName, list: readonly Manifest[]) => {
    for (const m of list) parts.push({ component, object: label(e, component, m) });
  };
  if (e.base || e.pilot || e.gateways.some((g) => g.namespace === e.namespace)) add('Base', [namespaceObject(e)]);
  add('Base', renderBase(e));
  add('Pilot', renderPilot(e));
  add('Pilot', injectorConfigMap(e));
  add('IngressGateways', renderGateways(e));
  // Gateways may live in other namespaces: make sure those exist too.
  for (const ns of new Set(e.gateways.map((g) => g.namespace))) {
    if (ns !== e.namespace) add('IngressGateways', [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
  }
  return parts
    .map((p, i) => ({ p, i }))
    .sort((a, b) => kindRank(a.p.object.kind) - kindRank(b.p.object.kind) || a.i - b.i)
    .map(({ p }) => p);
}

/** YAML documents separated by `---`, as `manifest generate` prints them. */
export function toYaml(objects: readonly Manifest[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
