/**
 * Injecting one pod: the variables a template sees (computed from the pod, the values and the
 * webhook path), rendering the pod's templates, merging them into the pod, and the JSONPatch from
 * the old pod to the new. Pure.
 *
 * Merge rules (docs/injection.md): the template is the base and the pod's own fields win, so a pod can
 * override what a template sets; containers, init containers and volumes merge by name, env and
 * volumeMounts by name, ports by containerPort. Template init containers go first, new containers
 * last. A template container named `*` is merged into every application container. An `image: auto`
 * left after merging becomes the proxy image.
 */
import { LABEL_TOPOLOGY_NETWORK } from '../model/labels.ts';
import type { InjectorConfig, InjectValues } from './types.ts';
import type { InjectPath } from './path.ts';
import { ANNOTATION_STATUS, PROXY_CONTAINER } from './selection.ts';
import { PROBERS_ENV, rewriteProbes } from './probes.ts';
import { renderTemplate, type TemplateValue, type Variables } from './template.ts';

export type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const objOf = (v: unknown): Obj => (isObj(v) ? v : {});
const listOf = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(objOf(v)).filter(([, x]) => typeof x === 'string')) as Record<string, string>;

export interface PodContext {
  readonly namespace: string;
  readonly path: InjectPath;
  /** `topology.istio.io/network` of the pod's namespace (else the cluster's system namespace), if known. */
  readonly namespaceNetwork?: string | undefined;
}

const DEFAULT_EXCLUDE_INBOUND = '15090,15021,15020';

function workload(pod: Obj, namespace: string): { name: string; owner: string } {
  const meta = objOf(pod['metadata']);
  const podName = typeof meta['name'] === 'string' && meta['name'] !== '' ? meta['name'] : typeof meta['generateName'] === 'string' ? meta['generateName'].replace(/-$/, '') : '';
  const ref = listOf(meta['ownerReferences']).find((r) => r['controller'] === true) ?? listOf(meta['ownerReferences'])[0];
  if (ref && typeof ref['name'] === 'string' && typeof ref['kind'] === 'string') {
    const hash = strMap(meta['labels'])['pod-template-hash'];
    if (ref['kind'] === 'ReplicaSet' && hash !== undefined && ref['name'].endsWith(`-${hash}`)) {
      const name = ref['name'].slice(0, -(hash.length + 1));
      return { name, owner: `kubernetes://apis/apps/v1/namespaces/${namespace}/deployments/${name}` };
    }
    const api = typeof ref['apiVersion'] === 'string' ? ref['apiVersion'] : 'v1';
    const base = api.includes('/') ? `apis/${api}` : `api/${api}`;
    return { name: ref['name'], owner: `kubernetes://${base}/namespaces/${namespace}/${ref['kind'].toLowerCase()}s/${ref['name']}` };
  }
  return { name: podName, owner: `kubernetes://api/v1/namespaces/${namespace}/pods/${podName}` };
}

