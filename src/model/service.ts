/**
 * A mesh service as the registries see it. Immutable: registries build a new object on every change,
 * so snapshots can share them.
 */
import type { ClusterId, Hostname } from './ids.ts';

/**
 * Istio's protocol names (`pkg/config/protocol`), spelled as Istio spells them so debug output matches.
 * `UnsupportedProtocol` means "not declared": the data plane detects the protocol by sniffing.
 */
export const PROTOCOLS = [
  'HTTP', 'HTTP2', 'GRPC', 'GRPC-Web', 'HTTP_PROXY', 'HTTPS', 'TLS', 'TCP', 'UDP', 'Mongo', 'Redis', 'MySQL', 'UnsupportedProtocol',
] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** True for protocols carried over HTTP (Istio's `IsHTTP`). */
export function isHttpProtocol(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'HTTP_PROXY' || p === 'GRPC' || p === 'GRPC-Web';
}

/** True for protocols that need HTTP/2 upstream (Istio's `IsHTTP2`). */
export function isHttp2Protocol(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';
}

export interface ServicePort {
  /** The Service port name; `''` for a single unnamed port. Endpoints map ports by this name. */
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly targetPort?: number | string;
}

/**
 * How clients reach the service (Istio's `Resolution`): through endpoints (`ClientSideLB`), to the
 * original destination (`Passthrough`, headless), or as an alias of another name (`Alias`, ExternalName).
 */
export type Resolution = 'ClientSideLB' | 'Passthrough' | 'Alias';

/** Istio's "no VIP" address, used for headless and address-less services. */
export const UNSPECIFIED_IP = '0.0.0.0';

export interface Service {
  readonly hostname: Hostname;
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly ServicePort[];
  /** ClusterIP(s) per cluster (`ClusterVIPs`); `0.0.0.0` when the Service has none. */
  readonly clusterVIPs: ReadonlyMap<ClusterId, readonly string[]>;
  /** LoadBalancer ingress addresses (IP or host name) and `spec.externalIPs`, per cluster. */
  readonly clusterExternalAddresses: ReadonlyMap<ClusterId, readonly string[]>;
  /** Identities allowed to serve it, from annotations (SPIFFE URIs or canonical names), sorted. */
  readonly serviceAccounts: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** `spec.selector`, when the Service has one. */
  readonly selector?: Readonly<Record<string, string>>;
  /** `networking.istio.io/exportTo` entries, trimmed; absent = default visibility. */
  readonly exportTo?: readonly string[];
  readonly resolution: Resolution;
  /** Kubernetes Service type: `ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`. */
  readonly type: string;
  /** Target of an ExternalName Service. */
  readonly externalName?: string;
  /** `spec.publishNotReadyAddresses`: unready endpoints are served too. */
  readonly publishNotReadyAddresses: boolean;
  readonly creationTimestamp?: string;
}

/** The port with this number, if the service exposes it. */
export function servicePortByNumber(svc: Service, port: number): ServicePort | undefined {
  return svc.ports.find((p) => p.port === port);
}

