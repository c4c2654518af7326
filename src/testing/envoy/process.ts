/**
 * Real upstream Envoy as a plain process for tests: a bootstrap like the one pilot-agent writes
 * (ADS to the control plane, SDS from the agent's socket, node id and metadata of a sidecar), and
 * helpers to read what Envoy accepted (`/stats`, `/clusters`, `/config_dump`).
 *
 * Envoy runs in a network namespace of its own (`unshare --net`, root only, or a given `ip netns`),
 * so the listeners the control plane gives it (0.0.0.0:15001, 0.0.0.0:15006, ...) never open on the host. Everything it
 * talks to is a unix socket: the control plane through a UnixBridge, SDS, and its admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { stringify } from 'yaml';

export interface EnvoyOptions {
  readonly bin: string;
  /** A directory of the test's own: bootstrap, log. */
  readonly dir: string;
  /** `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  readonly nodeId: string;
  /** Envoy's `node.cluster` (pilot-agent: `<app>.<namespace>`). */
  readonly nodeCluster: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** A unix socket leading to the control plane's plaintext xDS port (see UnixBridge). */
  readonly xdsSocket: string;
  readonly apiType: 'GRPC' | 'DELTA_GRPC';
  /** The agent's SDS socket (the bootstrap cluster `sds-grpc`). */
  readonly sdsSocket: string;
  /** Name of this instance in file names (restarts of the same node use another). */
  readonly instance: string;
  /**
   * An existing network namespace (`ip netns`) to run in, for tests that route traffic to Envoy's
   * listeners; by default Envoy gets a fresh, empty one (`unshare --net`).
   */
  readonly netns?: string;
}

export type EnvoyStats = ReadonlyMap<string, number>;

export function bootstrap(o: EnvoyOptions, adminSocket: string): Record<string, unknown> {
  const h2 = {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    },
  };
  const endpoint = (address: Record<string, unknown>) => ({ endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }] });
  return {
    node: { id: o.nodeId, cluster: o.nodeCluster, metadata: o.metadata },
    admin: { address: { pipe: { path: adminSocket } } },
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
          load_assignment: { cluster_name: 'xds-grpc', ...endpoint({ pipe: { path: o.xdsSocket } }) },
        },
        {
          name: 'sds-grpc', type: 'STATIC', connect_timeout: '1s', typed_extension_protocol_options: h2,
          load_assignment: { cluster_name: 'sds-grpc', ...endpoint({ pipe: { path: o.sdsSocket } }) },
        },
      ],
    },
  };
}

async function adminGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => { if ((res.statusCode ?? 0) === 200) resolve(body); else reject(new Error(`envoy admin ${path}: HTTP ${res.statusCode}`)); });
      res.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error(`envoy admin ${path}: timeout`)); });
    req.on('error', reject);
    req.end();
  });
}

export class EnvoyProcess {
  readonly adminSocket: string;
  readonly started: number;
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  #exited: Promise<void>;

  private constructor(child: ChildProcess, adminSocket: string) {
    this.#child = child;
    this.adminSocket = adminSocket;
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
    const adminSocket = join(o.dir, `envoy-${o.instance}-admin.sock`);
    const file = join(o.dir, `envoy-${o.instance}.yaml`);
    writeFileSync(file, stringify(bootstrap(o, adminSocket)));
    const wrapper = o.netns === undefined ? ['unshare', '--net', '--'] : ['ip', 'netns', 'exec', o.netns];
    const [cmd = 'unshare', ...pre] = wrapper;
    const child = spawn(cmd, [...pre, o.bin,
      '-c', file, '--disable-hot-restart', '--concurrency', '1', '--log-level', 'warning',
      '--service-node', o.nodeId, '--service-cluster', o.nodeCluster, '--drain-time-s', '1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => { resolve(); });
      child.once('error', (err) => { reject(new Error(`starting Envoy under ${cmd} (needs root, util-linux and iproute2): ${err.message}`)); });
    });
    return new EnvoyProcess(child, adminSocket);
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
    const text = await adminGet(this.adminSocket, '/stats');
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^([^:]+): (\d+)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  /** Names of the clusters Envoy has (active, i.e. warmed). */
  async clusters(): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminSocket, '/clusters?format=json')) as { cluster_statuses?: { name: string }[] };
    return (body.cluster_statuses ?? []).map((c) => c.name).sort();
  }

  async configDump(resource?: string): Promise<{ configs: Record<string, unknown>[] }> {
    return JSON.parse(await adminGet(this.adminSocket, `/config_dump${resource ? `?resource=${resource}` : ''}`)) as { configs: Record<string, unknown>[] };
  }

  /** Names of active dynamic listeners. */
  async listeners(): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminSocket, '/listeners?format=json')) as { listener_statuses?: { name: string }[] };
    return (body.listener_statuses ?? []).map((l) => l.name).sort();
  }

  /** Load-assignment endpoints of one cluster, as `ip:port`. */
  async endpointsOf(cluster: string): Promise<string[]> {
    const body = JSON.parse(await adminGet(this.adminSocket, '/clusters?format=json')) as {
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
