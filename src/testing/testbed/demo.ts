/**
 * The main job for now: the primary-remote, multi-network guide on two local test-bed clusters,
 * driven by the `isthmus` CLI as a platform engineer would, with the control plane running as a
 * local process (the test bed has no kubelet, so the rendered istiod Deployment cannot run).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { KubeClient } from '../../kube/client.ts';
import { sampleApp, setLoadBalancerIp } from '../fake-workloads.ts';
import { freePort, startProcess } from './procs.ts';
import { recordProcess, Testbed, type TestbedCluster } from './testbed.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/isthmus.mjs', import.meta.url));

async function isthmus(args: readonly string[], input?: string): Promise<string> {
  const child = run(process.execPath, [BIN, ...args], { maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) { child.child.stdin?.end(input); }
  const { stdout } = await child;
  return stdout;
}

const iop = (values: string, profile = '') => `apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n${profile ? `  profile: ${profile}\n` : ''}  values:\n${values}`;

export async function demo(dirArg: string, log: (line: string) => void): Promise<void> {
  const dir = resolve(dirArg);
  const bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'], log });
  const [c1, c2] = [bed.cluster('cluster1'), bed.cluster('cluster2')];
  const k1 = ['--kubeconfig', c1.kubeconfigPath];
  const k2 = ['--kubeconfig', c2.kubeconfigPath];

  log('demo: cluster1 = primary on network1 (EXTERNAL_ISTIOD=true); cluster2 = remote on network2');
  await c1.ensureNamespace('istio-system');
  const nsPatch = async (c: TestbedCluster, labels: Record<string, string>, annotations: Record<string, string> = {}) => {
    const ns = await c.requestOk('GET', '/api/v1/namespaces/istio-system') as { metadata: Record<string, unknown> };
    const md = ns.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
    await c.requestOk('PUT', '/api/v1/namespaces/istio-system', { ...ns, metadata: { ...ns.metadata, labels: { ...md.labels, ...labels }, annotations: { ...md.annotations, ...annotations } } });
  };
  await nsPatch(c1, { 'topology.istio.io/network': 'network1' });
  log('demo: isthmus install (primary)');
  await isthmus(['install', '-y', '-f', '-', ...k1], iop('    global:\n      meshID: mesh1\n      multiCluster:\n        clusterName: cluster1\n      network: network1\n    pilot:\n      env:\n        EXTERNAL_ISTIOD: true\n'));
  log('demo: isthmus gen-eastwest-gateway --network network1 | isthmus install -y -f -');
  await isthmus(['install', '-y', '-f', '-', ...k1], await isthmus(['gen-eastwest-gateway', '--network', 'network1']));
  await setLoadBalancerIp(c1, 'istio-eastwestgateway', '172.18.1.1');
  for (const verb of ['expose-istiod', 'expose-services']) {
    const docs = parseAllDocuments(await isthmus(['manifest', verb])).map((d) => d.toJSON() as { apiVersion: string; kind: string; metadata: { name: string } } | null).filter((d) => d !== null);
    for (const d of docs) {
      const plural = d.kind === 'Gateway' ? 'gateways' : 'virtualservices';
      await c1.requestOk('POST', `/apis/${d.apiVersion}/namespaces/istio-system/${plural}`, d, true);
    }
  }

  await c2.ensureNamespace('istio-system');
  await nsPatch(c2, { 'topology.istio.io/network': 'network2' }, { 'topology.istio.io/controlPlaneClusters': 'cluster1' });
  log('demo: isthmus install (remote profile on cluster2)');
  await isthmus(['install', '-y', '-f', '-', ...k2], iop('    istiodRemote:\n      injectionPath: /inject/cluster/cluster2/net/network2\n    global:\n      remotePilotAddress: 172.18.1.1\n', 'remote'));
  await isthmus(['install', '-y', '-f', '-', ...k2], await isthmus(['gen-eastwest-gateway', '--network', 'network2']));
  await setLoadBalancerIp(c2, 'istio-eastwestgateway', '172.18.2.1');

  log('demo: helloworld v1 in cluster1, v2 in cluster2');
  await sampleApp(c1, 'v1', ['10.10.1.5', '10.10.1.6']);
  await sampleApp(c2, 'v2', ['10.20.1.5']);

  log('demo: isthmus create-remote-secret --name cluster2 (applied to cluster1)');
  const secretYaml = await isthmus(['create-remote-secret', '--name', 'cluster2', ...k2]);
  const client1 = KubeClient.fromFile(c1.kubeconfigPath);
  for (const doc of parseAllDocuments(secretYaml)) {
    const obj = doc.toJSON() as { metadata?: { name: string; namespace?: string } } | null;
    if (!obj?.metadata) continue;
    await client1.apply(`/api/v1/namespaces/${obj.metadata.namespace ?? 'istio-system'}/secrets/${obj.metadata.name}`, obj, { fieldManager: 'isthmus-demo', force: true });
  }

  const [http, grpc, secure, mon] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const logPath = join(dir, 'discovery.log');
  const p = startProcess(process.execPath, [BIN, 'discovery', ...k1, '--cluster-id', 'cluster1',
    '--httpAddr', `127.0.0.1:${http}`, '--grpcAddr', `127.0.0.1:${grpc}`, '--secureGRPCAddr', `127.0.0.1:${secure}`, '--monitoringAddr', `127.0.0.1:${mon}`,
    '--httpsAddr', `127.0.0.1:${await freePort()}`],
  logPath, { ...process.env, EXTERNAL_ISTIOD: 'true', POD_NAME: 'istiod-demo-0', POD_NAMESPACE: 'istio-system' });
  recordProcess(dir, 'discovery', p.pid, logPath);
  log(`demo: isthmus discovery started (pid ${p.pid}, log ${logPath})`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${http}/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`discovery did not become ready; see ${logPath}`);
    await sleep(200);
  }
  writeFileSync(join(dir, 'discovery.env'), `DEBUG=http://127.0.0.1:${http}\nXDS=127.0.0.1:${grpc}\nXDS_TLS=127.0.0.1:${secure}\nMETRICS=http://127.0.0.1:${mon}/metrics\n`);

  const shards = await (await fetch(`http://127.0.0.1:${http}/debug/endpointShardz`)).json() as Record<string, Record<string, { Shards: Record<string, { address: string; network: string }[]> }>>;
  const hello = shards['helloworld.sample.svc.cluster.local']?.['sample']?.Shards ?? {};
  process.stdout.write(`\n${await isthmus(['remote-clusters', '--debug-addr', `127.0.0.1:${http}`])}`);
  process.stdout.write('\nhelloworld.sample.svc.cluster.local, as the control plane sees it:\n');
  for (const [cluster, eps] of Object.entries(hello)) for (const e of eps) process.stdout.write(`  ${cluster.padEnd(10)} ${e.network.padEnd(10)} ${e.address}\n`);
  const gws = await (await fetch(`http://127.0.0.1:${http}/debug/networkz`)).json() as { Network: string; Cluster: string; Addr: string; Port: number }[];
  process.stdout.write('\nEast-west gateways:\n');
  for (const g of gws) process.stdout.write(`  ${g.Network.padEnd(10)} ${g.Cluster.padEnd(10)} ${g.Addr}:${g.Port}\n`);
  process.stdout.write(`\nControl plane: debug http://127.0.0.1:${http}/debug/list  xDS 127.0.0.1:${grpc} (plaintext)  xDS+CA 127.0.0.1:${secure} (TLS)\n`);
  process.stdout.write(`Try: curl -s http://127.0.0.1:${http}/debug/registryz | head -40\n`);
  for (const c of bed.clusters) process.stdout.write(`     kubectl --kubeconfig ${c.kubeconfigPath} get svc -A\n`);
  process.stdout.write(`Stop everything: npm run testbed -- down --dir ${dirArg}\n`);
}
