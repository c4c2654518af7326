/**
 * Branded identifiers. Each has exactly one parsing constructor, so a value of the type has been
 * checked once at the edge and can be trusted everywhere else.
 */
import { ErrorCodes, IsthmusError } from './errors.ts';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A cluster id as used by Istio: remote-secret key, `CLUSTER_ID`, the `clusterid` header. */
export type ClusterId = Brand<string, 'ClusterId'>;
/** A fully qualified service host name, e.g. `reviews.default.svc.cluster.local`. */
export type Hostname = Brand<string, 'Hostname'>;
/** An xDS node id, e.g. `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`. */
export type NodeId = Brand<string, 'NodeId'>;
/** An xDS type URL, e.g. `type.googleapis.com/envoy.config.cluster.v3.Cluster`. */
export type TypeUrl = Brand<string, 'TypeUrl'>;
/** A SPIFFE identity `spiffe://<trust domain>/ns/<ns>/sa/<sa>`. */
export type SpiffeId = Brand<string, 'SpiffeId'>;

function invalid(kind: string, value: string, why: string): IsthmusError {
  return new IsthmusError(ErrorCodes.InvalidId, `invalid ${kind} ${JSON.stringify(value)}: ${why}`);
}

// Kubernetes label values (<= 63 chars, alphanumeric with - _ . inside) are what Istio allows for cluster ids.
const CLUSTER_ID = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

export function clusterId(value: string): ClusterId {
  if (!CLUSTER_ID.test(value)) throw invalid('cluster id', value, 'must be 1-63 characters [A-Za-z0-9._-], starting and ending alphanumeric');
  return value as ClusterId;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function hostname(value: string): Hostname {
  const labels = value.split('.');
  const wildcardOk = labels[0] === '*';
  const rest = wildcardOk ? labels.slice(1) : labels;
  if (value.length > 253 || rest.length === 0 || !rest.every((l) => DNS_LABEL.test(l))) {
    throw invalid('hostname', value, 'must be lower-case DNS labels separated by dots');
  }
  return value as Hostname;
}

/** `<name>.<namespace>.svc.<domain>` for a Kubernetes Service. */
export function serviceHostname(name: string, namespace: string, domain = 'cluster.local'): Hostname {
  return hostname(`${name}.${namespace}.svc.${domain}`);
}

export function nodeId(value: string): NodeId {
  if (value.length === 0 || value.length > 1024) throw invalid('node id', value, 'must be 1-1024 characters');
  return value as NodeId;
}

export function typeUrl(value: string): TypeUrl {
  if (!/^[A-Za-z0-9._/-]+$/.test(value) || value.length > 512) throw invalid('type URL', value, 'unexpected characters');
  return value as TypeUrl;
}

export interface SpiffeParts {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export function spiffeId(parts: SpiffeParts): SpiffeId {
  const { trustDomain, namespace, serviceAccount } = parts;
  for (const [k, v] of [['trustDomain', trustDomain], ['namespace', namespace], ['serviceAccount', serviceAccount]] as const) {
    if (v.length === 0 || v.includes('/')) throw invalid('SPIFFE id part', v, `${k} must be non-empty without '/'`);
  }
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}` as SpiffeId;
}

export function parseSpiffeId(value: string): SpiffeParts & { readonly id: SpiffeId } {
  const prefix = 'spiffe://';
  if (!value.startsWith(prefix)) throw invalid('SPIFFE id', value, `must start with ${prefix}`);
  const parts = value.slice(prefix.length).split('/');
  const [trustDomain, ns, namespace, sa, serviceAccount] = parts;
  if (parts.length !== 5 || ns !== 'ns' || sa !== 'sa' || !trustDomain || !namespace || !serviceAccount) {
    throw invalid('SPIFFE id', value, 'expected spiffe://<trust domain>/ns/<namespace>/sa/<service account>');
  }
  return { trustDomain, namespace, serviceAccount, id: value as SpiffeId };
}
