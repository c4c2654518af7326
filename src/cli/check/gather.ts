/**
 * Reads one cluster for `isthmus check`: every call of a cluster runs concurrently, each bounded by
 * the client's timeout; a cluster that cannot be read becomes `unreachable` (a finding), never a
 * crash. Remote secrets found in a cluster are probed with their own credentials.
 */
import { parse } from 'yaml';
import { KubeApiError, type KubeClient } from '../../kube/client.ts';
import { clientFromUntrustedKubeconfig } from '../../kube/multicluster/kubeconfig.ts';
import type { KubeList, KubeObject } from '../../kube/types.ts';
import { errorMessage } from '../../model/errors.ts';
import { unverifiedClaims } from '../../security/jwt-precheck.ts';
import type { ClusterFacts, EnvVar, GatewayServiceFacts, PodFacts, RemoteSecretKeyFacts, ServiceEndpointsFacts, WebhookFacts } from './types.ts';
import { INJECTOR_WEBHOOK_SUFFIX } from './rules-trust.ts';
import { isEastWestCandidate } from './rules-topology.ts';

interface Deployment extends KubeObject { spec?: { template?: { spec?: { containers?: { name: string; env?: EnvVar[] }[] } } } }
interface ConfigMap extends KubeObject { data?: Record<string, string> }
interface Secret extends KubeObject { data?: Record<string, string> }
type Namespace = KubeObject;
interface MutatingWebhookConfiguration extends KubeObject {
  webhooks?: { name: string; clientConfig?: { caBundle?: string; url?: string; service?: { path?: string } } }[];
}
interface Service extends KubeObject {
  spec?: { type?: string; ports?: { name?: string; port: number }[]; externalIPs?: string[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}
interface EndpointSlice extends KubeObject { endpoints?: { addresses?: string[]; targetRef?: { kind?: string; name?: string; namespace?: string } }[] }
interface Pod extends KubeObject { status?: { podIP?: string } }

/** The resources Istio's reader role must list and watch in a remote cluster (docs/istio-compat.md §5.4). */
export const READER_RESOURCES: readonly (readonly [group: string, resource: string])[] = [
  ['', 'services'], ['discovery.k8s.io', 'endpointslices'], ['', 'pods'], ['', 'namespaces'], ['', 'secrets'],
];

const b64 = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

/** 404 is an answer (absent); 403 is recorded in `forbidden` (what could not be checked). */
async function optional<T>(p: Promise<T>, what: string, forbidden: string[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) return undefined;
    if (err instanceof KubeApiError && err.status === 403) { forbidden.push(what); return undefined; }
    throw err;
  }
}

/** A list, page by page (500 items), so a large cluster does not need one huge answer within the timeout. */
async function listAll<T>(client: KubeClient, path: string): Promise<KubeList<T>> {
  const items: T[] = [];
  let cont = '';
  for (let page = 0; page < 1000; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const l = await client.request<KubeList<T>>('GET', `${path}${sep}limit=500${cont === '' ? '' : `&continue=${encodeURIComponent(cont)}`}`);
    items.push(...l.items);
    cont = l.metadata?.continue ?? '';
    if (cont === '') break;
  }
  return { items };
}

/** Probes one key of a remote secret: parse, token expiry, then SelfSubjectAccessReviews with its credentials. */
export async function probeSecretKey(secret: string, namespace: string, key: string, kubeconfig: string, timeoutMs: number): Promise<RemoteSecretKeyFacts> {
  const base = { secret, namespace, key };
  let client: KubeClient;
  try {
    client = clientFromUntrustedKubeconfig(kubeconfig, `secret ${namespace}/${secret} key ${key}`, { timeoutMs });
  } catch (err) {
    let server = '';
    try { server = ((parse(kubeconfig) as { clusters?: { cluster?: { server?: string } }[] } | null)?.clusters?.[0]?.cluster?.server) ?? ''; } catch { server = ''; }
    return { ...base, server, invalid: errorMessage(err), auth: 'skipped', denied: [] };
  }
  const token = client.access.user.token;
  const claims = token ? unverifiedClaims(token) : undefined;
  const tokenExp = claims !== undefined && typeof claims !== 'string' ? claims.exp : undefined;
  const checks = READER_RESOURCES.flatMap(([group, resource]) => (['list', 'watch'] as const).map((verb) => ({ group, resource, verb })));
  const results = await Promise.allSettled(checks.map((c) => client.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { group: c.group, resource: c.resource, verb: c.verb } },
  })));
  const withExp = tokenExp === undefined ? {} : { tokenExp };
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    const e: unknown = failed.reason;
    if (e instanceof KubeApiError && e.status === 401) return { ...base, server: client.server, ...withExp, auth: 'unauthorized', denied: [] };
    return { ...base, server: client.server, ...withExp, auth: 'unreachable', authError: errorMessage(e), denied: [] };
  }
  const denied = checks.filter((_, i) => {
    const r = results[i];
    return r?.status === 'fulfilled' && r.value.status?.allowed !== true;
  }).map((c) => `${c.verb} ${c.group === '' ? c.resource : `${c.resource}.${c.group}`}`);
  return { ...base, server: client.server, ...withExp, auth: 'ok', denied };
}