/** Everything a template may name besides `values.*`. */
export function podVariables(pod: Obj, v: InjectValues, ctx: PodContext): Variables {
  const meta = objOf(pod['metadata']);
  const labels = strMap(meta['labels']);
  const ann = strMap(meta['annotations']);
  const apps = listOf(objOf(pod['spec'])['containers']).filter((c) => c['name'] !== PROXY_CONTAINER);
  const { name: workloadName, owner } = workload(pod, ctx.namespace);
  const discoveryAddress = typeof v.proxyConfig['discoveryAddress'] === 'string' ? v.proxyConfig['discoveryAddress'] : `istiod.${v.istioNamespace}.svc:15012`;
  const extraExclude = ann['traffic.sidecar.istio.io/excludeInboundPorts'];
  const ports = apps.flatMap((c) => listOf(c['ports']));
  const vars: Record<string, TemplateValue> = {
    proxyImage: ann['sidecar.istio.io/proxyImage'] ?? (v.proxyImage.includes('/') ? v.proxyImage : `${v.hub}/${v.proxyImage}:${v.tag}`),
    imagePullPolicy: v.imagePullPolicy,
    clusterId: ctx.path.clusterId ?? v.clusterName,
    network: labels[LABEL_TOPOLOGY_NETWORK] ?? ctx.path.network ?? ctx.namespaceNetwork ?? v.network,
    meshId: v.meshID,
    trustDomain: v.trustDomain,
    discoveryAddress,
    caAddress: v.caAddress === '' ? discoveryAddress : v.caAddress,
    proxyConfigJson: JSON.stringify(v.proxyConfig),
    revision: v.revision === '' ? 'default' : v.revision,
    workloadName,
    owner,
    appContainers: apps.map((c) => String(c['name'])).join(','),
    defaultContainer: apps[0] === undefined ? '' : String(apps[0]['name']),
    podPorts: JSON.stringify(ports),
    interceptionMode: ann['sidecar.istio.io/interceptionMode'] ?? 'REDIRECT',
    canonicalName: labels['service.istio.io/canonical-name'] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workloadName,
    canonicalRevision: labels['service.istio.io/canonical-revision'] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest',
    includeOutboundIPRanges: ann['traffic.sidecar.istio.io/includeOutboundIPRanges'] ?? '*',
    excludeOutboundIPRanges: ann['traffic.sidecar.istio.io/excludeOutboundIPRanges'] ?? '',
    includeInboundPorts: ann['traffic.sidecar.istio.io/includeInboundPorts'] ?? '*',
    excludeInboundPorts: extraExclude === undefined || extraExclude === '' ? DEFAULT_EXCLUDE_INBOUND : `${DEFAULT_EXCLUDE_INBOUND},${extraExclude}`,
    podNamespace: ctx.namespace,
  };
  return vars;
}

/** The variables for test-rendering templates when the ConfigMap is read. */
export const SAMPLE_POD: Obj = { metadata: { name: 'sample', labels: { app: 'sample' } }, spec: { containers: [{ name: 'app', image: 'app' }] } };

const LIST_KEYS: Readonly<Record<string, string>> = { env: 'name', volumeMounts: 'name', ports: 'containerPort', volumeDevices: 'name' };

function mergeByKey(base: Obj[], overlay: Obj[], key: string, merge: (b: Obj, o: Obj) => Obj): Obj[] {
  const out = base.map((b) => {
    const o = overlay.find((x) => x[key] === b[key]);
    return o ? merge(b, o) : b;
  });
  for (const o of overlay) if (!base.some((b) => b[key] === o[key])) out.push(o);
  return out;
}

/** Deep merge, `overlay` winning; known lists merged by key, other lists replaced. */
export function deepMerge(base: Obj, overlay: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, o] of Object.entries(overlay)) {
    const b = out[k];
    const key = LIST_KEYS[k];
    if (key !== undefined && Array.isArray(b) && Array.isArray(o)) out[k] = mergeByKey(listOf(b), listOf(o), key, (x, y) => ({ ...x, ...y }));
    else if (isObj(b) && isObj(o)) out[k] = deepMerge(b, o);
    else out[k] = o;
  }
  return out;
}

function withEnv(c: Obj, env: readonly { name: string; value: string }[], replace: boolean): Obj {
  const list = listOf(c['env']);
  const out = list.filter((e) => !replace || !env.some((x) => x.name === e['name']));
  for (const e of env) if (replace || !out.some((x) => x['name'] === e.name)) out.push({ name: e.name, value: e.value });
  return { ...c, env: out };
}

export interface Injected {
  readonly pod: Obj;
  readonly status: { initContainers: string[]; containers: string[]; volumes: string[]; imagePullSecrets: null; revision: string };
}

