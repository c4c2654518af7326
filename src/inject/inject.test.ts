/**
 * The templates and the AdmissionReview handling, table-driven. Expectations come from Istio's
 * documented sidecar (docs/istio-compat.md §12.2, §13; docs/architecture.md, "The test bed and tests": what a real
 * pilot-agent needed), not from the renderer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadInjectorConfig } from './source.ts';
import { admit, parseReview, BadReview, type AdmitContext } from './review.ts';
import { parseInjectPath, type InjectPath } from './path.ts';
import type { Obj } from './inject.ts';
import { isIsthmusError, ErrorCodes } from '../model/errors.ts';

const DEFAULTS = { clusterName: 'cluster1', istioNamespace: 'istio-system', trustDomain: 'cluster.local' };
const VALUES = JSON.stringify({ global: { hub: 'registry.local/istio', tag: '1.28.0', meshID: 'mesh1', network: 'network1', multiCluster: { clusterName: 'cluster1' } }, meshConfig: { trustDomain: 'cluster.local', defaultConfig: { discoveryAddress: 'istiod.istio-system.svc:15012', proxyMetadata: { ISTIO_DELTA_XDS: 'false' } } } });
const cfg = loadInjectorConfig({ values: VALUES }, DEFAULTS);

/** Fields the assertions read; absent ones fail the assertion that reads them. */
interface Container { name: string; image?: string; args: string[]; env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]; ports?: { name?: string; containerPort: number }[]; securityContext: { runAsUser?: number; runAsGroup?: number; capabilities?: { add?: string[]; drop?: string[] } }; readinessProbe: { httpGet?: { path: string; port: number } }; volumeMounts: { name: string; mountPath: string }[] }
interface Volume { name: string; emptyDir?: { medium?: string }; configMap?: { name: string }; projected?: { sources: { serviceAccountToken?: { audience: string; expirationSeconds: number; path: string } }[] }; downwardAPI?: { items: { path: string; fieldRef: { fieldPath: string } }[] } }
interface Pod { metadata: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: Obj[] }; spec: { initContainers?: Container[]; containers: Container[]; volumes?: Volume[]; hostNetwork?: boolean } }

function review(object: Obj, namespace = 'sample', extra: Obj = {}): string {
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace, operation: 'CREATE', object, ...extra } });
}

/** Applies the RFC 6902 `add` operations the injector emits. */
function applyPatch(doc: Obj, ops: { op: string; path: string; value: unknown }[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    assert.equal(op.op, 'add');
    const parts = op.path.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    let cur = out;
    for (const p of parts.slice(0, -1)) { cur[p] ??= {}; cur = cur[p] as Obj; }
    cur[parts[parts.length - 1] ?? ''] = op.value;
  }
  return out;
}

function run(object: Obj, ctx: Partial<AdmitContext> = {}, namespace = 'sample'): { pod: Pod; injected: boolean; response: Obj } {
  const r = admit(parseReview(review(object, namespace)), { config: cfg, path: { env: [], warnings: [] }, namespaceLabels: { 'istio-injection': 'enabled' }, ...ctx });
  const response = r.review['response'] as Obj;
  assert.equal(response['uid'], 'u-1');
  const patch = typeof response['patch'] === 'string' ? JSON.parse(Buffer.from(response['patch'], 'base64').toString()) as { op: string; path: string; value: unknown }[] : [];
  return { pod: applyPatch(object, patch) as unknown as Pod, injected: r.injected, response };
}

