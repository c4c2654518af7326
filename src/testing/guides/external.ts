/**
 * Guide 2, "external control plane", on two test-bed clusters with real nodes: the `external` cluster
 * runs two control-plane replicas in namespace `external-istiod` (profile `empty` with the pilot
 * component, EXTERNAL_ISTIOD and LOCAL_CLUSTER_SECRET_WATCHER) that read the `remote` cluster (the
 * config cluster) through a `create-remote-secret --type=config` kubeconfig; the `remote` cluster has
 * the `remote` profile with `configCluster=true` and runs the workloads; `isthmus xds-proxy` runs
 * beside the replicas (manifests/xds-proxy.yaml) for proxy-status.
 *
 * Where this differs from Istio's guide: the control plane is exposed by a LoadBalancer Service
 * (15012, 15017) rather than an ingress gateway terminating TLS with a public certificate (the
 * external cluster is not part of the mesh, and the test bed has no public CA); the remote's
 * webhook therefore names the `istiod` Service (`injectionPath`), whose endpoint is that address,
 * and the control plane patches its caBundle. `create-remote-secret --server` names the address the
 * external cluster reaches the config cluster's API server at.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { VERSION } from '../../version.ts';
import { IMAGE_HUB, ISTHMUS_IMAGE } from '../testbed/images.ts';
import { helloworldDeployment, helloworldService, sleepObjects } from '../testbed/samples.ts';
import type { Testbed } from '../testbed/testbed.ts';
import { rollout, waitFor } from './multinetwork.ts';
import type { Shell } from './shell.ts';

export const EXTERNAL = 'external';
export const REMOTE = 'remote';
export const CP_NAMESPACE = 'external-istiod';
const IMAGES = ['--set', `values.global.hub=${IMAGE_HUB}`, '--set', `values.global.tag=${VERSION}`];
const XDS_PROXY_MANIFEST = fileURLToPath(new URL('../../../manifests/xds-proxy.yaml', import.meta.url));

const controlPlaneService = {
  apiVersion: 'v1', kind: 'Service', metadata: { name: 'istiod-external', namespace: CP_NAMESPACE, labels: { app: 'istiod' } },
  spec: {
    type: 'LoadBalancer', selector: { app: 'istiod' },
    ports: [{ name: 'tls-istiod', port: 15012, targetPort: 15012 }, { name: 'tls-webhook', port: 15017, targetPort: 15017 }],
  },
};

const remoteIop = (address: string): string => `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: remote
  values:
    global:
      istioNamespace: ${CP_NAMESPACE}
      configCluster: true
      remotePilotAddress: ${address}
      meshID: mesh1
      multiCluster:
        clusterName: ${REMOTE}
      network: network2
    istiodRemote:
      injectionPath: /inject/cluster/${REMOTE}/net/network2
`;

const externalIop = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: empty
  components:
    pilot:
      enabled: true
      k8s:
        replicaCount: 2
  values:
    global:
      istioNamespace: ${CP_NAMESPACE}
      meshID: mesh1
      multiCluster:
        clusterName: ${REMOTE}
      network: network2
    pilot:
      env:
        EXTERNAL_ISTIOD: true
        LOCAL_CLUSTER_SECRET_WATCHER: true
`;

/** The guide's variables for proxy-status through the aggregating proxy forwarded to localhost:9090. */
export const PROXY_STATUS_ENV = { ISTIOCTL_XDS_ADDRESS: 'localhost:9090', ISTIOCTL_ISTIONAMESPACE: CP_NAMESPACE, ISTIOCTL_PREFER_EXPERIMENTAL: 'true' };

/** `kubectl port-forward svc/xds-proxy 9090` in the external cluster, once kubectl says it forwards. */
export async function forwardXdsProxy(sh: Shell): Promise<ChildProcessWithoutNullStreams> {
  const forward = sh.start('kubectl', ['--context', EXTERNAL, 'port-forward', '-n', CP_NAMESPACE, 'svc/xds-proxy', '9090:9090']);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('kubectl port-forward did not start within 30 s')); }, 30_000);
      forward.stdout.on('data', (d: Buffer) => { if (d.toString().includes('Forwarding')) { clearTimeout(timer); resolve(); } });
    });
  } catch (err) {
    forward.kill('SIGTERM');
    throw err;
  }
  return forward;
}

export interface ExternalMesh {
  /** Where the remote cluster reaches the control plane (the LoadBalancer address). */
  readonly controlPlaneAddress: string;
}

