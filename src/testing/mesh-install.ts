/**
 * The primary-remote multi-network guide on two test-bed clusters, driven by the `isthmus` CLI and
 * kubectl as a platform engineer would (labels, install with EXTERNAL_ISTIOD, gen-eastwest-gateway,
 * expose-istiod/-services, the remote profile, create-remote-secret), plus helloworld in both
 * clusters and a real `isthmus discovery` as cluster1's control plane. For integration tests that
 * need a complete, healthy install (and then break it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { DiscoveryProcess } from './discovery-process.ts';
import { sampleApp, setLoadBalancerIp } from './fake-workloads.ts';
import { Testbed, type TestbedCluster } from './testbed/testbed.ts';

export interface Run { readonly code: number; readonly stdout: string; readonly stderr: string }

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/isthmus.mjs');

export function run(cmd: string, args: readonly string[], input?: string, env?: Readonly<Record<string, string>>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(input ?? '');
  });
}

export function ok(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

export const PRIMARY_IOP = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: cluster1
      network: network1
    pilot:
      env:
        EXTERNAL_ISTIOD: true
`;

export const REMOTE_IOP = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: remote
  values:
    istiodRemote:
      injectionPath: /inject/cluster/cluster2/net/network2
    global:
      remotePilotAddress: 172.18.1.1
`;

export class MeshInstall {
  readonly bed: Testbed;
  readonly dir: string;
  /** One kubeconfig with contexts cluster1 and cluster2. */
  readonly kubeconfig: string;
  discovery: DiscoveryProcess | undefined;

  private constructor(bed: Testbed, dir: string, kubeconfig: string) {
    this.bed = bed;
    this.dir = dir;
    this.kubeconfig = kubeconfig;
  }

  get c1(): TestbedCluster { return this.bed.cluster('cluster1'); }
  get c2(): TestbedCluster { return this.bed.cluster('cluster2'); }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text);
    return p;
  }

  isthmus(args: readonly string[], input?: string): Promise<Run> {
    return run(process.execPath, [BIN, ...args], input, { KUBECONFIG: this.kubeconfig });
  }

  /** kubectl on the merged kubeconfig; pass `--context` in `args`. */
  kubectl(args: readonly string[], input?: string): Promise<Run> {
    return run('kubectl', args, input, { KUBECONFIG: this.kubeconfig });
  }

  /** A shell command (e.g. a fix `check` printed) with KUBECONFIG set and `isthmus` on PATH. */
  sh(command: string): Promise<Run> {
    const binDir = join(this.dir, 'bin');
    return run('sh', ['-c', `mkdir -p ${binDir} && printf '#!/bin/sh\\nexec "%s" "%s" "$@"\\n' "${process.execPath}" "${BIN}" > ${binDir}/isthmus && chmod +x ${binDir}/isthmus && PATH=${binDir}:$PATH; ${command}`], undefined, { KUBECONFIG: this.kubeconfig });
  }

  /** Starts two clusters and runs the guide; `discovery` is started by `startControlPlane`. */
  static async up(): Promise<MeshInstall> {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-'));
    const bed = await Testbed.up({ dir: join(dir, 'bed'), clusters: ['cluster1', 'cluster2'] });
    try {
      const [a, b] = ['cluster1', 'cluster2'].map((n) => parse(readFileSync(bed.cluster(n).kubeconfigPath, 'utf8')) as Record<string, unknown[]>);
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'cluster1',
        clusters: [...(a?.['clusters'] ?? []), ...(b?.['clusters'] ?? [])],
        users: [...(a?.['users'] ?? []), ...(b?.['users'] ?? [])],
        contexts: [...(a?.['contexts'] ?? []), ...(b?.['contexts'] ?? [])],
      }));
      const m = new MeshInstall(bed, dir, kubeconfig);
      await m.#guide();
      return m;
    } catch (err) {
      await bed.down();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  async #guide(): Promise<void> {
    const k = (ctx: string, args: readonly string[], input?: string) => this.kubectl(['--context', ctx, ...args], input);
    await this.c1.ensureNamespace('istio-system');
    ok(await k('cluster1', ['label', 'namespace', 'istio-system', 'topology.istio.io/network=network1', '--overwrite']), 'label network1');
    ok(await this.isthmus(['install', '-y', '--context', 'cluster1', '-f', this.file('cluster1.yaml', PRIMARY_IOP)]), 'install primary');
    const ew1 = ok(await this.isthmus(['gen-eastwest-gateway', '--network', 'network1']), 'gen-eastwest-gateway');
    ok(await this.isthmus(['install', '-y', '--context', 'cluster1', '-f', '-'], ew1.stdout), 'install east-west gateway 1');
    await setLoadBalancerIp(this.c1, 'istio-eastwestgateway', '172.18.1.1');
    for (const verb of ['expose-istiod', 'expose-services']) {
      const y = ok(await this.isthmus(['manifest', verb]), verb);
      ok(await k('cluster1', ['apply', '-n', 'istio-system', '-f', '-'], y.stdout), `apply ${verb}`);
    }
    await this.c2.ensureNamespace('istio-system');
    ok(await k('cluster2', ['annotate', 'namespace', 'istio-system', 'topology.istio.io/controlPlaneClusters=cluster1', '--overwrite']), 'annotate');
    ok(await k('cluster2', ['label', 'namespace', 'istio-system', 'topology.istio.io/network=network2', '--overwrite']), 'label network2');
    ok(await this.isthmus(['install', '-y', '--context', 'cluster2', '-f', this.file('cluster2.yaml', REMOTE_IOP)]), 'install remote');
    const ew2 = ok(await this.isthmus(['gen-eastwest-gateway', '--network', 'network2']), 'gen-eastwest-gateway 2');
    ok(await this.isthmus(['install', '-y', '--context', 'cluster2', '-f', '-'], ew2.stdout), 'install east-west gateway 2');
    await setLoadBalancerIp(this.c2, 'istio-eastwestgateway', '172.18.2.1');
    const rs = ok(await this.isthmus(['create-remote-secret', '--context', 'cluster2', '--name', 'cluster2']), 'create-remote-secret');
    ok(await k('cluster1', ['apply', '-f', '-'], rs.stdout), 'apply remote secret');
    await sampleApp(this.c1, 'v1', ['10.10.1.5', '10.10.1.6']);
    await sampleApp(this.c2, 'v2', ['10.20.1.5']);
  }

  /**
   * Starts `isthmus discovery` as cluster1's control plane with the rendered Deployment's
   * environment, and waits until cluster2 is synced and led (root ConfigMap and caBundles written).
   */
  async startControlPlane(): Promise<DiscoveryProcess> {
    const disc = await DiscoveryProcess.start({
      kubeconfig: this.c1.kubeconfigPath, clusterId: 'cluster1',
      env: { EXTERNAL_ISTIOD: 'true', POD_NAMESPACE: 'istio-system', PILOT_REMOTE_CLUSTER_TIMEOUT: '10s' },
    });
    this.discovery = disc;
    await disc.ready(60_000);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const clusters = await disc.json<{ id: string; syncStatus: string }[]>('/debug/clusterz');
      const led = await Promise.all([this.c1, this.c2].map(async (c) => {
        const cm = await c.request('GET', '/api/v1/namespaces/sample/configmaps/istio-ca-root-cert');
        const wh = await c.requestOk('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector') as { webhooks?: { clientConfig?: { caBundle?: string } }[] };
        return cm.status === 200 && (wh.webhooks ?? []).every((w) => (w.clientConfig?.caBundle ?? '') !== '');
      }));
      if (clusters.some((c) => c.id === 'cluster2' && c.syncStatus === 'synced') && led.every(Boolean)) return disc;
      if (Date.now() > deadline) throw new Error(`control plane did not sync and lead both clusters: ${JSON.stringify(clusters)}\n${disc.logs().slice(-3000)}`);
      await sleep(200);
    }
  }

  async stopControlPlane(): Promise<void> {
    await this.discovery?.stop();
    this.discovery = undefined;
  }

  async down(): Promise<void> {
    await this.stopControlPlane();
    await this.bed.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
