/**
 * Proxyless gRPC names: a client dials `xds:///<host>:<port>` and asks for Listener and
 * RouteConfiguration `<host>:<port>`; `<host>` may be the FQDN or a short form resolved against
 * the proxy's namespace (`name`, `name.ns`, `name.ns.svc`). Servers ask for
 * `xds.istio.io/grpc/lds/inbound/<ip>:<port>` (`[<ipv6>]:<port>`).
 */
import type { Hostname } from '../../../model/ids.ts';
import type { MeshView } from '../../../model/mesh-view.ts';
import type { Service, ServicePort } from '../../../model/service.ts';
import { GRPC_SERVER_LISTENER_PREFIX } from '../names.ts';
import { serviceVisibleTo } from '../scope.ts';

export interface GrpcTarget {
  /** The host as the client wrote it. */
  readonly host: string;
  readonly port: number;
  readonly service: Service;
  readonly servicePort: ServicePort;
}

/** Splits `host:port` / `[v6]:port`; undefined without a valid port. */
export function splitHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (host === undefined || !(port >= 1 && port <= 65535)) return undefined;
  return { host, port };
}

function candidates(host: string, namespace: string, suffix: string): string[] {
  const labels = host.split('.');
  const out = [host];
  if (labels.length === 1) out.push(`${host}.${namespace}.svc.${suffix}`);
  if (labels.length === 2) out.push(`${host}.svc.${suffix}`);
  if (labels.length === 3 && labels[2] === 'svc') out.push(`${host}.${suffix}`);
  return out;
}

/** Resolves a client listener / route name visible from `namespace`. */
export function resolveTarget(view: MeshView, name: string, namespace: string): GrpcTarget | undefined {
  const hp = splitHostPort(name);
  if (hp === undefined) return undefined;
  for (const c of candidates(hp.host, namespace, view.mesh.domainSuffix)) {
    const service = view.service(c as Hostname);
    if (service === undefined || service.resolution === 'Alias' || !serviceVisibleTo(service, namespace)) continue;
    const servicePort = service.ports.find((p) => p.port === hp.port);
    if (servicePort === undefined || servicePort.protocol === 'UDP') return undefined;
    return { host: hp.host, port: hp.port, service, servicePort };
  }
  return undefined;
}

/** `<ip>:<port>` of a server listener name, or undefined for other names. */
export function parseServerListenerName(name: string): { host: string; port: number } | undefined {
  if (!name.startsWith(GRPC_SERVER_LISTENER_PREFIX)) return undefined;
  return splitHostPort(name.slice(GRPC_SERVER_LISTENER_PREFIX.length));
}

/** Every `<fqdn>:<port>` a client in `namespace` may dial (wildcard requests). */
export function allTargetNames(view: MeshView, namespace: string): string[] {
  const out: string[] = [];
  for (const svc of view.services()) {
    if (svc.resolution === 'Alias' || !serviceVisibleTo(svc, namespace)) continue;
    for (const p of svc.ports) if (p.protocol !== 'UDP') out.push(`${svc.hostname}:${p.port}`);
  }
  return out;
}