/** The pod with the named templates applied; throws IsthmusError (InjectConfigInvalid) for a template that cannot render. */
export function injectPod(pod: Obj, templates: readonly string[], cfg: InjectorConfig, ctx: PodContext, vars: Variables = podVariables(pod, cfg.values, ctx)): Injected {
  const meta = objOf(pod['metadata']);
  const spec = objOf(pod['spec']);
  let labels = strMap(meta['labels']);
  let annotations = strMap(meta['annotations']);
  let initContainers = listOf(spec['initContainers']);
  let containers = listOf(spec['containers']);
  let volumes = listOf(spec['volumes']);
  const extraSpec: Obj = {};
  const status: Injected['status'] = { initContainers: [], containers: [], volumes: [], imagePullSecrets: null, revision: text(vars['revision']) };
  const appNames = new Set(containers.filter((c) => c['name'] !== PROXY_CONTAINER).map((c) => c['name']));
  for (const name of templates) {
    const t = cfg.templates.get(name);
    if (!t) throw new Error(`unknown template ${JSON.stringify(name)}`);
    const r = renderTemplate(t, vars, cfg.values.raw);
    const rm = objOf(r['metadata']);
    const rs = objOf(r['spec']);
    labels = { ...strMap(rm['labels']), ...labels };
    annotations = { ...strMap(rm['annotations']), ...annotations };
    const tInit = listOf(rs['initContainers']);
    initContainers = [
      ...tInit.filter((t2) => !initContainers.some((p) => p['name'] === t2['name'])),
      ...initContainers.map((p) => { const t2 = tInit.find((x) => x['name'] === p['name']); return t2 ? deepMerge(t2, p) : p; }),
    ];
    status.initContainers.push(...tInit.map((c) => String(c['name'])));
    for (const tc of listOf(rs['containers'])) {
      if (tc['name'] === '*') {
        const { name: _n, ...rest } = tc;
        containers = containers.map((c) => (appNames.has(c['name']) ? deepMerge(rest, c) : c));
        continue;
      }
      const i = containers.findIndex((c) => c['name'] === tc['name']);
      if (i >= 0) containers[i] = deepMerge(tc, containers[i] ?? {});
      else containers.push(tc);
      status.containers.push(String(tc['name']));
    }
    const tVol = listOf(rs['volumes']);
    volumes = [...volumes, ...tVol.filter((tv) => !volumes.some((p) => p['name'] === tv['name']))];
    status.volumes.push(...tVol.map((v) => String(v['name'])));
    for (const [k, val] of Object.entries(rs)) {
      if (!['initContainers', 'containers', 'volumes'].includes(k) && spec[k] === undefined && extraSpec[k] === undefined) extraSpec[k] = val;
    }
  }
  const proxyImage = text(vars['proxyImage']);
  const metadataEnv = Object.entries(objOf(cfg.values.proxyConfig['proxyMetadata'])).map(([name, value]) => ({ name, value: String(value) }));
  containers = containers.map((c) => {
    let out = c['image'] === 'auto' ? { ...c, image: proxyImage } : c;
    if (out['name'] === PROXY_CONTAINER) out = withEnv(withEnv(out, metadataEnv, false), ctx.path.env, true);
    return out;
  });
  initContainers = initContainers.map((c) => (c['image'] === 'auto' ? { ...c, image: proxyImage } : c));
  // The kubelet's plaintext probes would meet the sidecar (and STRICT mTLS): pilot-agent runs them instead.
  if (containers.some((c) => c['name'] === PROXY_CONTAINER)) {
    const probes = rewriteProbes(containers, annotations, PROXY_CONTAINER);
    containers = probes.containers;
    if (Object.keys(probes.probers).length > 0) {
      const env = [{ name: PROBERS_ENV, value: JSON.stringify(probes.probers) }];
      containers = containers.map((c) => (c['name'] === PROXY_CONTAINER ? withEnv(c, env, true) : c));
    }
  }
  annotations = { ...annotations, ...cfg.injectedAnnotations, [ANNOTATION_STATUS]: JSON.stringify(status) };
  const next: Obj = {
    ...pod,
    metadata: { ...meta, labels, annotations },
    spec: { ...spec, ...extraSpec, ...(initContainers.length > 0 ? { initContainers } : {}), containers, ...(volumes.length > 0 ? { volumes } : {}) },
  };
  return { pod: next, status };
}

const escapePointer = (k: string) => k.replaceAll('~', '~0').replaceAll('/', '~1');

/** RFC 6902 operations turning `before` into `after`, one `add` (add replaces an existing member) per changed field of metadata and spec. */
export function podPatch(before: Obj, after: Obj): Obj[] {
  const ops: Obj[] = [];
  for (const part of ['metadata', 'spec'] as const) {
    const b = objOf(before[part]);
    const a = objOf(after[part]);
    if (before[part] === undefined) { ops.push({ op: 'add', path: `/${part}`, value: a }); continue; }
    for (const [k, v] of Object.entries(a)) {
      if (JSON.stringify(b[k]) !== JSON.stringify(v)) ops.push({ op: 'add', path: `/${part}/${escapePointer(k)}`, value: v });
    }
  }
  return ops;
}
