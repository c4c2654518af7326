/**
 * Real Envoy as the judge of every scenario (issue 13: "real Envoy accepts every resource of every
 * scenario"): one upstream Envoy per Envoy role of the suite (the sidecars and east-west gateways,
 * with the same node ids and metadata as the simulated proxies), connected to Isthmus over delta
 * ADS for the whole run, as pilot-agent connects by default. After each scenario has settled, every
 * judge must have rejected nothing and have nothing warming; a rejection names the scenario, the
 * role, the counter and Envoy's own warning.
 *
 * Envoy runs in an empty network namespace of its own (src/testing/envoy/process.ts): the listeners
 * it gets never open on the host. SDS serves a throw-away self-signed workload certificate: only the
 * configuration is judged here, not traffic.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { join } from 'node:path';
import { UnixBridge } from '../../../src/testing/envoy/bridge.ts';
import { ensureEnvoy } from '../../../src/testing/envoy/binary.ts';
import { EnvoyProcess, type EnvoyStats } from '../../../src/testing/envoy/process.ts';
import { SdsServer, type WorkloadCertificate } from '../../../src/testing/envoy/sds.ts';
import type { ProxySpec, Role } from '../scenarios.ts';

interface Judge {
  readonly role: Role;
  readonly envoy: EnvoyProcess;
}

export interface Verdict {
  readonly role: Role;
  /** Updates Envoy accepted so far (CDS, LDS, and every EDS and RDS subscription). */
  readonly accepted: number;
  /** `counter value` for every `*.update_rejected` above 0, with Envoy's last warnings. */
  readonly problems: readonly string[];
}

function pem(label: string, der: ArrayBuffer): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}

async function selfSignedWorkload(): Promise<WorkloadCertificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01', name: 'O=conformance', keys, signingAlgorithm: alg,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 24 * 3600_000),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://cluster.local/ns/sample/sa/sleep' }])],
  });
  const certPem = cert.toString('pem');
  return { chainPem: certPem, rootPem: certPem, keyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

const sum = (stats: EnvoyStats, suffix: string): number => [...stats].filter(([k]) => k.endsWith(suffix)).reduce((n, [, v]) => n + v, 0);

export class EnvoyJudges {
  readonly #judges: Judge[];
  readonly #bridge: UnixBridge;
  readonly #sds: SdsServer;

  private constructor(judges: Judge[], bridge: UnixBridge, sds: SdsServer) {
    this.#judges = judges;
    this.#bridge = bridge;
    this.#sds = sds;
  }

  /** One Envoy per proxy that is not proxyless gRPC, all connected to `xdsAddress` (host:port, plaintext). */
  static async start(dir: string, xdsAddress: string, proxies: readonly ProxySpec[]): Promise<EnvoyJudges> {
    const bin = await ensureEnvoy();
    const colon = xdsAddress.lastIndexOf(':');
    const bridge = await UnixBridge.open(join(dir, 'judges-xds.sock'), xdsAddress.slice(0, colon), Number(xdsAddress.slice(colon + 1)));
    const sdsSocket = join(dir, 'judges-sds.sock');
    const sds = await SdsServer.start(sdsSocket, await selfSignedWorkload());
    const judges: Judge[] = [];
    const self = new EnvoyJudges(judges, bridge, sds);
    try {
      for (const p of proxies.filter((x) => x.grpcListeners === undefined)) {
        const [, , podNs = ''] = p.id.split('~');
        const envoy = await EnvoyProcess.start({
          bin, dir, nodeId: p.id, nodeCluster: podNs, metadata: p.metadata, xdsSocket: bridge.path, apiType: 'DELTA_GRPC', sdsSocket, instance: `judge-${p.role}`,
        });
        judges.push({ role: p.role, envoy });
      }
    } catch (err) {
      await self.stop();
      throw err;
    }
    return self;
  }

  /**
   * Waits until every judge is connected, warms nothing and its update counters stop moving (the
   * scenario's pushes arrived), then reports what each accepted and rejected.
   */
  async verdicts(timeoutMs = 60_000): Promise<Verdict[]> {
    return Promise.all(this.#judges.map(async (j) => {
      const stats = await settledStats(j, timeoutMs);
      const problems = [...stats].filter(([k, v]) => k.endsWith('.update_rejected') && v > 0).map(([k, v]) => `${k} ${v}`);
      if (problems.length > 0) problems.push(...j.envoy.grep(/rejected|warning/i).slice(-5));
      return { role: j.role, accepted: sum(stats, '.update_success'), problems };
    }));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#judges.map((j) => j.envoy.stop()));
    this.#sds.close();
    await this.#bridge.close();
  }
}

async function settledStats(j: Judge, timeoutMs: number): Promise<EnvoyStats> {
  const deadline = Date.now() + timeoutMs;
  let previous = -1;
  for (;;) {
    if (j.envoy.exited()) throw new Error(`Envoy judging ${j.role} exited:\n${j.envoy.logs(20)}`);
    const stats = await j.envoy.stats();
    const attempts = sum(stats, '.update_attempt') + sum(stats, '.update_success') + sum(stats, '.update_rejected');
    const quiet = stats.get('control_plane.connected_state') === 1 && stats.get('cluster_manager.warming_clusters') === 0
      && stats.get('listener_manager.total_listeners_warming') === 0;
    if (quiet && attempts === previous) return stats;
    if (Date.now() > deadline) {
      throw new Error(`Envoy judging ${j.role}: not settled after ${timeoutMs} ms (connected ${stats.get('control_plane.connected_state') ?? '?'}, `
        + `warming clusters ${stats.get('cluster_manager.warming_clusters') ?? '?'}, listeners ${stats.get('listener_manager.total_listeners_warming') ?? '?'})\n${j.envoy.logs(20)}`);
    }
    previous = quiet ? attempts : -1;
    await new Promise((r) => setTimeout(r, 500));
  }
}