/** Guide 2's installation, step by step. */
export async function installExternal(bed: Testbed, sh: Shell, dir: string): Promise<ExternalMesh> {
  const remoteServer = bed.cluster(REMOTE).publicServer;
  if (remoteServer === undefined) throw new Error('guide 2 needs a test bed with nodes (the remote cluster has no public API server address)');
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  sh.note('# external cluster: a namespace for the control plane, and its address for the remote cluster');
  await sh.run('kubectl', ['--context', EXTERNAL, 'create', 'namespace', CP_NAMESPACE]);
  await sh.run('kubectl', ['--context', EXTERNAL, 'apply', '-f', file('istiod-external-service.yaml', stringify(controlPlaneService))]);
  sh.note(`$ kubectl --context ${EXTERNAL} get svc istiod-external -n ${CP_NAMESPACE}   # until it has an EXTERNAL-IP`);
  const address = await waitFor('the control plane\'s external address', async () => {
    const out = (await sh.run('kubectl', ['--context', EXTERNAL, 'get', 'svc', 'istiod-external', '-n', CP_NAMESPACE, '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}'], { quiet: true })).trim();
    return out === '' ? undefined : out;
  }, 120_000);
  sh.note(`  istiod-external EXTERNAL-IP ${address}   # EXTERNAL_ISTIOD_ADDR`);

  sh.note('# remote cluster: the config cluster, remote profile pointing at the external control plane');
  await sh.run('kubectl', ['--context', REMOTE, 'create', 'namespace', CP_NAMESPACE]);
  await sh.run('kubectl', ['--context', REMOTE, 'label', 'namespace', CP_NAMESPACE, 'topology.istio.io/network=network2']);
  await sh.run('isthmus', ['install', '--context', REMOTE, '-y', '-f', file('remote-config-cluster.yaml', remoteIop(address)), ...IMAGES]);

  sh.note('# external cluster: the config cluster\'s kubeconfig for the control plane, then the control plane');
  await sh.pipe(['isthmus', ['create-remote-secret', '--context', REMOTE, '--type', 'config', '--namespace', CP_NAMESPACE,
    '--service-account', 'istiod', '--create-service-account', 'false', '--name', REMOTE, '--server', remoteServer]],
  ['kubectl', ['--context', EXTERNAL, 'apply', '-f', '-']]);
  await sh.run('isthmus', ['install', '--context', EXTERNAL, '-y', '-f', file('external-istiod.yaml', externalIop), ...IMAGES]);
  await rollout(sh, EXTERNAL, CP_NAMESPACE, 'istiod');

  sh.note('# external cluster: the aggregating xDS proxy beside the replicas');
  const manifest = readFileSync(XDS_PROXY_MANIFEST, 'utf8').replaceAll('namespace: istio-system', `namespace: ${CP_NAMESPACE}`).replace('image: isthmus:latest', `image: ${ISTHMUS_IMAGE}\n          imagePullPolicy: Never`);
  sh.note(`$ sed -e 's/namespace: istio-system/namespace: ${CP_NAMESPACE}/' -e 's#isthmus:latest#${ISTHMUS_IMAGE}#' manifests/xds-proxy.yaml > xds-proxy.yaml`);
  await sh.run('kubectl', ['--context', EXTERNAL, 'apply', '-f', file('xds-proxy.yaml', manifest)]);
  await rollout(sh, EXTERNAL, CP_NAMESPACE, 'xds-proxy');
  return { controlPlaneAddress: address };
}

/** helloworld v1 and v2 and sleep in the remote cluster's `sample` namespace, injected. */
export async function deployRemoteSamples(sh: Shell, dir: string): Promise<void> {
  const path = join(dir, 'samples-remote.yaml');
  writeFileSync(path, [helloworldService('sample'), helloworldDeployment('sample', 'v1'), helloworldDeployment('sample', 'v2'), ...sleepObjects('sample')]
    .map((o) => stringify(o)).join('---\n'));
  sh.note(`# ${REMOTE}: namespace sample with injection, helloworld v1 and v2, sleep`);
  await sh.run('kubectl', ['--context', REMOTE, 'create', 'namespace', 'sample']);
  await sh.run('kubectl', ['--context', REMOTE, 'label', 'namespace', 'sample', 'istio-injection=enabled']);
  await sh.run('kubectl', ['--context', REMOTE, 'apply', '-n', 'sample', '-f', path]);
  for (const d of ['helloworld-v1', 'helloworld-v2', 'sleep']) await rollout(sh, REMOTE, 'sample', d);
}
