/**
 * The remote-cluster side of `create-remote-secret`: make sure the reader service account and its
 * RBAC exist (docs/istio-compat.md §5.3-§5.4), find or create a long-lived token Secret for it, wait until the token
 * controller has filled in `token` and `ca.crt`, and build the Secret to apply on the primary.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeList } from '../kube/types.ts';
import { applyAll, type Change } from './apply.ts';
import { resolve } from './effective.ts';
import { dnsLabel } from './iop-schema.ts';
import { checkReachable, explainKubeError } from './kube-errors.ts';
import { readerServiceAccount } from './render/base.ts';
import { readerRbac } from './render/rbac.ts';
import type { Manifest } from './render/types.ts';
import { remoteSecretYaml, type RemoteSecretType } from './remote-secret-render.ts';
import { silentLogger, type Logger } from '../observability/log.ts';

export interface RemoteSecretOptions {
  readonly client: KubeClient;
  readonly type: RemoteSecretType;
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly serviceAccount?: string | undefined;
  readonly createServiceAccount: boolean;
  readonly server?: string | undefined;
  readonly tlsServerName?: string | undefined;
  readonly secretName?: string | undefined;
  readonly tokenTimeoutMs?: number;
  /** Progress: what is being created. */
  readonly log?: Logger;
}

export interface RemoteSecretResult {
  readonly yaml: string;
  readonly clusterName: string;
  readonly server: string;
  readonly applied: readonly Change[];
}

interface TokenSecret {
  metadata: { name: string; annotations?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

const SA_TOKEN = 'kubernetes.io/service-account-token';

/** The reader service account and RBAC, rendered from the same templates as the install. */
export function readerObjects(namespace: string, sa: string): Manifest[] {
  const e = resolve({ name: 'remote-secret', profile: 'default', spec: { values: { global: { istioNamespace: namespace } } } });
  return [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }, readerServiceAccount(e, sa), ...readerRbac(e, sa)];
}

async function findTokenSecret(client: KubeClient, ns: string, sa: string, wanted: string | undefined): Promise<TokenSecret | undefined> {
  const base = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets`;
  if (wanted !== undefined) {
    const s = await client.getOptional<TokenSecret>(`${base}/${encodeURIComponent(wanted)}`);
    if (s === undefined) throw new IsthmusError(ErrorCodes.Usage, `--secret-name ${wanted}: no such Secret in namespace ${ns}`);
    if (s.type !== SA_TOKEN || s.metadata.annotations?.['kubernetes.io/service-account.name'] !== sa) {
      throw new IsthmusError(ErrorCodes.Usage, `--secret-name ${wanted}: not a ${SA_TOKEN} Secret of service account ${sa}`);
    }
    return s;
  }
  const list = await client.request<KubeList<TokenSecret>>('GET', `${base}?fieldSelector=${encodeURIComponent(`type=${SA_TOKEN}`)}`);
  const own = list.items.filter((s) => s.metadata.annotations?.['kubernetes.io/service-account.name'] === sa)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return own.find((s) => s.metadata.name === `${sa}-istio-remote-secret-token`) ?? own[0];
}

async function waitToken(client: KubeClient, ns: string, name: string, timeoutMs: number): Promise<{ token: string; caData: string }> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await client.getOptional<TokenSecret>(path);
    const token = s?.data?.['token'];
    const ca = s?.data?.['ca.crt'];
    if (token !== undefined && token !== '' && ca !== undefined && ca !== '') return { token: Buffer.from(token, 'base64').toString('utf8'), caData: ca };
    if (Date.now() >= deadline) {
      throw new IsthmusError(ErrorCodes.WaitTimeout, `Secret ${ns}/${name}: token and ca.crt not populated after ${timeoutMs} ms (is the service-account token controller of kube-controller-manager running?)`);
    }
    await sleep(250);
  }
}

export async function createRemoteSecret(o: RemoteSecretOptions): Promise<RemoteSecretResult> {
  const { client } = o;
  const log = o.log ?? silentLogger;
  const namespace = o.namespace ?? client.contextNamespace ?? 'istio-system';
  const sa = o.serviceAccount ?? (o.type === 'config' ? 'istiod' : 'istio-reader-service-account');
  await checkReachable(client);
  let clusterName = o.name;
  try {
    if (clusterName === undefined) {
      const ks = await client.request<{ metadata: { uid: string } }>('GET', '/api/v1/namespaces/kube-system');
      clusterName = ks.metadata.uid;
    }
  } catch (err) {
    throw explainKubeError(err, client, 'read namespace kube-system (to name the cluster)');
  }
  const bad = dnsLabel(clusterName);
  if (bad !== undefined) throw new IsthmusError(ErrorCodes.Usage, `--name ${bad}`);

  let applied: readonly Change[] = [];
  try {
    const existing = await client.getOptional(`/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(sa)}`);
    if (existing === undefined) {
      if (!o.createServiceAccount) throw new IsthmusError(ErrorCodes.Usage, `service account ${namespace}/${sa} does not exist and --create-service-account=false`);
      log.info(`creating service account ${namespace}/${sa} and its reader RBAC`);
      applied = (await applyAll(readerObjects(namespace, sa), { client, log })).changes;
    }
    let secret = await findTokenSecret(client, namespace, sa, o.secretName);
    if (secret === undefined) {
      const name = `${sa}-istio-remote-secret-token`;
      log.info(`creating token Secret ${namespace}/${name}`);
      await client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, {
        apiVersion: 'v1', kind: 'Secret', type: SA_TOKEN,
        metadata: { name, annotations: { 'kubernetes.io/service-account.name': sa } },
      });
      secret = { metadata: { name } };
    }
    const { token, caData } = await waitToken(client, namespace, secret.metadata.name, o.tokenTimeoutMs ?? 10_000);
    const server = o.server ?? client.server;
    const yaml = remoteSecretYaml({ type: o.type, clusterName, namespace, server, caData, token, tlsServerName: o.tlsServerName });
    return { yaml, clusterName, server, applied };
  } catch (err) {
    throw explainKubeError(err, client, 'create-remote-secret');
  }
}