function gateway(s: Service): GatewayServiceFacts {
  const addrs = [
    ...(s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '').filter(Boolean),
    ...(s.spec?.externalIPs ?? []),
  ];
  return {
    namespace: s.metadata.namespace ?? '', name: s.metadata.name, labels: s.metadata.labels ?? {},
    type: s.spec?.type ?? 'ClusterIP', ports: (s.spec?.ports ?? []).map((p) => ({ port: p.port, ...(p.name === undefined ? {} : { name: p.name }) })), addresses: addrs,
  };
}

function injectorClusterName(cm: ConfigMap | undefined): string | undefined {
  const values = cm?.data?.['values'];
  if (values === undefined) return undefined;
  try {
    const v = parse(values) as { global?: { multiCluster?: { clusterName?: unknown } } } | null;
    const n = v?.global?.multiCluster?.clusterName;
    return typeof n === 'string' ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface GatherOptions {
  readonly systemNamespace: string;
  /** Per-call timeout for remote-secret probes. */
  readonly probeTimeoutMs: number;
}

export async function gatherCluster(context: string, client: KubeClient, o: GatherOptions): Promise<ClusterFacts> {
  const ns = o.systemNamespace;
  const empty = { context, server: client.server, systemNamespace: ns, webhooks: [], gateways: [], rootCerts: [], remoteSecrets: [], services: [], pods: [] };
  try {
    const get = <T>(path: string) => client.request<T>('GET', path);
    const forbidden: string[] = [];
    const [istioSystem, istiod, injector, mwcs, services, slices, pods, roots, cacerts, selfSigned, secrets] = await Promise.all([
      optional(get<Namespace>(`/api/v1/namespaces/${ns}`), `get namespace ${ns}`, forbidden),
      optional(get<Deployment>(`/apis/apps/v1/namespaces/${ns}/deployments/istiod`), `get deployments in ${ns}`, forbidden),
      optional(get<ConfigMap>(`/api/v1/namespaces/${ns}/configmaps/istio-sidecar-injector`), `get configmaps in ${ns}`, forbidden),
      optional(listAll<MutatingWebhookConfiguration>(client, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'), 'list mutatingwebhookconfigurations', forbidden),
      optional(listAll<Service>(client, '/api/v1/services'), 'list services', forbidden),
      optional(listAll<EndpointSlice>(client, '/apis/discovery.k8s.io/v1/endpointslices'), 'list endpointslices', forbidden),
      optional(listAll<Pod>(client, '/api/v1/pods'), 'list pods', forbidden),
      optional(listAll<ConfigMap>(client, '/api/v1/configmaps?fieldSelector=metadata.name%3Distio-ca-root-cert'), 'list configmaps', forbidden),
      optional(get<Secret>(`/api/v1/namespaces/${ns}/secrets/cacerts`), `get secrets in ${ns}`, forbidden),
      optional(get<Secret>(`/api/v1/namespaces/${ns}/secrets/istio-ca-secret`), `get secrets in ${ns}`, forbidden),
      optional(listAll<Secret>(client, `/api/v1/namespaces/${ns}/secrets?labelSelector=${encodeURIComponent('istio/multiCluster=true')}`), `list secrets in ${ns}`, forbidden),
    ]);
    const container = istiod?.spec?.template?.spec?.containers?.find((c) => c.name === 'discovery') ?? istiod?.spec?.template?.spec?.containers?.[0];
    const webhooks: WebhookFacts[] = [];
    for (const m of mwcs?.items ?? []) {
      (m.webhooks ?? []).forEach((w, index) => {
        if (!w.name.endsWith(INJECTOR_WEBHOOK_SUFFIX)) return;
        const rev = m.metadata.labels?.['istio.io/rev'];
        webhooks.push({
          config: m.metadata.name, webhook: w.name, index, caBundle: w.clientConfig?.caBundle ?? '',
          ...(rev === undefined ? {} : { revision: rev }),
          ...(w.clientConfig?.service?.path === undefined ? {} : { path: w.clientConfig.service.path }),
          ...(w.clientConfig?.url === undefined ? {} : { url: w.clientConfig.url }),
        });
      });
    }
    const bySvc = new Map<string, ServiceEndpointsFacts & { endpoints: { address: string; pod?: string }[] }>();
    for (const s of services?.items ?? []) bySvc.set(`${s.metadata.namespace ?? ''}/${s.metadata.name}`, { namespace: s.metadata.namespace ?? '', name: s.metadata.name, endpoints: [] });
    for (const sl of slices?.items ?? []) {
      const svc = bySvc.get(`${sl.metadata.namespace ?? ''}/${sl.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`);
      if (!svc) continue;
      for (const e of sl.endpoints ?? []) {
        const ref = e.targetRef;
        const pod = ref?.kind === 'Pod' && ref.name ? `${ref.namespace ?? sl.metadata.namespace ?? ''}/${ref.name}` : undefined;
        for (const a of e.addresses ?? []) svc.endpoints.push(pod === undefined ? { address: a } : { address: a, pod });
      }
    }
    const podFacts: PodFacts[] = (pods?.items ?? []).map((p) => ({
      namespace: p.metadata.namespace ?? '', name: p.metadata.name, labels: p.metadata.labels ?? {}, ...(p.status?.podIP ? { ip: p.status.podIP } : {}),
    }));
    const cacertsRoot = b64(cacerts?.data?.['root-cert.pem']);
    const selfRoot = b64(selfSigned?.data?.['ca-cert.pem']);
    const caRoot = cacertsRoot !== '' ? { secret: 'cacerts', pem: cacertsRoot } : selfRoot !== '' ? { secret: 'istio-ca-secret', pem: selfRoot } : undefined;
    const probes = (secrets?.items ?? []).flatMap((s) => Object.entries(s.data ?? {}).map(([key, v]) => probeSecretKey(s.metadata.name, s.metadata.namespace ?? ns, key, b64(v), o.probeTimeoutMs)));
    const name = injectorClusterName(injector);
    return {
      ...empty,
      ...(istioSystem ? { istioSystem: { labels: istioSystem.metadata.labels ?? {}, annotations: istioSystem.metadata.annotations ?? {} } } : {}),
      ...(container ? { istiodEnv: container.env ?? [] } : {}),
      ...(name === undefined ? {} : { injectorClusterName: name }),
      webhooks,
      gateways: (services?.items ?? []).map(gateway).filter(isEastWestCandidate),
      rootCerts: (roots?.items ?? []).filter((c) => c.data?.['root-cert.pem'] !== undefined).map((c) => ({ namespace: c.metadata.namespace ?? '', pem: c.data?.['root-cert.pem'] ?? '' })),
      ...(caRoot ? { caRoot } : {}),
      remoteSecrets: await Promise.all(probes),
      services: [...bySvc.values()],
      pods: podFacts,
      ...(forbidden.length > 0 ? { forbidden: [...new Set(forbidden)] } : {}),
    };
  } catch (err) {
    return { ...empty, unreachable: errorMessage(err) };
  }
}