const appPod = (o: Partial<Pod['metadata']> = {}): Obj => ({
  metadata: { generateName: 'helloworld-v1-7d9f8c-', labels: { app: 'helloworld', version: 'v1', 'pod-template-hash': '7d9f8c' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'helloworld-v1-7d9f8c', controller: true, uid: 'x' }], ...o },
  spec: { serviceAccountName: 'helloworld', containers: [{ name: 'helloworld', image: 'helloworld:1', ports: [{ name: 'http', containerPort: 5000, protocol: 'TCP' }] }] },
});
const envOf = (c: Container | undefined) => Object.fromEntries((c?.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath ?? 'resource'}`]));
const byName = <T extends { name: string }>(l: T[] | undefined, n: string): T | undefined => l?.find((x) => x.name === n);

test('sidecar template: istio-init, istio-proxy, volumes, labels (docs/istio-compat.md §12.2)', () => {
  const { pod, injected } = run(appPod());
  assert.ok(injected);
  const init = byName(pod.spec.initContainers, 'istio-init');
  assert.ok(init, 'istio-init');
  assert.equal(init.image, 'registry.local/istio/proxyv2:1.28.0');
  assert.deepEqual(init.args.slice(0, 11), ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*']);
  assert.equal(init.args[init.args.indexOf('-b') + 1], '*');
  assert.equal(init.args[init.args.indexOf('-d') + 1], '15090,15021,15020');
  assert.deepEqual(init.securityContext.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
  assert.equal(init.securityContext.runAsUser, 0);
  assert.deepEqual(pod.spec.containers.map((c) => c.name), ['helloworld', 'istio-proxy']);
  const proxy = byName(pod.spec.containers, 'istio-proxy');
  assert.ok(proxy, 'istio-proxy');
  assert.deepEqual(proxy.args.slice(0, 2), ['proxy', 'sidecar']);
  assert.equal(proxy.securityContext.runAsUser, 1337);
  assert.equal(proxy.securityContext.runAsGroup, 1337);
  assert.deepEqual(proxy.ports, [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }]);
  assert.deepEqual(proxy.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
  const env = envOf(proxy);
  assert.equal(env['POD_NAME'], 'fieldRef:metadata.name');
  assert.equal(env['POD_NAMESPACE'], 'fieldRef:metadata.namespace');
  assert.equal(env['INSTANCE_IP'], 'fieldRef:status.podIP');
  assert.equal(env['SERVICE_ACCOUNT'], 'fieldRef:spec.serviceAccountName');
  assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster1');
  assert.equal(env['ISTIO_META_NETWORK'], 'network1');
  assert.equal(env['ISTIO_META_MESH_ID'], 'mesh1');
  assert.equal(env['TRUST_DOMAIN'], 'cluster.local');
  assert.equal(env['CA_ADDR'], 'istiod.istio-system.svc:15012');
  assert.equal(env['PILOT_CERT_PROVIDER'], 'istiod');
  assert.equal(env['ISTIO_META_WORKLOAD_NAME'], 'helloworld-v1');
  assert.equal(env['ISTIO_META_OWNER'], 'kubernetes://apis/apps/v1/namespaces/sample/deployments/helloworld-v1');
  assert.equal(env['ISTIO_META_APP_CONTAINERS'], 'helloworld');
  assert.equal(env['ISTIO_META_INTERCEPTION_MODE'], 'REDIRECT');
  assert.deepEqual(JSON.parse(env['ISTIO_META_POD_PORTS'] ?? ''), [{ name: 'http', containerPort: 5000, protocol: 'TCP' }]);
  assert.equal((JSON.parse(env['PROXY_CONFIG'] ?? '{}') as { discoveryAddress: string }).discoveryAddress, 'istiod.istio-system.svc:15012');
  assert.equal(env['ISTIO_DELTA_XDS'], 'false', 'meshConfig.defaultConfig.proxyMetadata becomes env');
  const vols = pod.spec.volumes ?? [];
  const token = byName(vols, 'istio-token')?.projected?.sources[0]?.serviceAccountToken;
  assert.deepEqual(token, { path: 'istio-token', audience: 'istio-ca', expirationSeconds: 43200 });
  assert.equal(byName(vols, 'istiod-ca-cert')?.configMap?.name, 'istio-ca-root-cert');
  assert.equal(byName(vols, 'istio-envoy')?.emptyDir?.medium, 'Memory');
  assert.ok(byName(vols, 'istio-data')?.emptyDir);
  assert.deepEqual(byName(vols, 'istio-podinfo')?.downwardAPI?.items.map((i) => i.fieldRef.fieldPath), ['metadata.labels', 'metadata.annotations']);
  for (const m of ['istio-token', 'istiod-ca-cert', 'istio-envoy', 'istio-data', 'istio-podinfo']) assert.ok(proxy.volumeMounts.some((v) => v.name === m), `mount ${m}`);
  assert.equal(byName(proxy.volumeMounts, 'istiod-ca-cert')?.mountPath, '/var/run/secrets/istio');
  assert.equal(byName(proxy.volumeMounts, 'istio-token')?.mountPath, '/var/run/secrets/tokens');
  const l = pod.metadata.labels ?? {};
  assert.equal(l['security.istio.io/tlsMode'], 'istio');
  assert.equal(l['service.istio.io/canonical-name'], 'helloworld');
  assert.equal(l['service.istio.io/canonical-revision'], 'v1');
  assert.equal(l['topology.istio.io/network'], 'network1');
  const status = JSON.parse(pod.metadata.annotations?.['sidecar.istio.io/status'] ?? '{}') as { initContainers: string[]; containers: string[]; volumes: string[] };
  assert.deepEqual(status.initContainers, ['istio-init']);
  assert.deepEqual(status.containers, ['istio-proxy']);
  assert.ok(status.volumes.includes('istio-token'));
  assert.equal(pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'], 'helloworld');
  console.log(`sidecar: ${proxy.env?.length ?? 0} env vars on istio-proxy, ${vols.length} volumes, ${init.args.length} istio-iptables args`);
});

test('re-injection is idempotent: an injected pod comes back unchanged', () => {
  const once = run(appPod());
  const twice = run(once.pod as unknown as Obj);
  assert.equal(twice.injected, false);
  assert.equal(twice.response['patch'], undefined);
  assert.equal(twice.response['allowed'], true);
});

test('cluster and network: path > values; pod label > path > namespace label > values (docs/istio-compat.md §12.1)', () => {
  const rows: { name: string; path: InjectPath; podNet?: string; nsNet?: string; sysNet?: string; cluster: string; network: string }[] = [
    { name: 'values', path: { env: [], warnings: [] }, cluster: 'cluster1', network: 'network1' },
    { name: 'path', path: parseInjectPath('/inject/cluster/cluster2/net/network2') ?? { env: [], warnings: [] }, cluster: 'cluster2', network: 'network2' },
    { name: 'pod label beats path', path: parseInjectPath('/inject/cluster/cluster2/net/network2') ?? { env: [], warnings: [] }, podNet: 'podnet', cluster: 'cluster2', network: 'podnet' },
    { name: 'namespace label beats values', path: { env: [], warnings: [] }, nsNet: 'nsnet', cluster: 'cluster1', network: 'nsnet' },
    { name: 'system namespace label beats values', path: { env: [], warnings: [] }, sysNet: 'sysnet', cluster: 'cluster1', network: 'sysnet' },
  ];
  for (const r of rows) {
    const p = appPod(r.podNet === undefined ? {} : { labels: { app: 'helloworld', 'topology.istio.io/network': r.podNet } });
    const { pod } = run(p, { path: r.path, namespaceLabels: { 'istio-injection': 'enabled', ...(r.nsNet === undefined ? {} : { 'topology.istio.io/network': r.nsNet }) }, ...(r.sysNet === undefined ? {} : { systemNetwork: r.sysNet }) });
    const env = envOf(byName(pod.spec.containers, 'istio-proxy'));
    assert.equal(env['ISTIO_META_CLUSTER_ID'], r.cluster, r.name);
    assert.equal(env['ISTIO_META_NETWORK'], r.network, r.name);
    assert.equal(pod.metadata.labels?.['topology.istio.io/network'], r.network, r.name);
  }
  const withEnv = run(appPod(), { path: parseInjectPath('/inject/cluster/c9/foo/bar') ?? { env: [], warnings: [] } });
  assert.equal(envOf(byName(withEnv.pod.spec.containers, 'istio-proxy'))['FOO'], 'bar', 'other path keys become env vars');
});

test('gateway template: istio-proxy only, proxy router, image auto replaced, no init container', () => {
  const gw: Obj = {
    metadata: { name: 'gw-1', labels: { app: 'istio-eastwestgateway', 'sidecar.istio.io/inject': 'true' }, annotations: { 'inject.istio.io/templates': 'gateway' } },
    spec: { containers: [{ name: 'istio-proxy', image: 'auto', env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: 'network1' }] }] },
  };
  const { pod, injected } = run(gw, { namespaceLabels: {} }, 'istio-system');
  assert.ok(injected);
  assert.equal(pod.spec.initContainers, undefined);
  assert.equal(pod.spec.containers.length, 1);
  const c = pod.spec.containers[0];
  assert.ok(c);
  assert.equal(c.image, 'registry.local/istio/proxyv2:1.28.0');
  assert.deepEqual(c.args.slice(0, 2), ['proxy', 'router']);
  const env = envOf(c);
  assert.equal(env['ISTIO_META_REQUESTED_NETWORK_VIEW'], 'network1', 'the pod\'s own env stays');
  assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster1');
  assert.ok(byName(pod.spec.volumes, 'istio-token'));
});

test('grpc-agent template: the agent only, app containers get the gRPC bootstrap', () => {
  const p = appPod({ annotations: { 'inject.istio.io/templates': 'grpc-agent' } });
  const { pod } = run(p);
  assert.equal(pod.spec.initContainers, undefined, 'no iptables for proxyless');
  const app = byName(pod.spec.containers, 'helloworld');
  assert.equal(envOf(app)['GRPC_XDS_BOOTSTRAP'], '/etc/istio/proxy/grpc-bootstrap.json');
  assert.ok(app?.volumeMounts.some((m) => m.name === 'istio-xds'));
  const agent = byName(pod.spec.containers, 'istio-proxy');
  const env = envOf(agent);
  assert.equal(env['ISTIO_META_GENERATOR'], 'grpc');
  assert.equal(env['ISTIO_META_CLUSTER_ID'], 'cluster1');
  assert.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], undefined);
});

test('not injected: host network, opt-out, unselected namespace', () => {
  for (const [name, obj, ns] of [
    ['hostNetwork', { ...appPod(), spec: { hostNetwork: true, containers: [{ name: 'a', image: 'a' }] } }, { 'istio-injection': 'enabled' }],
    ['opt-out', appPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), { 'istio-injection': 'enabled' }],
    ['unselected namespace', appPod(), {}],
  ] as const) {
    const r = run(obj, { namespaceLabels: ns });
    assert.equal(r.injected, false, name);
    assert.equal(r.response['allowed'], true, name);
    assert.equal(r.response['patch'], undefined, name);
  }
});

test('bad AdmissionReviews are refused with a reason; other kinds and operations pass unchanged', () => {
  for (const [body, want] of [
    ['{', /not JSON/], ['[]', /JSON object/], ['{"kind":"Pod"}', /kind must be AdmissionReview/],
    ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{}}', /apiVersion must be admission.k8s.io\/v1/],
    ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}', /request is missing/],
    ['{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"kind":{"kind":"Pod"}}}', /request.uid/],
  ] as const) {
    assert.throws(() => parseReview(body), (e: unknown) => e instanceof BadReview && want.test(e.message), body);
  }
  const svc = admit(parseReview(review({ metadata: { name: 's' } }, 'sample', { kind: { group: '', version: 'v1', kind: 'Service' } })), { config: cfg, path: { env: [], warnings: [] } });
  assert.equal((svc.review['response'] as Obj)['allowed'], true);
  assert.match(String(((svc.review['response'] as Obj)['warnings'] as string[])[0]), /not injected/);
  const upd = admit(parseReview(review(appPod(), 'sample', { operation: 'UPDATE' })), { config: cfg, path: { env: [], warnings: [] } });
  assert.equal(upd.injected, false);
  const unknownTpl = run(appPod({ annotations: { 'inject.istio.io/templates': 'nope' } }));
  assert.equal(unknownTpl.response['allowed'], false);
  assert.match(String((unknownTpl.response['status'] as Obj)['message']), /unknown template\(s\) nope/);
});

test('ConfigMap templates replace the built-in ones; invalid ones are refused with the template named', () => {
  const custom = loadInjectorConfig({ values: VALUES, config: 'policy: enabled\ndefaultTemplates: [sidecar]\ntemplates:\n  sidecar: |\n    spec:\n      containers:\n      - name: istio-proxy\n        image: "{{ values.global.hub }}/custom:{{ values.global.tag }}"\n        env:\n        - { name: ISTIO_META_CLUSTER_ID, value: "{{ clusterId }}" }\n' }, DEFAULTS);
  const r = admit(parseReview(review(appPod())), { config: custom, path: { env: [], warnings: [] }, namespaceLabels: { 'istio-injection': 'enabled' } });
  const patch = JSON.parse(Buffer.from(String((r.review['response'] as Obj)['patch']), 'base64').toString()) as { op: string; path: string; value: unknown }[];
  const pod = applyPatch(appPod(), patch) as unknown as Pod;
  assert.equal(byName(pod.spec.containers, 'istio-proxy')?.image, 'registry.local/istio/custom:1.28.0');
  assert.ok(custom.templates.has('gateway'), 'built-in templates stay available');
  for (const [config, want] of [
    ['templates:\n  sidecar: |\n    spec:\n      containers:\n      - name: x\n        image: "{{ nosuch }}"\n', /template "sidecar".*unknown variable \{\{ nosuch \}\}/],
    ['templates:\n  sidecar: |\n    kind: Pod\n', /unknown top-level key "kind"/],
    ['policy: sometimes\n', /policy must be enabled or disabled/],
    ['defaultTemplates: [missing]\n', /defaultTemplates must list known templates/],
    ['neverInjectSelector: []\n', /unknown field "neverInjectSelector"/],
    ['templates:\n  sidecar: |\n    spec: &a\n      x: *a\n', /not valid YAML/],
  ] as const) {
    assert.throws(() => loadInjectorConfig({ values: VALUES, config }, DEFAULTS), (e: unknown) => isIsthmusError(e, ErrorCodes.InjectConfigInvalid) && want.test(e.message), config);
  }
  assert.throws(() => loadInjectorConfig({ values: '{"global": {"hub": {"x": 1}}}' }, DEFAULTS), /values: global.hub must be a string/);
});
