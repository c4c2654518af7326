/**
 * Real upstream Envoy as a plain process for tests: a bootstrap like the one pilot-agent writes
 * (ADS to the control plane, SDS from the agent's socket, node id and metadata of a sidecar), admin
 * on loopback, and helpers to read what Envoy accepted (`/stats`, `/clusters`, `/config_dump`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../testbed/procs.ts';

export interface EnvoyOptions {
  readonly bin: string;
  /** A directory of the test's own: bootstrap, log. */
  readonly dir: string;
  /** `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  readonly nodeId: string;
  /** Envoy's `node.cluster` (pilot-agent: `<app>.<namespace>`). */
  readonly nodeCluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** The control plane's plaintext xDS address (`127.0.0.1:<port>`). */
  readonly xds: { readonly host: string; readonly port: number };
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  /** The agent's SDS socket (the bootstrap cluster `sds-grpc`). */
  readonly sdsSocket: string;
  /** Name of this instance in file names (restarts of the same node use another). */
  readonly instance: string;
}

export type EnvoyStats = ReadonlyMap<string, number>;

export function bootstrap(o: EnvoyOptions, adminPort: number): Record<string, unknown> {
  const h2 = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
  const endpoint = (address: Record<string, unknown>) => ({ endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }] });
  return {
    node: { id: o.nodeId, cluster: o.nodeCluster, metadata: o.metadata },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: o.apiType, transport_api_version: 'V3', set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: 'xds-grpc' } }],
      },
      cds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
      lds_config: { ads: {}, initial_fetch_timeout: '0s', resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: 'xds-grpc', type: 'STATIC', connect_timeout: '1s', typed_extension_protocol_options: h2,
          load_assignment: { cluster_name: 'xds-grpc', ...endpoint({ socket_address: { address: o.xds.host, port_value: o.xds.port } }) },
        },
        {
          name: 'sds-grpc', type: 'STATIC', connect_timeout: '1s', typed_extension_protocol_options: h2,
          load_assignment: { cluster_name: 'sds-grpc', ...endpoint({ pipe: { path: o.sdsSocket } }) },
        },
      ],
    },
  };
}

async function adminGet(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`envoy admin ${path}: HTTP ${res.status}`);
  return res.text();
}

export class EnvoyProcess {
  readonly adminPort: number;
  readonly started: number;
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  #exited: Promise<void>;

  private constructor(child: ChildProcess, adminPort: number) {
    this.#child = child;
    this.adminPort = adminPort;
    this.started = Date.now();
    const keep = (b: Buffer) => {
      for (const line of b.toString('utf8').split('\n')) if (line) this.#log.push(line);
      if (this.#log.length > 400) this.#log.splice(0, this.#log.length - 400);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#exited = new Promise((resolve) => { child.once('exit', () => { resolve(); }); });
  }

  static async start(o: EnvoyOptions): Promise<EnvoyProcess> {
    const adminPort = await freePort();
    const file = join(o.dir, `envoy-${o.instance}.yaml`);
    writeFileSync(file, stringify(bootstrap(o, adminPort)));
    const child = spawn(o.bin, [
      '-c', file, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warning',
      '--service-node', o.nodeId, '--service-cluster', o.nodeCluster, '--drain-time-s', '1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new EnvoyProcess(child, adminPort);
  }

  logs(lines = 40): string {
    return this.#log.slice(-lines).join('\n');
  }

  /** Log lines matching `re` (Envoy logs rejected updates at warning level). */
  grep(re: RegExp): string[] {
    return this.#log.filter((l) => re.test(l));
  }

  exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Every counter and gauge from `/stats` (`name: value` lines; histograms are skipped). */
  async stats(): Promise<EnvoyStats> {
    const text = await adminGet(this.adminPort, '/stats');
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([^:]+): (\d+)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  /** Names of the clusters Envoy has (active, i.e. warmed). */
  async clusters(): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminPort, '/clusters?format=json')) as { cluster_statuses?: { name: string }[] };
    return (body.cluster_statuses ?? []).map((c) => c.name).sort();
  }

  async configDump(resource?: string): Promise<{ configs: Record<string, unknown>[] }> {
    return JSON.parse(await adminGet(this.adminPort, `/config_dump${resource ? `?resource=${resource}` : ''}`)) as { configs: Record<string, unknown>[] };
  }

  /** Names of active dynamic listeners. */
  async listeners(): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminPort, '/listeners?format=json')) as { listener_statuses?: { name: string }[] };
    return (body.listener_statuses ?? []).map((l) => l.name).sort();
  }

  /** Load-assignment endpoints of one cluster, as `ip:port`. */
  async endpointsOf(cluster: string): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminPort, '/clusters?format=json')) as {
      cluster_statuses?: { name: string; host_statuses?: { address?: { socket_address?: { address?: string; port_value?: number } } }[] }[];
    };
    const c = (body.cluster_statuses ?? []).find((s) => s.name === cluster);
    return (c?.host_statuses ?? []).map((h) => `${h.address?.socket_address?.address ?? ''}:${h.address?.socket_address?.port_value ?? 0}`).sort();
  }

  async stop(): Promise<void> {
    if (this.exited()) return;
    this.#child.kill('SIGTERM');
    const killer = setTimeout(() => { this.#child.kill('SIGKILL'); }, 5000);
    await this.#exited;
    clearTimeout(killer);
  }
}
