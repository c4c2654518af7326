/**
 * The real istiod (`pilot-discovery`, built by `npm run testbed -- build-istio`) run out of cluster
 * against test-bed API servers, as a peer for differential tests.
 *
 *   await applyIstioCrds(bed.cluster('cluster1'));
 *   const istiod = await IstiodProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', dir });
 *   await istiod.ready();
 *   ... plaintext xDS on istiod.grpcAddr ...
 *   await istiod.stop();
 *
 * The settings it needs out of cluster (each one found necessary or harmful-to-leave here):
 * - `--kubeconfig` (no in-cluster config), `CLUSTER_ID`/`--clusterID` (else "Kubernetes"),
 *   `POD_NAMESPACE=istio-system` (where it looks for remote secrets, its CA secret and mesh config).
 * - `--meshConfig <file>` with `trustDomain` and `defaultConfig.discoveryAddress` (the default path
 *   `./etc/istio/config/mesh` does not exist; without a file it still starts, but with a default mesh
 *   whose discovery address names an in-cluster Service).
 * - Every listener on a free loopback port: `--grpcAddr` (plaintext xDS), `--httpAddr` (`/ready`,
 *   `/debug/*`), `--secureGRPCAddr`, `--monitoringAddr`, `--ctrlz_port`/`--ctrlz_address`; `--httpsAddr ""`
 *   switches off the webhook server (it needs a serving certificate we do not give it).
 * - `INJECT_ENABLED=false`, `INJECTION_WEBHOOK_CONFIG_NAME=` and `VALIDATION_WEBHOOK_CONFIG_NAME=`
 *   (empty): no webhook patching, no in-cluster Service for them.
 * - `PILOT_DEBOUNCE_AFTER=10ms`: the same short debounce the Isthmus test process uses.
 * - `JWT_POLICY=first-party-jwt`, `PILOT_CERT_PROVIDER=istiod`: istiod signs its own serving certificate
 *   and CA (`istio-ca-secret`) instead of looking for mounted files.
 * Remote clusters join exactly as with Isthmus: a Secret labelled `istio/multiCluster: "true"` in
 * `istio-system` of the cluster istiod runs against, holding a kubeconfig per cluster (see
 * `remoteSecret`).
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { TestbedErrorCodes, TestbedError } from '../testbed/errors.ts';
import { ensureIstioProgram, ISTIO_MODULE_VERSION } from '../interop/istioctl.ts';
import { freePort } from '../testbed/procs.ts';
import type { TestbedCluster } from '../testbed/testbed.ts';

/** The istio.io/istio module's directory in the Go module cache (downloaded by the build; cached). */
export async function istioModuleDir(version = ISTIO_MODULE_VERSION): Promise<string> {
  let out: string;
  try {
    out = (await promisify(execFile)('go', ['mod', 'download', '-json', `istio.io/istio@${version}`], { cwd: '/', maxBuffer: 1 << 20, env: { ...process.env, GOFLAGS: '-mod=mod' } })).stdout;
  } catch (err) {
    throw new TestbedError(TestbedErrorCodes.ToolMissing, `could not locate istio.io/istio@${version} in the Go module cache (run \`npm run testbed -- build-istio\` first): ${String(err)}`);
  }
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (dir === undefined) throw new TestbedError(TestbedErrorCodes.ToolMissing, `go mod download gave no directory for istio.io/istio@${version}`);
  return dir;
}

/** Istio's CRD bundle (the base chart's generated file) as objects. */
export async function istioCrds(): Promise<Record<string, unknown>[]> {
  const file = join(await istioModuleDir(), 'manifests', 'charts', 'base', 'files', 'crd-all.gen.yaml');
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown).filter((o): o is Record<string, unknown> => o !== null && typeof o === 'object');
}

/** Server-side apply of one object (the CRD bundle is too large for client-side apply's annotation). */
export async function serverSideApply(c: TestbedCluster, path: string, obj: unknown, manager = 'isthmus-conformance'): Promise<void> {
  const url = new URL(`${path}?fieldManager=${manager}&force=true`, c.creds.server);
  const payload = JSON.stringify(obj);
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, {
      method: 'PATCH', ca: c.creds.caCertPem, cert: c.creds.clientCertPem, key: c.creds.clientKeyPem, timeout: 30_000,
      headers: { accept: 'application/json', 'content-type': 'application/apply-patch+yaml' },
    }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (b: Buffer) => chunks.push(b));
      r.on('end', () => { resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      r.on('error', reject);
    });
    req.on('timeout', () => { req.destroy(new Error(`PATCH ${url.href} timed out`)); });
    req.on('error', reject);
    req.end(payload);
  });
  if (res.status < 200 || res.status > 299) throw new Error(`${c.name}: server-side apply of ${path} -> ${res.status} ${res.body.slice(0, 400)}`);
}

