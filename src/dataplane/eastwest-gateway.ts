/**
 * A minimal east-west gateway data plane (the AUTO_PASSTHROUGH part of an Istio east-west gateway,
 * docs/istio-compat.md §3.4): a TCP listener (15443) that reads the SNI of each TLS ClientHello without
 * terminating TLS, maps it to an SNI-DNAT cluster `outbound_.<port>_.<subset>_.<host>` and
 * TCP-proxies the still-encrypted bytes to one of that cluster's endpoints (round robin). Its
 * configuration comes over xDS from the control plane, as a `router` proxy whose
 * `REQUESTED_NETWORK_VIEW` is its own network, so EDS only ever names local-network pods.
 *
 * What it subscribes to: CDS (wildcard) for the mesh's services, then EDS for the SNI-DNAT form of
 * every outbound cluster. Deviations from Istio's gateway, on purpose:
 * - The SNI table is derived from the outbound clusters (as for a Gateway with `hosts: "*.local"`)
 *   rather than from LDS filter chains: the control plane does not load Istio Gateway objects yet,
 *   so a router gets no AUTO_PASSTHROUGH listener from it. An `outbound_.…` cluster in CDS is used
 *   as is.
 * - Besides Istio's SNI, a bare `<host>` SNI is routed to `outbound_.<port>_._.<host>` when the
 *   service has exactly one port: @grpc/grpc-js-xds sends the channel target's host as SNI, not
 *   Istio's `outbound_.…` form, so proxyless gRPC clients could not cross networks otherwise. A
 *   bare host of a multi-port service is refused (the port is ambiguous).
 * - The ALPN is not matched (Istio's chains require `istio*` ALPNs; gRPC offers `h2`); it is logged.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL } from '../model/type-urls.ts';
import { clusterCodec, clusterLoadAssignmentCodec, unpackAny } from '../proto/codec.ts';
import type * as T from '../proto/types.ts';
import { parseClusterName, parseSniName, sniName } from '../model/cluster-names.ts';
import { parseClientHello } from './client-hello.ts';
import type { XdsClient } from './xds-client.ts';

export interface Upstream {
  readonly address: string;
  readonly port: number;
}

export interface SniRoutes {
  /** Exact SNI → SNI-DNAT cluster name. */
  readonly exact: ReadonlyMap<string, string>;
  /** Bare host of a single-port service → its SNI-DNAT cluster name. */
  readonly bareHost: ReadonlyMap<string, string>;
}

/** The SNI table for a set of CDS cluster names (pure). */
export function sniRoutes(clusterNames: Iterable<string>): SniRoutes {
  const exact = new Map<string, string>();
  const portsByHost = new Map<string, Set<number>>();
  for (const name of clusterNames) {
    const key = parseClusterName(name) ?? parseSniName(name);
    if (key === undefined || key.direction !== 'outbound' || key.host === '') continue;
    const sni = sniName(key);
    exact.set(sni, sni);
    if (key.subset === '') portsByHost.set(key.host, (portsByHost.get(key.host) ?? new Set()).add(key.port));
  }
  const bareHost = new Map<string, string>();
  for (const [host, ports] of portsByHost) {
    const [port] = [...ports];
    if (ports.size === 1 && port !== undefined) bareHost.set(host, sniName({ direction: 'outbound', port, subset: '', host }));
  }
  return { exact, bareHost };
}

/** The routable endpoints of one assignment: IP socket addresses that are not unhealthy or draining. */
export function upstreamsOf(cla: T.ClusterLoadAssignment): Upstream[] {
  const out: Upstream[] = [];
  for (const g of cla.endpoints ?? []) {
    for (const lb of g.lbEndpoints ?? []) {
      if (lb.healthStatus === 'UNHEALTHY' || lb.healthStatus === 'DRAINING') continue;
      const sa = lb.endpoint?.address?.socketAddress;
      if (sa?.address !== undefined && sa.portValue !== undefined) out.push({ address: sa.address, port: sa.portValue });
    }
  }
  return out;
}

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly xds: XdsClient;
  readonly log: (event: Record<string, unknown>) => void;
  /** Give up on connections that send no complete ClientHello in this time. */
  readonly helloTimeoutMs?: number;
}

