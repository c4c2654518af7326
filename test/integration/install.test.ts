/**
 * The install verbs against two real test-bed clusters: every rendered object passes the API
 * server's dry run, the primary-remote multi-network guide runs end to end with `isthmus` in place
 * of `istioctl` (as far as it goes without running pods), and the failure cases give clear
 * messages without half-applied installs.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { freePort } from '../../src/testing/testbed/procs.ts';
import type { KubeList, KubeObject } from '../../src/kube/types.ts';
import { clientFromUntrustedKubeconfig } from '../../src/kube/multicluster/kubeconfig.ts';
import { DiscoveryProcess } from '../../src/testing/discovery-process.ts';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/isthmus.mjs');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-install-'));
let bed: Testbed;
let c1: TestbedCluster;
let c2: TestbedCluster;
let merged: string;

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => { resolve({ code: code ?? -1, stdout, stderr }); });
    p.stdin.end(input ?? '');
  });
}
const isthmus = (args: readonly string[], input?: string) => run(process.execPath, [bin, ...args], input);
const kubectl = (cluster: TestbedCluster, args: readonly string[], input?: string) => run('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args], input);

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const PRIMARY = `apiVersion: install.istio.io/v1alpha1
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

const REMOTE = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: remote
  values:
    istiodRemote:
      injectionPath: /inject/cluster/cluster2/net/network2
    global:
      remotePilotAddress: 10.20.1.5
`;

before(async () => {
  bed = await Testbed.up({ dir, clusters: ['cluster1', 'cluster2'] });
  c1 = bed.cluster('cluster1');
  c2 = bed.cluster('cluster2');
  // One kubeconfig with both contexts, as a platform engineer has (contexts cluster1, cluster2).
  const a = parse(readFileSync(c1.kubeconfigPath, 'utf8')) as Record<string, unknown[]>;
  const b = parse(readFileSync(c2.kubeconfigPath, 'utf8')) as Record<string, unknown[]>;
  merged = file('kubeconfig', stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'cluster1',
    clusters: [...(a['clusters'] ?? []), ...(b['clusters'] ?? [])],
    users: [...(a['users'] ?? []), ...(b['users'] ?? [])],
    contexts: [...(a['contexts'] ?? []), ...(b['contexts'] ?? [])],
  }));
});

after(async () => {
  await bed.down();
  rmSync(dir, { recursive: true, force: true });
});

test('every object of every profile passes the API server\'s server-side dry run', async () => {
  await c1.ensureNamespace('istio-system');
  const cases: [string, string, string[]][] = [
    ['default', PRIMARY, []],
    ['minimal', PRIMARY, ['--set', 'profile=minimal']],
    ['remote (IP)', REMOTE, []],
    ['remote (hostname, config cluster)', REMOTE, ['--set', 'values.global.remotePilotAddress=cp.example.com', '--set', 'values.global.configCluster=true']],
  ];
  for (const [name, text, sets] of cases) {
    const gen = ok(await isthmus(['manifest', 'generate', '-f', '-', ...sets], text), `manifest generate ${name}`);
    const kinds = new Set([...gen.stdout.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]));
    assert.ok(kinds.size >= 5, `${name}: ${[...kinds].join(', ')}`);
    ok(await kubectl(c1, ['apply', '--server-side', '--field-manager=isthmus', '--dry-run=server', '-f', '-'], gen.stdout), `dry run of ${name}`);
  }
  const ew = ok(await isthmus(['gen-eastwest-gateway', '--network', 'network1']), 'gen-eastwest-gateway');
  const gen = ok(await isthmus(['manifest', 'generate', '-f', '-'], ew.stdout), 'manifest generate eastwest');
  ok(await kubectl(c1, ['apply', '--server-side', '--dry-run=server', '-f', '-'], gen.stdout), 'dry run of the east-west gateway');
  // Our own dry-run path changes nothing.
  const dry = ok(await isthmus(['install', '--dry-run', '-f', '-', '--kubeconfig', merged, '--context', 'cluster1'], PRIMARY), 'install --dry-run');
  assert.match(dry.stdout, /created \(dry run\) Deployment istio-system\/istiod/);
  const dep = await c1.request('GET', '/apis/apps/v1/namespaces/istio-system/deployments/istiod');
  assert.equal(dep.status, 404);
});

test('the primary-remote multi-network guide, with isthmus in place of istioctl', async () => {
  // cluster1: label the system namespace, install the primary with EXTERNAL_ISTIOD=true.
  await c1.ensureNamespace('istio-system');
  ok(await kubectl(c1, ['label', 'namespace', 'istio-system', 'topology.istio.io/network=network1', '--overwrite']), 'label network1');
  const primary = ok(await isthmus(['install', '-y', '-f', file('cluster1.yaml', PRIMARY), '--kubeconfig', merged, '--context', 'cluster1']), 'install primary');
  assert.match(primary.stdout, /created Deployment istio-system\/istiod/);
  assert.match(primary.stdout, /created CustomResourceDefinition gateways\.networking\.istio\.io/);
  assert.match(primary.stdout, /ready CustomResourceDefinition virtualservices\.networking\.istio\.io: established/);
  assert.match(primary.stdout, /not waiting for 2 Deployment\(s\) \(istiod, istio-ingressgateway\)/);
  const dep = await c1.requestOk('GET', '/apis/apps/v1/namespaces/istio-system/deployments/istiod') as { spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
  const env = dep.spec.template.spec.containers[0]?.env ?? [];
  assert.equal(env.find((e) => e.name === 'EXTERNAL_ISTIOD')?.value, 'true');
  assert.equal(env.find((e) => e.name === 'CLUSTER_ID')?.value, 'cluster1');
  const ns = await c1.requestOk('GET', '/api/v1/namespaces/istio-system') as KubeObject;
  assert.equal(ns.metadata.labels?.['topology.istio.io/network'], 'network1', 'install keeps the user\'s namespace label');

  // The east-west gateway, piped from gen-eastwest-gateway into install.
  const ew = ok(await isthmus(['gen-eastwest-gateway', '--network', 'network1']), 'gen-eastwest-gateway');
  const ewInstall = ok(await isthmus(['install', '-y', '-f', '-', '--kubeconfig', merged, '--context', 'cluster1'], ew.stdout), 'install east-west gateway');
  assert.match(ewInstall.stdout, /created Service istio-system\/istio-eastwestgateway/);
  const svc = await c1.requestOk('GET', '/api/v1/namespaces/istio-system/services/istio-eastwestgateway') as KubeObject & { spec: { type: string } };
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.equal(svc.metadata.labels?.['topology.istio.io/network'], 'network1');

  // expose-istiod and expose-services, applied with kubectl (the CRDs came with the install).
  for (const verb of ['expose-istiod', 'expose-services']) {
    const y = ok(await isthmus(['manifest', verb]), verb);
    ok(await kubectl(c1, ['apply', '-n', 'istio-system', '-f', '-'], y.stdout), `kubectl apply ${verb}`);
  }
  await c1.requestOk('GET', '/apis/networking.istio.io/v1/namespaces/istio-system/gateways/istiod-gateway');
  await c1.requestOk('GET', '/apis/networking.istio.io/v1/namespaces/istio-system/virtualservices/istiod-vs');
  await c1.requestOk('GET', '/apis/networking.istio.io/v1/namespaces/istio-system/gateways/cross-network-gateway');

  // cluster2: annotate + label the namespace, install the remote profile.
  await c2.ensureNamespace('istio-system');
  ok(await kubectl(c2, ['annotate', 'namespace', 'istio-system', 'topology.istio.io/controlPlaneClusters=cluster1', '--overwrite']), 'annotate');
  ok(await kubectl(c2, ['label', 'namespace', 'istio-system', 'topology.istio.io/network=network2', '--overwrite']), 'label network2');
  const remote = ok(await isthmus(['install', '-y', '-f', file('cluster2.yaml', REMOTE), '--kubeconfig', merged, '--context', 'cluster2']), 'install remote');
  assert.doesNotMatch(remote.stdout, /Deployment/);
  const slice = await c2.requestOk('GET', '/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices/istiod-remote') as { endpoints: { addresses: string[] }[] } & KubeObject;
  assert.deepEqual(slice.endpoints[0]?.addresses, ['10.20.1.5']);
  assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'istiod');
  const wh = await c2.requestOk('GET', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector') as { webhooks: { clientConfig: { service: { path: string } } }[] };
  assert.equal(wh.webhooks[0]?.clientConfig.service.path, '/inject/cluster/cluster2/net/network2');

  // create-remote-secret on cluster2, applied to cluster1 with kubectl.
  const rs = ok(await isthmus(['create-remote-secret', '--kubeconfig', merged, '--context', 'cluster2', '--name', 'cluster2']), 'create-remote-secret');
  assert.ok(rs.stdout.startsWith('# This file is autogenerated, do not edit.\n'));
  assert.match(rs.stderr, /warning: the server address https:\/\/127\.0\.0\.1:\d+ is a loopback address/);
  ok(await kubectl(c1, ['apply', '-f', '-'], rs.stdout), 'kubectl apply remote secret');
  const tokenSecret = await c2.requestOk('GET', '/api/v1/namespaces/istio-system/secrets/istio-reader-service-account-istio-remote-secret-token') as { type: string };
  assert.equal(tokenSecret.type, 'kubernetes.io/service-account-token');
  const secret = await c1.requestOk('GET', '/api/v1/namespaces/istio-system/secrets/istio-remote-secret-cluster2') as KubeObject & { data: Record<string, string> };
  assert.equal(secret.metadata.labels?.['istio/multiCluster'], 'true');
  assert.equal(secret.metadata.annotations?.['networking.istio.io/cluster'], 'cluster2');
  const kubeconfig = Buffer.from(secret.data['cluster2'] ?? '', 'base64').toString('utf8');
  // The secret's kubeconfig authenticates against cluster2 as the reader and may list services.
  const reader = clientFromUntrustedKubeconfig(kubeconfig, 'secret istio-remote-secret-cluster2');
  const services = await reader.request<KubeList<KubeObject>>('GET', '/api/v1/services');
  assert.ok(services.items.some((s) => s.metadata.name === 'istiod' && s.metadata.namespace === 'istio-system'));
  // A second run reuses the service account and its token Secret.
  const again = ok(await isthmus(['create-remote-secret', '--kubeconfig', merged, '--context', 'cluster2', '--name', 'cluster2']), 'create-remote-secret again');
  assert.doesNotMatch(again.stderr, /creating/);

  // A real control plane started with the rendered mesh config and the rendered Deployment's
  // environment adds cluster2 from the applied secret.
  const cm = await c1.requestOk('GET', '/api/v1/namespaces/istio-system/configmaps/istio') as { data: Record<string, string> };
  assert.ok(cm.data['mesh'], 'the rendered mesh ConfigMap has a mesh key');
  const meshFile = file('mesh.yaml', cm.data['mesh'] ?? '');
  const renderedEnv = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value ?? '']));
  const disc = await DiscoveryProcess.start({
    kubeconfig: c1.kubeconfigPath, clusterId: renderedEnv['CLUSTER_ID'] ?? '',
    env: { EXTERNAL_ISTIOD: renderedEnv['EXTERNAL_ISTIOD'] ?? '', POD_NAMESPACE: 'istio-system', PILOT_REMOTE_CLUSTER_TIMEOUT: '10s' },
    args: ['--meshConfig', meshFile],
  });
  try {
    await disc.ready();
    const clusters = await disc.json<{ id: string; syncStatus: string; secretName: string; shouldLead?: boolean }[]>('/debug/clusterz');
    const remoteCluster = clusters.find((c) => c.id === 'cluster2');
    assert.equal(remoteCluster?.syncStatus, 'synced');
    assert.equal(remoteCluster.secretName, 'istio-system/istio-remote-secret-cluster2');
    assert.equal(remoteCluster.shouldLead, true, 'EXTERNAL_ISTIOD from the rendered Deployment, controlPlaneClusters on cluster2');
    const registry = await disc.json<{ hostname: string; clusterVIPs: Record<string, string[]> }[]>('/debug/registryz');
    const istiod = registry.find((r) => r.hostname === 'istiod.istio-system.svc.cluster.local');
    assert.ok(istiod && 'cluster1' in istiod.clusterVIPs && 'cluster2' in istiod.clusterVIPs, 'istiod\'s Service is known in both clusters');
  } finally {
    await disc.stop();
  }
});

test('re-install: unchanged objects are reported, objects no longer rendered are pruned', async () => {
  const args = ['-y', '--kubeconfig', merged, '--context', 'cluster1'];
  const same = ok(await isthmus(['install', ...args, '-f', file('cluster1.yaml', PRIMARY)]), 're-install');
  assert.match(same.stdout, /unchanged Deployment istio-system\/istiod/);
  assert.match(same.stdout, /0 created, 0 configured, \d+ unchanged, 0 pruned/);
  const minimal = ok(await isthmus(['install', ...args, '-f', file('cluster1.yaml', PRIMARY), '--set', 'profile=minimal', '--set', 'values.pilot.env.PILOT_TRACE_SAMPLING=10']), 're-install minimal');
  assert.match(minimal.stdout, /configured Deployment istio-system\/istiod/);
  assert.match(minimal.stdout, /pruned Deployment istio-system\/istio-ingressgateway/);
  assert.match(minimal.stdout, /pruned Service istio-system\/istio-ingressgateway/);
  assert.equal((await c1.request('GET', '/apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway')).status, 404);
  // The east-west gateway belongs to another IstioOperator and is left alone.
  await c1.requestOk('GET', '/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway');
});

test('errors: unknown field, bad value, missing context, unreachable cluster, no permission', async () => {
  const base = ['install', '-y', '--kubeconfig', merged, '--context', 'cluster2'];
  const named = (spec: string) => `apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: broken\nspec:\n${spec}`;
  const owned = async () => (await c2.requestOk('GET', `/api/v1/serviceaccounts?labelSelector=${encodeURIComponent('install.operator.istio.io/owning-resource=broken')}`) as KubeList<KubeObject>).items.length;

  const unknown = await isthmus([...base, '-f', '-'], named('  values:\n    global:\n      netwrok: network2\n'));
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /\[ISTHMUS_OPERATOR_INVALID\] invalid IstioOperator \(nothing was applied\):\n {2}stdin: spec\.values\.global\.netwrok: unknown field \(did you mean "network"\?\)/);

  const bad = await isthmus([...base, '-f', '-', '--set', 'values.global.istioNamespace=Istio_System'], named('  profile: minimal\n'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--set: spec\.values\.global\.istioNamespace: must be a DNS-1123 label/);
  assert.equal(await owned(), 0, 'nothing applied');

  const noCtx = await isthmus(['install', '-y', '--kubeconfig', merged, '--context', 'cluster9', '-f', '-'], named('  profile: minimal\n'));
  assert.equal(noCtx.code, 1);
  assert.match(noCtx.stderr, /\[ISTHMUS_KUBECONFIG\] .*no context named "cluster9"/);

  const port = await freePort();
  const closed = file('closed.kubeconfig', stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'gone',
    clusters: [{ name: 'gone', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'gone', user: { token: 'x' } }],
    contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'gone' } }],
  }));
  const down = await isthmus(['install', '-y', '--kubeconfig', closed, '-f', '-'], named('  profile: minimal\n'));
  assert.equal(down.code, 1);
  assert.match(down.stderr, /\[ISTHMUS_KUBE_UNREACHABLE\] connecting: cannot reach the API server of context "gone" \(https:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED/);
  const rsDown = await isthmus(['create-remote-secret', '--kubeconfig', closed, '--name', 'gone']);
  assert.equal(rsDown.code, 1);
  assert.match(rsDown.stderr, /ISTHMUS_KUBE_UNREACHABLE/);
  assert.equal(rsDown.stdout, '', 'no half-written secret on stdout');

  // A real token of a service account that has no RBAC at all.
  const token = await c2.mintToken('default', 'nobody');
  const weak = file('nobody.kubeconfig', stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'nobody',
    clusters: [{ name: 'c2', cluster: { server: c2.server, 'certificate-authority-data': Buffer.from(c2.creds.caCertPem).toString('base64') } }],
    users: [{ name: 'nobody', user: { token } }],
    contexts: [{ name: 'nobody', context: { cluster: 'c2', user: 'nobody' } }],
  }));
  const denied = await isthmus(['install', '-y', '--kubeconfig', weak, '-f', '-'], named('  profile: minimal\n'));
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /\[ISTHMUS_KUBE_FORBIDDEN\] the API server refused \d+ object\(s\) in a dry run; nothing was applied/);
  assert.match(denied.stderr, /permission denied for the user of context "nobody"/);
  assert.equal(await owned(), 0, 'nothing applied');
  const rsDenied = await isthmus(['create-remote-secret', '--kubeconfig', weak, '--name', 'cluster2']);
  assert.equal(rsDenied.code, 1);
  assert.match(rsDenied.stderr, /ISTHMUS_KUBE_FORBIDDEN/);
});

test('a failure part-way says exactly what was applied', async () => {
  // Admission that only bites on the second Service: a quota of one Service (its status written
  // by hand: the test bed runs no quota controller). Each object passes the dry run on its own.
  await c2.ensureNamespace('quota-ns');
  await c2.requestOk('POST', '/api/v1/namespaces/quota-ns/resourcequotas', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'one-service' }, spec: { hard: { services: '1' } } });
  await c2.requestOk('PUT', '/api/v1/namespaces/quota-ns/resourcequotas/one-service/status', {
    apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'one-service', namespace: 'quota-ns' }, spec: { hard: { services: '1' } }, status: { hard: { services: '1' }, used: { services: '0' } },
  });
  const iop = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
metadata:
  name: quota
spec:
  profile: empty
  components:
    ingressGateways:
      - name: gw-a
        namespace: quota-ns
        enabled: true
      - name: gw-b
        namespace: quota-ns
        enabled: true
`;
  const r = await isthmus(['install', '-y', '--kubeconfig', merged, '--context', 'cluster2', '-f', '-'], iop);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /\[ISTHMUS_APPLY_FAILED\] apply Service quota-ns\/gw-b: .*exceeded quota/);
  assert.match(r.stderr, /applied before the failure:\n {2}unchanged Namespace quota-ns\n {2}created ServiceAccount quota-ns\/gw-a-service-account\n {2}created ServiceAccount quota-ns\/gw-b-service-account\n {2}created Service quota-ns\/gw-a\n/);
  assert.doesNotMatch(r.stderr, /Deployment/);
});
