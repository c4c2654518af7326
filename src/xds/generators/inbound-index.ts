/**
 * The index behind `inboundPorts` (scope.ts): for every (cluster, address) and (any cluster,
 * address) of an endpoint, the service ports served there, sorted by port; the first service (by
 * hostname) to name a port gives its protocol. Built once per view.
 *
 * Every push brings a new view, and an endpoint push changes few hosts, most often only whether an
 * endpoint is ready, which this index ignores. So each host's part (its index entries, in order) is
 * kept from the view before while the host's Service and endpoints are the same objects, or
 * recomputed and, when equal to the one before, shared; when every part is shared, the new view gets
 * the previous index itself (it is never modified). Otherwise the parts are merged in service order
 * as before, which gives the same index a walk over every endpoint gives.
 */
import type { Endpoint } from '../../model/endpoint.ts';
import type { Hostname } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import type { Protocol, Service } from '../../model/service.ts';

/** One port the proxy's own workload serves, from the services whose endpoints are the proxy. */
export interface InboundPort {
  /** The workload (target) port: what traffic arrives on and what `inbound|<port>||` names. */
  readonly port: number;
  readonly protocol: Protocol;
}

export type InboundIndex = ReadonlyMap<string, readonly InboundPort[]>;

/** The index key of an address in a cluster (`''`: any cluster). */
export function inboundKey(address: string, cluster: string): string {
  return `${cluster}/${address}`;
}

type Entry = readonly [key: string, port: InboundPort];

interface HostPart {
  readonly svc: Service;
  readonly endpoints: readonly Endpoint[];
  readonly entries: readonly Entry[];
}

interface Built {
  readonly parts: ReadonlyMap<Hostname, HostPart>;
  /** The entries of every host, in service order. */
  readonly order: readonly (readonly Entry[])[];
  readonly index: InboundIndex;
}

/** The last index built (any view: parts are reused only for the same objects). */
let last: Built | undefined;

/** Index builds that merged parts (and did not reuse the previous index), for tests. */
export const inboundIndexStats = { merged: 0, reused: 0 };

function entriesOf(svc: Service, endpoints: readonly Endpoint[]): Entry[] {
  const out: Entry[] = [];
  for (const ep of endpoints) {
    for (const sp of svc.ports) {
      const port = ep.ports[sp.name];
      if (port === undefined || sp.protocol === 'UDP') continue;
      const ip: InboundPort = { port, protocol: sp.protocol };
      out.push([inboundKey(ep.address, ep.cluster), ip], [inboundKey(ep.address, ''), ip]);
    }
  }
  return out;
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const [x, y] = [a[i], b[i]];
    if (x?.[0] !== y?.[0] || x?.[1].port !== y?.[1].port || x?.[1].protocol !== y?.[1].protocol) return false;
  }
  return true;
}

function partOf(svc: Service, endpoints: readonly Endpoint[]): HostPart {
  const known = last?.parts.get(svc.hostname);
  if (known !== undefined && known.svc === svc && sameItems(known.endpoints, endpoints)) return known;
  const entries = entriesOf(svc, endpoints);
  return { svc, endpoints, entries: known !== undefined && sameEntries(known.entries, entries) ? known.entries : entries };
}

function merge(order: readonly (readonly Entry[])[]): InboundIndex {
  const byAddr = new Map<string, Map<number, InboundPort>>();
  for (const entries of order) {
    for (const [key, ip] of entries) {
      let ports = byAddr.get(key);
      if (ports === undefined) byAddr.set(key, ports = new Map<number, InboundPort>());
      if (!ports.has(ip.port)) ports.set(ip.port, ip);
    }
  }
  const out = new Map<string, InboundPort[]>();
  for (const [k, ports] of byAddr) out.set(k, [...ports.values()].sort((a, b) => a.port - b.port));
  return out;
}

export function buildInboundIndex(view: MeshView): InboundIndex {
  const parts = new Map<Hostname, HostPart>();
  const order: (readonly Entry[])[] = [];
  for (const svc of view.services()) {
    const part = partOf(svc, view.endpoints(svc.hostname));
    parts.set(svc.hostname, part);
    order.push(part.entries);
  }
  const previous = last;
  const index = previous !== undefined && sameItems(previous.order, order) ? previous.index : merge(order);
  if (index === previous?.index) inboundIndexStats.reused++;
  else inboundIndexStats.merged++;
  last = { parts, order, index };
  return index;
}
