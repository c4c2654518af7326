/**
 * A connected proxy as the control plane sees it: parsed once from the xDS Node (id and metadata,
 * as Istio's agent and proxyless gRPC bootstraps send them). Identity is NOT taken from here: the
 * server checks these claims against the authenticated caller.
 */
import { NO_LOCALITY, type Locality } from './endpoint.ts';
import { ErrorCodes, IsthmusError } from './errors.ts';
import { nodeId, type NodeId } from './ids.ts';
import { NO_NETWORK, tryNetworkId, type NetworkId } from './network.ts';

/** `sidecar` (also proxyless gRPC), `router` (gateways), `ztunnel`. */
export type ProxyType = 'sidecar' | 'router' | 'ztunnel';

export interface Proxy {
  readonly id: NodeId;
  readonly type: ProxyType;
  /** First IP of the node id (`<type>~<ip>~...`). */
  readonly ip: string;
  /** `<pod>.<namespace>` part of the node id: what istioctl shows as NAME. */
  readonly name: string;
  readonly podName: string;
  readonly namespace: string;
  /** The DNS domain from the node id (`<ns>.svc.cluster.local` -> `cluster.local`). */
  readonly dnsDomain: string;
  readonly clusterId: string;
  readonly network: NetworkId;
  /** `REQUESTED_NETWORK_VIEW`: networks whose endpoints this proxy may see; empty = all. */
  readonly requestedNetworkView: readonly NetworkId[];
  /** `GENERATOR`: `grpc` for proxyless gRPC, `event` for istioctl; `''` for Envoy. */
  readonly generator: string;
  readonly istioVersion: string;
  readonly serviceAccount: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Whether the metadata carries `PROXY_CONFIG` (a real sidecar or gateway, as istiod counts them). */
  readonly hasProxyConfig: boolean;
  /** The Node message's `locality` (what the proxy says; the registry's knowledge of its pod comes first). */
  readonly locality: Locality;
  /** The raw metadata as JSON, for config_dump. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

const TYPES: readonly ProxyType[] = ['sidecar', 'router', 'ztunnel'];

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The Node message's locality (`sub_zone` is Envoy's spelling of subzone); absent: none. */
export function nodeLocality(l: { readonly region?: string; readonly zone?: string; readonly subZone?: string } | null | undefined): Locality {
  return l ? { region: l.region ?? '', zone: l.zone ?? '', subzone: l.subZone ?? '' } : NO_LOCALITY;
}

/** Parses an xDS node. Throws IsthmusError(InvalidId) naming the field for a malformed id. */
export function parseProxy(id: string, metadata: Readonly<Record<string, unknown>>, locality: Locality = NO_LOCALITY): Proxy {
  const nid = nodeId(id);
  const parts = id.split('~');
  if (parts.length !== 4) {
    throw new IsthmusError(ErrorCodes.InvalidId, `node.id ${JSON.stringify(id)}: want <type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`);
  }
  const [type = '', ip = '', name = '', domainPart = ''] = parts;
  if (!(TYPES as readonly string[]).includes(type)) {
    throw new IsthmusError(ErrorCodes.InvalidId, `node.id ${JSON.stringify(id)}: unknown proxy type ${JSON.stringify(type)} (want ${TYPES.join(', ')})`);
  }
  const dot = name.indexOf('.');
  const podName = dot >= 0 ? name.slice(0, dot) : name;
  const namespace = str(metadata['NAMESPACE']) || (dot >= 0 ? name.slice(dot + 1) : '');
  const svcAt = domainPart.indexOf('.svc.');
  const dnsDomain = svcAt >= 0 ? domainPart.slice(svcAt + 5) : 'cluster.local';
  const rawLabels = metadata['LABELS'];
  const labels: Record<string, string> = {};
  if (rawLabels !== null && typeof rawLabels === 'object') {
    for (const [k, v] of Object.entries(rawLabels)) if (typeof v === 'string') labels[k] = v;
  }
  const view = str(metadata['REQUESTED_NETWORK_VIEW']).split(',').map((s) => s.trim()).filter(Boolean)
    .map((n) => tryNetworkId(n)).filter((n): n is NetworkId => n !== undefined);
  return {
    id: nid,
    type: type as ProxyType,
    ip,
    name,
    podName,
    namespace,
    dnsDomain,
    clusterId: str(metadata['CLUSTER_ID']),
    network: tryNetworkId(str(metadata['NETWORK'])) ?? NO_NETWORK,
    requestedNetworkView: view,
    generator: str(metadata['GENERATOR']),
    istioVersion: str(metadata['ISTIO_VERSION']),
    serviceAccount: str(metadata['SERVICE_ACCOUNT']),
    labels,
    hasProxyConfig: metadata['PROXY_CONFIG'] !== undefined,
    locality,
    metadata,
  };
}

/** The key generated config depends on besides the snapshot: proxies with the same key get the same bytes. */
export function networkViewKey(proxy: Proxy): string {
  return `${proxy.network}|${proxy.requestedNetworkView.join(',')}`;
}