/** Applies Istio's CRDs to a cluster and waits until every one is Established. Returns how many. */
export async function applyIstioCrds(c: TestbedCluster, timeoutMs = 60_000): Promise<number> {
  const crds = (await istioCrds()).filter((o) => o['kind'] === 'CustomResourceDefinition');
  const names = crds.map((o) => String((o['metadata'] as { name?: string } | undefined)?.name));
  for (const [i, crd] of crds.entries()) {
    await serverSideApply(c, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${names[i] ?? ''}`, crd);
  }
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const r = await c.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conds = r.status === 200 ? (JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [] : [];
      if (conds.some((x) => x.type === 'Established' && x.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`${c.name}: CRD ${name} not Established after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
  return names.length;
}

/** The remote secret (Istio's format, which Isthmus reads too) giving the control plane `remote`. */
export async function remoteSecret(remote: TestbedCluster, name = `istio-remote-secret-${remote.name}`): Promise<Record<string, unknown>> {
  await remote.bindClusterRole('istio-system', 'istio-reader-service-account', 'cluster-admin', 'istio-reader-conformance');
  const token = await remote.mintToken('istio-system', 'istio-reader-service-account', { expirationSeconds: 24 * 3600 });
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name, namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' }, annotations: { 'networking.istio.io/cluster': remote.name } },
    stringData: { [remote.name]: remote.tokenKubeconfig(token, remote.name) },
  };
}

export interface IstiodOptions {
  readonly kubeconfig: string;
  readonly clusterId: string;
  /** Where the mesh config file and the log go. */
  readonly dir: string;
  readonly trustDomain?: string;
  /** Extra environment (e.g. PILOT_* feature flags). */
  readonly env?: Readonly<Record<string, string>>;
}

export class IstiodProcess {
  readonly grpcAddr: string;
  readonly httpAddr: string;
  readonly #child: ChildProcess;
  readonly #log: string[] = [];
  #exit: number | string | undefined;

  private constructor(child: ChildProcess, grpcAddr: string, httpAddr: string) {
    this.#child = child;
    this.grpcAddr = grpcAddr;
    this.httpAddr = httpAddr;
    const keep = (b: Buffer) => { for (const l of b.toString('utf8').split('\n')) if (l) { this.#log.push(l); if (this.#log.length > 3000) this.#log.shift(); } };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, sig) => { this.#exit = code ?? sig ?? 'unknown'; });
    child.on('error', (e) => { this.#exit = e.message; });
  }

  static async start(o: IstiodOptions): Promise<IstiodProcess> {
    const bin = await ensureIstioProgram('pilot-discovery');
    const [grpc, http, secure, mon, ctrlz] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const td = o.trustDomain ?? 'cluster.local';
    const mesh = join(o.dir, `istiod-mesh-${o.clusterId}.yaml`);
    writeFileSync(mesh, `trustDomain: ${td}\ndefaultConfig:\n  discoveryAddress: 127.0.0.1:${secure}\n`);
    const grpcAddr = `127.0.0.1:${grpc}`;
    const httpAddr = `127.0.0.1:${http}`;
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root',
      CLUSTER_ID: o.clusterId, POD_NAMESPACE: 'istio-system', POD_NAME: `istiod-${o.clusterId}-conformance`,
      INJECT_ENABLED: 'false', INJECTION_WEBHOOK_CONFIG_NAME: '', VALIDATION_WEBHOOK_CONFIG_NAME: '',
      JWT_POLICY: 'first-party-jwt', PILOT_CERT_PROVIDER: 'istiod', PILOT_DEBOUNCE_AFTER: '10ms',
      ...o.env,
    };
    const child = spawn(bin, ['discovery', '--kubeconfig', o.kubeconfig, '--clusterID', o.clusterId, '--meshConfig', mesh,
      '--grpcAddr', grpcAddr, '--httpAddr', httpAddr, '--secureGRPCAddr', `127.0.0.1:${secure}`, '--monitoringAddr', `127.0.0.1:${mon}`,
      '--ctrlz_address', '127.0.0.1', '--ctrlz_port', String(ctrlz), '--httpsAddr', '', '--domain', 'cluster.local', '--shutdownDuration', '1s'], {
      env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new IstiodProcess(child, grpcAddr, httpAddr);
  }

  /** The child's process id (for /proc CPU and memory readings); undefined if spawning failed. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  logs(lines = 40): string {
    return this.#log.slice(-lines).join('\n');
  }

  /** Waits for `/ready` on the HTTP port (caches synced, including remote clusters it knows). */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#exit !== undefined) throw new Error(`pilot-discovery exited (${String(this.#exit)}):\n${this.logs()}`);
      try {
        const r = await fetch(`http://${this.httpAddr}/ready`);
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(100);
    }
    throw new Error(`pilot-discovery not ready after ${timeoutMs} ms:\n${this.logs()}`);
  }

  /** JSON of one of istiod's debug endpoints (e.g. `/debug/registryz`). */
  async json<T>(path: string): Promise<T> {
    const r = await fetch(`http://${this.httpAddr}${path}`);
    if (r.status !== 200) throw new Error(`istiod GET ${path}: ${r.status}`);
    return await r.json() as T;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exit !== undefined) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    const t = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  }
}
