/**
 * Applying rendered objects to a cluster with server-side apply (field manager `isthmus`):
 * a server-side dry run of everything first (so bad objects or missing permissions fail before
 * anything changes), then the real apply in order, then pruning of objects this owner rendered
 * before but no longer renders. A failure part-way reports exactly what was applied.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeList, KubeObject } from '../kube/types.ts';
import { explainKubeError } from './kube-errors.ts';
import { OWNER_LABEL, OWNER_NS_LABEL } from './render/index.ts';
import { describeManifest, manifestKey, type Manifest } from './render/types.ts';
import { RESOURCE_TYPES, collectionPath, objectPath } from './resources.ts';
import { silentLogger, type Logger } from '../observability/log.ts';

export const FIELD_MANAGER = 'isthmus';

export type ChangeKind = 'created' | 'configured' | 'unchanged' | 'pruned';

export interface Change {
  readonly change: ChangeKind;
  readonly object: string;
}

export interface ApplyOptions {
  readonly client: KubeClient;
  /** Prune objects labelled with this owner that are not in the list. */
  readonly owner?: { readonly name: string; readonly namespace: string } | undefined;
  readonly dryRun?: boolean;
  /** Progress: one `info` entry per object applied or pruned. */
  readonly log?: Logger;
}

export interface ApplyResult {
  readonly changes: readonly Change[];
}

interface Live { metadata?: { resourceVersion?: string } }

/** A failure after some objects were applied: `applied` says exactly which. */
export class PartialApplyError extends IsthmusError {
  readonly applied: readonly Change[];
  constructor(cause: IsthmusError, applied: readonly Change[]) {
    const list = applied.length === 0 ? '  (nothing)' : applied.map((c) => `  ${c.change} ${c.object}`).join('\n');
    super(cause.code, `${cause.message}\napplied before the failure:\n${list}`, { cause });
    this.applied = applied;
  }
}

async function namespaceExists(client: KubeClient, ns: string, cache: Map<string, boolean>): Promise<boolean> {
  const known = cache.get(ns);
  if (known !== undefined) return known;
  const found = (await client.getOptional(`/api/v1/namespaces/${encodeURIComponent(ns)}`)) !== undefined;
  cache.set(ns, found);
  return found;
}

/** Server-side dry run of every object whose namespace already exists; all failures reported together. */
export async function dryRunAll(client: KubeClient, objects: readonly Manifest[]): Promise<number> {
  const nsCache = new Map<string, boolean>();
  const problems: IsthmusError[] = [];
  let checked = 0;
  for (const o of objects) {
    try {
      if (o.metadata.namespace !== undefined && !(await namespaceExists(client, o.metadata.namespace, nsCache))) continue;
      await client.apply(objectPath(o), o, { fieldManager: FIELD_MANAGER, force: true, dryRun: true });
      checked++;
    } catch (err) {
      const e = explainKubeError(err, client, `check ${describeManifest(o)}`);
      if (e.code === ErrorCodes.KubeUnreachable) throw e;
      problems.push(e);
    }
  }
  if (problems.length > 0) {
    const code = problems.every((p) => p.code === ErrorCodes.KubeForbidden) ? ErrorCodes.KubeForbidden : ErrorCodes.ApplyFailed;
    throw new IsthmusError(code, `the API server refused ${problems.length} object(s) in a dry run; nothing was applied:\n${problems.map((p) => `  ${p.message}`).join('\n')}`);
  }
  return checked;
}

async function applyOne(client: KubeClient, o: Manifest, dryRun: boolean): Promise<ChangeKind> {
  const path = objectPath(o);
  const before = await client.getOptional<Live>(path);
  const after = await client.apply<Live>(path, o, { fieldManager: FIELD_MANAGER, force: true, dryRun });
  if (before === undefined) return 'created';
  return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? 'unchanged' : 'configured';
}

/** Objects labelled with `owner` that are not among `keep`, over every prunable type. */
export async function findPrunable(client: KubeClient, owner: { name: string; namespace: string }, keep: ReadonlySet<string>): Promise<Manifest[]> {
  const selector = encodeURIComponent(`${OWNER_LABEL}=${owner.name},${OWNER_NS_LABEL}=${owner.namespace}`);
  const out: Manifest[] = [];
  for (const t of RESOURCE_TYPES.filter((r) => r.prunable)) {
    const list = await client.request<KubeList<KubeObject>>('GET', `${collectionPath(t)}?labelSelector=${selector}`);
    for (const item of list.items) {
      const m: Manifest = { apiVersion: t.apiVersion, kind: t.kind, metadata: { name: item.metadata.name, ...(item.metadata.namespace === undefined ? {} : { namespace: item.metadata.namespace }) } };
      if (!keep.has(manifestKey(m)) && item.metadata.deletionTimestamp === undefined) out.push(m);
    }
  }
  return out;
}

export async function applyAll(objects: readonly Manifest[], opts: ApplyOptions): Promise<ApplyResult> {
  const { client } = opts;
  const dryRun = opts.dryRun === true;
  const log = opts.log ?? silentLogger;
  await dryRunAll(client, objects);
  const changes: Change[] = [];
  for (const o of objects) {
    try {
      const change = await applyOne(client, o, dryRun);
      changes.push({ change, object: describeManifest(o) });
      log.info(`${change}${dryRun ? ' (dry run)' : ''} ${describeManifest(o)}`);
    } catch (err) {
      throw new PartialApplyError(explainKubeError(err, client, `apply ${describeManifest(o)}`), changes);
    }
  }
  if (opts.owner !== undefined) {
    try {
      const stale = await findPrunable(client, opts.owner, new Set(objects.map(manifestKey)));
      for (const m of stale) {
        if (await client.deleteOptional(objectPath(m), { dryRun })) {
          changes.push({ change: 'pruned', object: describeManifest(m) });
          log.info(`pruned${dryRun ? ' (dry run)' : ''} ${describeManifest(m)}`);
        }
      }
    } catch (err) {
      throw new PartialApplyError(explainKubeError(err, client, 'prune'), changes);
    }
  }
  return { changes };
}

export function summarize(changes: readonly Change[]): string {
  const count = (k: ChangeKind) => changes.filter((c) => c.change === k).length;
  return `${count('created')} created, ${count('configured')} configured, ${count('unchanged')} unchanged, ${count('pruned')} pruned`;
}

