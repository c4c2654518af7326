/** Every rule of `isthmus check`, run over the gathered facts, findings in a stable order. Pure. */
import type { Finding, MeshFacts } from './types.ts';
import { clusterzRules, declaredIdRules, proxyClusterIdRules, secretKeyRules } from './rules-identity.ts';
import { gatewayRules, namespaceRules, unreachableRules } from './rules-topology.ts';
import { rootCertRules, webhookRules } from './rules-trust.ts';
import { syncRules, tlsModeRules } from './rules-traffic.ts';

const SEVERITY_ORDER = { error: 0, warning: 1 } as const;

export function compareFindings(a: Finding, b: Finding): number {
  const key = (f: Finding) => [f.where.cluster, f.where.namespace ?? '', f.where.object ?? '', f.where.field ?? '', f.rule, f.message];
  const s = SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity];
  if (s !== 0) return s;
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) {
    const c = (ka[i] ?? '').localeCompare(kb[i] ?? '');
    if (c !== 0) return c;
  }
  return 0;
}

export function runRules(m: MeshFacts): Finding[] {
  const secrets = secretKeyRules(m);
  const explained = new Set(secrets.map((f) => `${f.where.namespace ?? ''}/${(f.where.object ?? '').replace(/^Secret\//, '')}#${/^data\["((?:[^"\\]|\\.)*)"\]/.exec(f.where.field ?? '')?.[1] ?? ''}`));
  return [
    ...unreachableRules(m),
    ...secrets,
    ...declaredIdRules(m),
    ...clusterzRules(m, explained),
    ...proxyClusterIdRules(m),
    ...namespaceRules(m),
    ...gatewayRules(m),
    ...webhookRules(m),
    ...rootCertRules(m),
    ...tlsModeRules(m),
    ...syncRules(m),
  ].sort(compareFindings);
}