export class EastWestGateway {
  readonly #opts: GatewayOptions;
  #routes: SniRoutes = { exact: new Map(), bareHost: new Map() };
  readonly #endpoints = new Map<string, Upstream[]>();
  readonly #next = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  constructor(opts: GatewayOptions) {
    this.#opts = opts;
  }

  /** Cluster name and SNI-DNAT target for a ClientHello's server name, if routable. */
  route(serverName: string): { cluster: string; via: 'sni' | 'bare-host' } | undefined {
    const exact = this.#routes.exact.get(serverName);
    if (exact !== undefined) return { cluster: exact, via: 'sni' };
    const bare = this.#routes.bareHost.get(serverName);
    return bare === undefined ? undefined : { cluster: bare, via: 'bare-host' };
  }

  async start(): Promise<void> {
    const { xds, log } = this.#opts;
    xds.watch(CLUSTER_TYPE_URL, 'wildcard', (resources, version) => {
      const names = resources.map((r) => unpackAny(clusterCodec, r).name ?? '');
      this.#routes = sniRoutes(names);
      const wanted = [...new Set(this.#routes.exact.values())].sort();
      for (const k of [...this.#endpoints.keys()]) if (!this.#routes.exact.has(k)) this.#endpoints.delete(k);
      log({ event: 'cds', version, clusters: names.length, sniRoutes: wanted.length, bareHosts: [...this.#routes.bareHost.keys()].sort() });
      xds.watch(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, wanted, (eds, edsVersion) => { this.#onEds(eds, edsVersion); });
    });
    xds.start();
    const server = createServer((sock) => { this.#accept(sock); });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port, this.#opts.host, () => { server.off('error', reject); resolve(); });
    });
    log({ event: 'listening', addr: `${this.#opts.host}:${this.#opts.port}` });
  }

  #onEds(resources: readonly T.Any[], version: string): void {
    const changed: Record<string, string[]> = {};
    for (const r of resources) {
      const cla = unpackAny(clusterLoadAssignmentCodec, r);
      const name = cla.clusterName ?? '';
      const ups = upstreamsOf(cla);
      this.#endpoints.set(name, ups);
      changed[name] = ups.map((u) => `${u.address}:${u.port}`);
    }
    this.#opts.log({ event: 'eds', version, endpoints: changed });
  }

  #pick(cluster: string): Upstream | undefined {
    const ups = this.#endpoints.get(cluster) ?? [];
    if (ups.length === 0) return undefined;
    const i = (this.#next.get(cluster) ?? 0) % ups.length;
    this.#next.set(cluster, i + 1);
    return ups[i];
  }

  #accept(sock: Socket): void {
    this.#sockets.add(sock);
    sock.once('close', () => this.#sockets.delete(sock));
    const downstream = `${sock.remoteAddress ?? ''}:${sock.remotePort ?? 0}`;
    const local = `${sock.localAddress ?? ''}:${sock.localPort ?? 0}`;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { this.#reject(sock, { downstream, local, reason: 'no ClientHello in time' }); }, this.#opts.helloTimeoutMs ?? 10_000);
    const onData = (b: Buffer) => {
      chunks.push(b);
      const data = Buffer.concat(chunks);
      const parsed = parseClientHello(data);
      if (parsed.kind === 'more') return;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      if (parsed.kind === 'error') { this.#reject(sock, { downstream, local, reason: parsed.error }); return; }
      const { serverName, alpn } = parsed.hello;
      const route = this.route(serverName);
      if (route === undefined) { this.#reject(sock, { downstream, local, sni: serverName, alpn, reason: 'no route for SNI' }); return; }
      const up = this.#pick(route.cluster);
      if (up === undefined) { this.#reject(sock, { downstream, local, sni: serverName, alpn, cluster: route.cluster, reason: 'no endpoints' }); return; }
      this.#forward(sock, data, up, { downstream, local, sni: serverName, alpn, cluster: route.cluster, via: route.via });
    };
    sock.on('data', onData);
    sock.on('error', () => { clearTimeout(timer); sock.destroy(); });
  }

  #reject(sock: Socket, info: Record<string, unknown>): void {
    this.#opts.log({ event: 'reject', ...info });
    sock.destroy();
  }

  #forward(sock: Socket, hello: Buffer, up: Upstream, info: Record<string, unknown>): void {
    const upstream = connect({ host: up.address, port: up.port });
    this.#sockets.add(upstream);
    upstream.once('close', () => this.#sockets.delete(upstream));
    upstream.once('connect', () => {
      this.#opts.log({ event: 'forward', ...info, upstream: `${up.address}:${up.port}` });
      upstream.write(hello);
      sock.pipe(upstream);
      upstream.pipe(sock);
      sock.resume();
    });
    upstream.on('error', (e) => {
      this.#opts.log({ event: 'upstream-error', ...info, upstream: `${up.address}:${up.port}`, error: e.message });
      sock.destroy();
    });
    sock.on('close', () => upstream.destroy());
    upstream.on('close', () => sock.destroy());
  }

  async close(): Promise<void> {
    this.#opts.xds.close();
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server !== undefined) await new Promise<void>((r) => { server.close(() => { r(); }); });
  }
}
