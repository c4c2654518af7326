/**
 * A workload address behind a service, as the registries see it (Istio's `IstioEndpoint`, with the
 * ports of one address grouped). Immutable.
 */
import type { ClusterId } from './ids.ts';
import type { NetworkId } from './network.ts';

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subzone: string;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subzone: '' });

/** `istio`: the workload accepts Istio mTLS (injected sidecar); `disabled`: plaintext only. */
export type TlsMode = 'istio' | 'disabled';

export interface Endpoint {
  /** IP address of the workload. */
  readonly address: string;
  /** Endpoint (target) port by Service port name; `''` names a single unnamed port. */
  readonly ports: Readonly<Record<string, number>>;
  readonly cluster: ClusterId;
  /** Resolved network (docs/istio-compat.md §7); `''` when no rule matched. */
  readonly network: NetworkId;
  readonly locality: Locality;
  /** Kubernetes service-account name of the pod (in `pod.namespace`); `''` without a pod. */
  readonly serviceAccount: string;
  readonly tlsMode: TlsMode;
  /** Ready per EndpointSlice `conditions.ready` (unset counts as ready). */
  readonly healthy: boolean;
  /** Pod labels plus Istio's virtual topology labels (cluster, network, region/zone/subzone, node). */
  readonly labels: Readonly<Record<string, string>>;
  readonly pod?: { readonly name: string; readonly namespace: string };
  readonly nodeName?: string;
}

/** `region/zone/subzone` with empty trailing parts dropped, as in Envoy's and Istio's locality strings. */
export function localityString(l: Locality): string {
  const parts = [l.region, l.zone, l.subzone];
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.join('/');
}

/** Parses `region/zone/subzone` (missing parts are empty). */
export function parseLocality(s: string): Locality {
  const [region = '', zone = '', subzone = ''] = s.split('/');
  return { region, zone, subzone };
}
