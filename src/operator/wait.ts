/**
 * Waiting for applied objects to become ready: CRDs until Established (the API server does that
 * itself), Deployments until their replicas are available (that needs a controller manager and
 * kubelets). What is still not ready at the deadline is reported with the reason.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../kube/client.ts';
import { explainKubeError } from './kube-errors.ts';
import { describeManifest, type Manifest } from './render/types.ts';
import { objectPath } from './resources.ts';

export interface Readiness {
  readonly object: string;
  readonly ready: boolean;
  readonly reason: string;
}

interface Condition { type?: string; status?: string; reason?: string; message?: string }
interface LiveStatus {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
  };
}

/** Whether one live object is ready, and why not. Pure. */
export function readiness(kind: string, live: LiveStatus): { ready: boolean; reason: string } {
  if (kind === 'CustomResourceDefinition') {
    const est = live.status?.conditions?.find((c) => c.type === 'Established');
    if (est?.status === 'True') return { ready: true, reason: 'established' };
    const names = live.status?.conditions?.find((c) => c.type === 'NamesAccepted');
    return { ready: false, reason: names?.status === 'False' ? `names not accepted: ${names.message ?? ''}` : 'not yet established' };
  }
  if (kind === 'Deployment') {
    const want = live.spec?.replicas ?? 1;
    const st = live.status;
    if (st?.observedGeneration === undefined) return { ready: false, reason: 'no controller has reported status (is kube-controller-manager running the deployment controller?)' };
    if (st.observedGeneration < (live.metadata?.generation ?? 0)) return { ready: false, reason: 'the newest spec is not yet observed by the deployment controller' };
    const avail = st.availableReplicas ?? 0;
    if (avail >= want && (st.updatedReplicas ?? 0) >= want) return { ready: true, reason: `${avail}/${want} replicas available` };
    const cond = st.conditions?.filter((c) => c.status !== 'True').map((c) => `${c.type ?? '?'}: ${c.reason ?? ''} ${c.message ?? ''}`.trim()) ?? [];
    return { ready: false, reason: `${avail}/${want} replicas available${cond.length > 0 ? `; ${cond.join('; ')}` : ' (no pods have become ready: are nodes/kubelets running?)'}` };
  }
  return { ready: true, reason: 'applied' };
}

export function waitsFor(kind: string, deployments: boolean): boolean {
  return kind === 'CustomResourceDefinition' || (deployments && kind === 'Deployment');
}

/** Polls until every object that `waitsFor` is ready or the timeout passes; answers the last state. */
export async function waitReady(client: KubeClient, objects: readonly Manifest[], opts: { timeoutMs: number; deployments: boolean; intervalMs?: number }): Promise<Readiness[]> {
  const targets = objects.filter((o) => waitsFor(o.kind, opts.deployments));
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const states: Readiness[] = [];
    for (const o of targets) {
      try {
        const live = await client.getOptional<LiveStatus>(objectPath(o));
        const r = live === undefined ? { ready: false, reason: 'not found' } : readiness(o.kind, live);
        states.push({ object: describeManifest(o), ...r });
      } catch (err) {
        states.push({ object: describeManifest(o), ready: false, reason: explainKubeError(err, client, 'read status').message });
      }
    }
    if (states.every((s) => s.ready) || Date.now() >= deadline) return states;
    await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(0, deadline - Date.now())));
  }
}
