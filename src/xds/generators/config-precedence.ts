/**
 * istiod's rule when several policies of one kind apply at the same scope (PeerAuthentications,
 * Sidecars): the oldest by creation time wins, then the first by name, then by namespace.
 */
interface Dated {
  readonly creationTimestamp: string;
  readonly name: string;
  readonly namespace: string;
}

function older(a: Dated, b: Dated): boolean {
  if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp;
  if (a.name !== b.name) return a.name < b.name;
  return a.namespace < b.namespace;
}

/** The policy that wins among `list`; undefined when it is empty. */
export function oldest<T extends Dated>(list: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const p of list) if (best === undefined || older(p, best)) best = p;
  return best;
}
