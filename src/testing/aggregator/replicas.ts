/**
 * Two real `isthmus discovery` replicas for the aggregator's tests (ours and istioctl's): a real
 * kube-apiserver; replicas istiod-a and istiod-b listening on 127.0.0.2 and 127.0.0.3 at the same
 * secure port, described to the API server by Pods of the same names (label app=istiod, Running,
 * podIP = the replica's address) so that anything that discovers control plane pods finds them;
 * simulated sidecars (real ADS streams with real service-account tokens) on each, in every sync
 * state; and a real @grpc/grpc-js-xds app (`grpc-0.sample`) on istiod-a's plaintext port.
 *
 *   const mesh = new ReplicaMesh();
 *   before(async () => { await mesh.up({ bedDir: dir, appDir: dir }); ... });
 *   after(async () => { ...; await mesh.grpcApp?.stop(); ...; await mesh.bed?.down(); });
 *
 * Fields are set as `up` goes, so a test's `after` can stop what a failed `up` did start.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials } from '@grpc/grpc-js';
import { CLUSTER_TYPE_URL } from '../../model/type-urls.ts';
import { SKIP_VERIFY } from '../../xds/client/transport.ts';
import { AdsTestClient } from '../ads-client.ts';
import { DiscoveryProcess } from '../discovery-process.ts';
import { startProxylessClient } from '../grpc-app/proxyless.ts';
import type { JsonLineProcess } from '../grpc-app/lines.ts';
import { freePort } from '../testbed/procs.ts';
import { Testbed, type TestbedCluster } from '../testbed/testbed.ts';

export const REPLICA_IPS = { 'istiod-a': '127.0.0.2', 'istiod-b': '127.0.0.3' } as const;
export type ReplicaName = keyof typeof REPLICA_IPS;
/** The grpc-js-xds app's proxy name. */
export const GRPC_APP = 'grpc-0.sample';
const SAN = { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' };

export interface ReplicaMeshOptions {
  /** The test bed's directory. */
  readonly bedDir: string;
  /** The grpc-js-xds app's directory. */
  readonly appDir: string;
  /** Runs once the namespaces istio-system, sample and other exist, before the replicas start. */
  readonly prepare?: (c1: TestbedCluster) => Promise<unknown>;
}

export class ReplicaMesh {
  bed: Testbed | undefined;
  #c1: TestbedCluster | undefined;
  securePort = 0;
  readonly replicas: Partial<Record<ReplicaName, DiscoveryProcess>> = {};
  /** Every ADS client made for the test (sidecars and the test's own): close them at the end. */
  readonly clients: AdsTestClient[] = [];
  grpcApp: JsonLineProcess | undefined;

  get c1(): TestbedCluster {
    if (!this.#c1) throw new Error('ReplicaMesh: not up');
    return this.#c1;
  }

  /**
   * Starts it all. Proxies: a-0.sample SYNCED, a-stale.sample never ACKs (STALE) and the grpc-js-xds
   * app on istiod-a; b-0.other SYNCED and b-nack.sample rejects (ERROR) on istiod-b.
   */
  async up(opts: ReplicaMeshOptions): Promise<void> {
    this.bed = await Testbed.up({ dir: opts.bedDir, clusters: ['cluster1'] });
    const c1 = this.bed.cluster('cluster1');
    this.#c1 = c1;
    for (const ns of ['istio-system', 'sample', 'other']) await c1.ensureNamespace(ns);
    await opts.prepare?.(c1);
    this.securePort = await freePort();
    for (const name of ['istiod-a', 'istiod-b'] as const) {
      const ip = REPLICA_IPS[name];
      const d = await DiscoveryProcess.start({
        kubeconfig: c1.kubeconfigPath, clusterId: 'cluster1', grpcAddr: `${ip}:${await freePort()}`,
        args: ['--secureGRPCAddr', `${ip}:${this.securePort}`], env: { POD_NAME: name, POD_NAMESPACE: 'istio-system' },
      });
      this.replicas[name] = d;
      await d.ready();
      await c1.requestOk('POST', '/api/v1/namespaces/istio-system/pods', {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'istiod' } },
        spec: { containers: [{ name: 'discovery', image: 'example.invalid/isthmus:test' }] },
      });
      const pod = await c1.requestOk('GET', `/api/v1/namespaces/istio-system/pods/${name}`) as Record<string, unknown>;
      await c1.requestOk('PUT', `/api/v1/namespaces/istio-system/pods/${name}/status`, { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
    }
    const a0 = await this.sidecar('istiod-a', 'a-0', 'sample');
    a0.ack(await a0.request(CLUSTER_TYPE_URL));
    await (await this.sidecar('istiod-a', 'a-stale', 'sample')).request(CLUSTER_TYPE_URL);
    const b0 = await this.sidecar('istiod-b', 'b-0', 'other');
    b0.ack(await b0.request(CLUSTER_TYPE_URL));
    const bn = await this.sidecar('istiod-b', 'b-nack', 'sample');
    bn.nack(await bn.request(CLUSTER_TYPE_URL), 'cluster outbound|80||x rejected: test NACK');
    // The real proxyless gRPC app on istiod-a's plaintext port; wait until that replica lists it.
    const grpcApp = startProxylessClient({ dir: opts.appDir, xdsAddress: this.replicas['istiod-a']?.grpcAddr ?? '', pod: 'grpc-0', namespace: 'sample', clusterId: 'cluster1' });
    this.grpcApp = grpcApp;
    const deadline = Date.now() + 30_000;
    while (!(await this.replicas['istiod-a']?.json<{ proxy: string }[]>('/debug/syncz') ?? []).some((s) => s.proxy === GRPC_APP)) {
      if (grpcApp.exited !== undefined || Date.now() > deadline) throw new Error(`the grpc-js-xds app did not connect\n${grpcApp.tail()}`);
      await sleep(50);
    }
  }

  /** A simulated sidecar on a replica's secure port, authenticated with a real token of its namespace. */
  async sidecar(replica: ReplicaName, pod: string, ns: string): Promise<AdsTestClient> {
    const token = await this.c1.mintToken(ns, 'default', { audience: 'istio-ca' });
    const c = new AdsTestClient({
      address: `${REPLICA_IPS[replica]}:${this.securePort}`, nodeId: `sidecar~10.1.0.${this.clients.length + 2}~${pod}.${ns}~${ns}.svc.cluster.local`,
      metadata: { NAMESPACE: ns, CLUSTER_ID: 'cluster1', ISTIO_VERSION: '1.28.0', PROXY_CONFIG: {} },
      credentials: credentials.createSsl(null, null, null, SKIP_VERIFY), channelOptions: SAN, headers: { authorization: `Bearer ${token}` },
    });
    this.clients.push(c);
    return c;
  }
}
