/**
 * `isthmus install` for real, on a test-bed cluster with a real node: the guide's primary, installed
 * with `values.global.hub=localhost` and the project's version as tag, leaves a Running, Ready
 * control-plane pod of the locally built `isthmus` image (in-cluster API access, RBAC, readiness on
 * 8080). A namespace labelled `istio-injection=enabled` gets its pods injected by that pod's webhook
 * (the API server dials the webhook's endpoint), the injected sidecars get certificates from the
 * pod's CA and config over delta xDS and become Ready, and sleep -> helloworld answers through both
 * sidecars (mutual TLS on the server's inbound listener). Deleting the control-plane pod shows that
 * `isthmus discovery` as PID 1 exits on SIGTERM. Prints the times it measures.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ISTHMUS_IMAGE, PROXY_IMAGE } from '../../src/testing/testbed/images.ts';
import { helloworldDeployment, helloworldService, sleepObjects } from '../../src/testing/testbed/samples.ts';
import { Testbed, type TestbedCluster } from '../../src/testing/testbed/testbed.ts';
import { until } from '../../src/testing/wait.ts';
import { VERSION } from '../../src/version.ts';

const root = new URL('../../', import.meta.url).pathname;
// A short directory: containerd's socket path must fit a unix socket address.
const dir = mkdtempSync('/tmp/itb-');
let bed: Testbed | undefined;

after(async () => {
  await bed?.down();
  rmSync(dir, { recursive: true, force: true });
});

const exec = promisify(execFile);

async function kubectl(c: TestbedCluster, args: readonly string[]): Promise<string> {
  const { stdout } = await exec('kubectl', [`--kubeconfig=${c.kubeconfigPath}`, ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}

interface Pod {
  metadata: { name: string; creationTimestamp: string; annotations?: Record<string, string> };
  spec: { containers: { name: string; image: string }[]; initContainers?: { name: string; image: string }[] };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: { name: string; ready: boolean; image: string; restartCount: number; state?: Record<string, { reason?: string; message?: string }> }[];
  };
}

/** The one pod matching `selector` in `ns` once it is Ready (fails fast on a crash loop or image error). */
async function readyPod(c: TestbedCluster, ns: string, selector: string, timeoutMs: number): Promise<Pod> {
  return until(`a Ready pod ${selector} in ${ns}`, async () => {
    const list = await c.requestOk('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`) as { items: Pod[] };
    for (const p of list.items) {
      for (const s of p.status?.containerStatuses ?? []) {
        const reason = s.state?.['waiting']?.reason ?? '';
        if (/ErrImage|ImagePull|InvalidImage|CrashLoopBackOff/.test(reason)) {
          const logs = await kubectl(c, ['logs', '-n', ns, p.metadata.name, '-c', s.name, '--previous', '--tail=15']).catch((err: unknown) => String(err));
          throw new Error(`pod ${p.metadata.name} container ${s.name}: ${reason} ${s.state?.['waiting']?.message ?? ''}\n${logs}`);
        }
      }
    }
    return list.items.find((p) => p.status?.phase === 'Running' && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
  }, { timeoutMs, intervalMs: 250 });
}

function readySeconds(p: Pod): number {
  const ready = p.status?.conditions?.find((x) => x.type === 'Ready')?.lastTransitionTime ?? '';
  return (Date.parse(ready) - Date.parse(p.metadata.creationTimestamp)) / 1000;
}

/** A counter from `pilot-agent request GET stats` in a pod's istio-proxy container (0 when absent). */
async function proxyStat(c: TestbedCluster, ns: string, pod: string, name: string): Promise<number> {
  const out = await kubectl(c, ['exec', '-n', ns, pod, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'stats']);
  const line = out.split('\n').find((l) => l.startsWith(`${name}: `));
  return line === undefined ? 0 : Number(line.slice(name.length + 2));
}

async function clusterHostStat(c: TestbedCluster, ns: string, pod: string, cluster: string, stat: string): Promise<number> {
  const out = await kubectl(c, ['exec', '-n', ns, pod, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'clusters']);
  // Lines are `<cluster>::<host>:<port>::<stat>::<value>`, one per endpoint.
  return out.split('\n').filter((l) => l.startsWith(`${cluster}::`) && l.includes(`::${stat}::`))
    .reduce((sum, l) => sum + Number(l.split('::').pop()), 0);
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
`;

test('isthmus install runs the control plane as a pod of the local image; its webhook injects sidecars that get certificates and config and carry sleep -> helloworld', { timeout: 900_000 }, async (t) => {
  const t0 = Date.now();
  bed = await Testbed.up({ dir, clusters: ['cluster1'], nodes: true, log: (l) => { t.diagnostic(l); } });
  const c = bed.cluster('cluster1');
  console.log(`install-nodes: test bed with a Ready node and the images imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The guide's primary, with the test bed's images.
  const operator = join(dir, 'primary.yaml');
  writeFileSync(operator, PRIMARY);
  const t1 = Date.now();
  const { stdout } = await exec(process.execPath, [join(root, 'bin/isthmus.mjs'), 'install', '--kubeconfig', c.kubeconfigPath, '-f', operator,
    '--set', 'values.global.hub=localhost', '--set', `values.global.tag=${VERSION}`, '-y'], { cwd: root, timeout: 120_000 });
  assert.match(stdout, /created Deployment istio-system\/istiod/);
  const istiod = await readyPod(c, 'istio-system', 'app=istiod', 240_000);
  const cpReadyS = (Date.now() - t1) / 1000;
  console.log(`install-nodes: control-plane pod ${istiod.metadata.name} Ready ${cpReadyS.toFixed(1)} s after install started (${readySeconds(istiod).toFixed(1)} s after the pod was created)`);
  const discovery = istiod.spec.containers.find((x) => x.name === 'discovery');
  assert.equal(discovery?.image, ISTHMUS_IMAGE, 'the control plane runs the locally built image');
  const status = istiod.status?.containerStatuses?.find((s) => s.name === 'discovery');
  assert.equal(status?.ready, true);
  assert.equal(status.restartCount, 0, 'the control plane did not crash on its way to Ready');
  const logs = await kubectl(c, ['logs', '-n', 'istio-system', istiod.metadata.name]);
  assert.match(logs, /control plane listening/);
  assert.match(logs, /patched caBundle webhook=mutatingwebhookconfigurations\/istio-sidecar-injector/);

  // Injection by the pod's webhook, then real sidecars.
  await c.requestOk('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sample', labels: { 'istio-injection': 'enabled' } } });
  // Istio's bootstrap keeps only a few stats; these prefixes add the inbound listener's TLS counters.
  const stats = { 'sidecar.istio.io/statsInclusionPrefixes': 'listener.0.0.0.0_15006,cluster.inbound' };
  const t2 = Date.now();
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', helloworldService('sample'));
  await c.requestOk('POST', '/apis/apps/v1/namespaces/sample/deployments', helloworldDeployment('sample', 'v1', stats));
  const [sa, sleepDeploy] = sleepObjects('sample');
  await c.requestOk('POST', '/api/v1/namespaces/sample/serviceaccounts', sa);
  await c.requestOk('POST', '/apis/apps/v1/namespaces/sample/deployments', sleepDeploy);
  const hello = await readyPod(c, 'sample', 'app=helloworld', 240_000);
  const sleep = await readyPod(c, 'sample', 'app=sleep', 240_000);
  console.log(`install-nodes: injected pods Ready ${((Date.now() - t2) / 1000).toFixed(1)} s after their Deployments were created ` +
    `(helloworld ${readySeconds(hello).toFixed(1)} s, sleep ${readySeconds(sleep).toFixed(1)} s after pod creation)`);
  for (const p of [hello, sleep]) {
    const names = p.spec.containers.map((x) => x.name);
    assert.ok(names.includes('istio-proxy'), `${p.metadata.name} was injected with istio-proxy (containers: ${names.join(', ')})`);
    assert.equal(p.spec.containers.find((x) => x.name === 'istio-proxy')?.image, `localhost/proxyv2:${VERSION}`);
    assert.ok(p.spec.initContainers?.some((x) => x.name === 'istio-init'), `${p.metadata.name} has istio-init`);
    assert.equal(p.metadata.annotations?.['sidecar.istio.io/status'] !== undefined, true, 'the injector marked the pod');
    assert.ok(p.status?.containerStatuses?.every((s) => s.ready), `every container of ${p.metadata.name} is Ready`);
  }
  t.diagnostic(`proxy image ${PROXY_IMAGE} is also tagged localhost/proxyv2:${VERSION}`);

  // The sidecars' config came over delta xDS (pilot-agent's default), their certificates from the
  // control plane's CA (its root in istio-ca-secret) with the workload's SPIFFE identity.
  const cpLogs = await kubectl(c, ['logs', '-n', 'istio-system', istiod.metadata.name]);
  const secret = await c.requestOk('GET', '/api/v1/namespaces/istio-system/secrets/istio-ca-secret') as { data: Record<string, string> };
  const caRoot = new X509Certificate(Buffer.from(secret.data['ca-cert.pem'] ?? '', 'base64'));
  const hex = (x: string) => x.toLowerCase().replace(/^0+/, '');
  for (const [p, sa] of [[hello, 'default'], [sleep, 'sleep']] as const) {
    assert.match(cpLogs, new RegExp(`ADS \\(delta\\): new connection conId=sidecar~[0-9.]+~${p.metadata.name}\\.sample~`), `${p.metadata.name} connected over delta xDS`);
    const proxyLogs = await kubectl(c, ['logs', '-n', 'sample', p.metadata.name, '-c', 'istio-proxy']);
    assert.doesNotMatch(proxyLogs, /UNIMPLEMENTED/);
    // pilot-agent logs a line or two before the admin answer.
    const certsOut = await kubectl(c, ['exec', '-n', 'sample', p.metadata.name, '-c', 'istio-proxy', '--', 'pilot-agent', 'request', 'GET', 'certs']);
    const certs = JSON.parse(certsOut.slice(certsOut.indexOf('{'))) as
      { certificates: { ca_cert?: { serial_number: string }[]; cert_chain?: { subject_alt_names?: { uri?: string }[] }[] }[] };
    const uris = certs.certificates.flatMap((x) => x.cert_chain ?? []).flatMap((x) => x.subject_alt_names ?? []).map((x) => x.uri);
    assert.ok(uris.includes(`spiffe://cluster.local/ns/sample/sa/${sa}`), `${p.metadata.name}'s certificate names its identity (got ${uris.join(', ')})`);
    const roots = certs.certificates.flatMap((x) => x.ca_cert ?? []).map((x) => hex(x.serial_number));
    assert.ok(roots.includes(hex(caRoot.serialNumber)), `${p.metadata.name} trusts the control plane's root ${caRoot.serialNumber} (got ${roots.join(', ')})`);
  }

  // sleep -> helloworld through both sidecars.
  const answers: string[] = [];
  const t3 = Date.now();
  await until('helloworld answering sleep', async () => {
    try {
      answers.push((await kubectl(c, ['exec', '-n', 'sample', sleep.metadata.name, '-c', 'sleep', '--', 'curl', '-sS', '-m', '5', 'http://helloworld.sample:5000/hello'])).trim());
      return answers.length >= 3 ? true : undefined;
    } catch {
      return undefined;
    }
  }, { timeoutMs: 60_000, intervalMs: 500 });
  console.log(`install-nodes: sleep -> helloworld answered ${answers.length} times in ${((Date.now() - t3) / 1000).toFixed(1)} s: ${answers[0] ?? ''}`);
  for (const a of answers) assert.equal(a, `Hello version: v1, instance: ${hello.metadata.name}`);
  const outbound = await clusterHostStat(c, 'sample', sleep.metadata.name, 'outbound|5000||helloworld.sample.svc.cluster.local', 'rq_success');
  const handshakes = await proxyStat(c, 'sample', hello.metadata.name, 'listener.0.0.0.0_15006.ssl.handshake');
  console.log(`install-nodes: sleep's sidecar sent ${outbound} requests to helloworld; helloworld's sidecar accepted ${handshakes} mutual-TLS connections`);
  assert.ok(outbound >= answers.length, `sleep's sidecar carried the requests (outbound rq_success ${outbound})`);
  assert.ok(handshakes >= 1, `helloworld's sidecar terminated TLS on its inbound listener (ssl.handshake ${handshakes})`);

  // isthmus discovery is PID 1 of its container: SIGTERM must end it well before the 30 s grace period.
  const t4 = Date.now();
  await kubectl(c, ['delete', 'pod', '-n', 'istio-system', istiod.metadata.name, '--wait=true', '--timeout=60s']);
  const goneS = (Date.now() - t4) / 1000;
  console.log(`install-nodes: control-plane pod deleted in ${goneS.toFixed(1)} s (SIGTERM to isthmus discovery as PID 1)`);
  assert.ok(goneS < 20, `the control plane exited on SIGTERM (took ${goneS.toFixed(1)} s; 30 s means it ignored it)`);
  const again = await readyPod(c, 'istio-system', 'app=istiod', 240_000);
  assert.notEqual(again.metadata.name, istiod.metadata.name, 'the Deployment replaced the pod with a new Ready one');
});
