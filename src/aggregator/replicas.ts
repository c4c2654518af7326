/**
 * Where the control plane replicas are: named on the command line (`--replica [name=]host:port`),
 * or the Running pods matching a selector in a namespace, read through the kube API at most once
 * per `cacheMs` (concurrent callers share one list call).
 */
import type { KubeClient } from '../kube/client.ts';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import { listControlPlanePods } from '../kube/control-plane-pods.ts';
import type { Replica } from './merge.ts';

export type ReplicaSource = () => Promise<readonly Replica[]>;

/** `host:port` or `name=host:port`. */
export function parseReplicaSpec(spec: string): Replica {
  const eq = spec.indexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq) : '';
  const address = eq >= 0 ? spec.slice(eq + 1) : spec;
  if (!/^(\[[^\]]+\]|[^:[\]\s=]+):\d+$/.test(address)) throw new IsthmusError(ErrorCodes.Usage, `--replica ${JSON.stringify(spec)}: want host:port or name=host:port`);
  return { name: name || address, address };
}

export function staticReplicas(specs: readonly string[]): ReplicaSource {
  const replicas = specs.map(parseReplicaSpec);
  return () => Promise.resolve(replicas);
}

export interface KubeReplicaOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly selector: string;
  readonly port: number;
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export function kubeReplicas(opts: KubeReplicaOptions): ReplicaSource {
  const now = opts.now ?? Date.now;
  const cacheMs = opts.cacheMs ?? 2000;
  let cached: { at: number; value: readonly Replica[] } | undefined;
  let inflight: Promise<readonly Replica[]> | undefined;
  return async () => {
    if (cached && now() - cached.at < cacheMs) return cached.value;
    inflight ??= (async () => {
      try {
        const pods = await listControlPlanePods(opts.client, opts.namespace, opts.selector);
        const value = pods.map((p) => ({ name: p.name, address: p.ip.includes(':') ? `[${p.ip}]:${opts.port}` : `${p.ip}:${opts.port}` }));
        cached = { at: now(), value };
        return value;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };
}
