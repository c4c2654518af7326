/**
 * Golden expectations per profile, written from the compat reference (docs/istio-compat.md §2.2-§2.3, §5.4, §12.1,
 * docs/istio-compat.md §13) and docs/architecture.md, not from the renderer's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, stringify } from 'yaml';
import { eastWestGateway } from '../eastwest.ts';
import { planInstall } from '../manifest.ts';
import { resolve } from '../effective.ts';
import { render } from './index.ts';
import type { Manifest } from './types.ts';
import { INJECTOR_WEBHOOK_SUFFIX, REVISION_LABEL, patchCaBundle } from '../../controllers/webhookpatcher.ts';
import { parseInjectorConfig } from '../../inject/config.ts';
import { ErrorCodes, isIsthmusError } from '../../model/errors.ts';

const PRIMARY = `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  values:
    global:
      meshID: mesh1
      multiCluster:
        clusterName: cluster1
      network: network1
      externalIstiod: true
`;

const remote = (addr: string, extra = '') => `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  profile: remote
  values:
    istiodRemote:
      injectionPath: /inject/cluster/cluster2/net/network2
    global:
      remotePilotAddress: ${addr}
${extra}`;

function objects(text: string, sets: string[] = []): Manifest[] {
  return planInstall([{ text, source: 'test' }], sets).rendered.map((r) => r.object);
}
const ids = (list: readonly Manifest[]) => list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
function find(list: readonly Manifest[], kind: string, name: string): Manifest {
  const o = list.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} rendered; have ${ids(list).join(', ')}`);
  return o;
}
interface Container { name: string; image: string; args: string[]; env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]; ports: { containerPort: number }[] }
interface GatewayContainer extends Container { readinessProbe: { httpGet: unknown }; volumeMounts: { name: string; mountPath: string }[] }
interface GatewayPod { serviceAccountName: string; containers: GatewayContainer[]; volumes: { name: string; projected?: unknown; configMap?: unknown; downwardAPI?: unknown }[] }
const podSpec = (d: Manifest) => (d['spec'] as { template: { spec: { serviceAccountName: string; containers: Container[] } } }).template.spec;
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath ?? '?'}`]));

const CRDS = ['gateways', 'virtualservices', 'destinationrules', 'serviceentries', 'sidecars', 'workloadentries', 'workloadgroups'].map((p) => `CustomResourceDefinition//${p}.networking.istio.io`)
  .concat(['peerauthentications', 'authorizationpolicies', 'requestauthentications'].map((p) => `CustomResourceDefinition//${p}.security.istio.io`));

test('default profile: the object set', () => {
  assert.deepEqual(new Set(ids(objects(PRIMARY))), new Set([
    'Namespace//istio-system', ...CRDS,
    'ServiceAccount/istio-system/istio-reader-service-account', 'ServiceAccount/istio-system/istiod', 'ServiceAccount/istio-system/istio-ingressgateway-service-account',
    'ClusterRole//istiod-clusterrole-istio-system', 'ClusterRoleBinding//istiod-clusterrole-istio-system',
    'ClusterRole//istio-reader-clusterrole-istio-system', 'ClusterRoleBinding//istio-reader-clusterrole-istio-system',
    'Role/istio-system/istiod', 'RoleBinding/istio-system/istiod',
    'ConfigMap/istio-system/istio', 'ConfigMap/istio-system/istio-sidecar-injector', 'Deployment/istio-system/istiod', 'Service/istio-system/istiod',
    'Deployment/istio-system/istio-ingressgateway', 'Service/istio-system/istio-ingressgateway',
    'MutatingWebhookConfiguration//istio-sidecar-injector',
  ]));
});

test('default profile: istiod runs `isthmus discovery` with the ports, flags and env of docs/architecture.md / docs/istio-compat.md §2.2', () => {
  const list = objects(PRIMARY);
  const dep = find(list, 'Deployment', 'istiod');
  const pod = podSpec(dep);
  assert.equal(pod.serviceAccountName, 'istiod');
  const c = pod.containers[0];
  assert.ok(c);
  assert.equal(c.image, 'isthmus/isthmus:0.1.0');
  assert.equal(c.args[0], 'discovery');
  for (const f of ['--grpcAddr=:15010', '--secureGRPCAddr=:15012', '--httpAddr=:8080', '--monitoringAddr=:15014', '--httpsAddr=:15017']) assert.ok(c.args.includes(f), f);
  assert.deepEqual(c.ports.map((p) => p.containerPort).sort((a, b) => a - b), [8080, 15010, 15012, 15014, 15017]);
  const env = envOf(c);
  assert.equal(env['CLUSTER_ID'], 'cluster1');
  assert.equal(env['EXTERNAL_ISTIOD'], 'true');
  assert.equal(env['POD_NAME'], 'fieldRef:metadata.name');
  assert.equal(env['POD_NAMESPACE'], 'fieldRef:metadata.namespace');
  assert.equal(env['KUBECONFIG'], '/var/run/secrets/remote/config');
  const svc = find(list, 'Service', 'istiod');
  const ports = (svc['spec'] as { ports: { port: number; targetPort: number }[] }).ports.map((p) => `${p.port}->${p.targetPort}`);
  assert.deepEqual(new Set(ports), new Set(['15010->15010', '15012->15012', '443->15017', '15014->15014']));
});

test('pilot.env wins over global.externalIstiod (docs/istio-compat.md §2.2), and the image comes from values.global.hub/tag', () => {
  const list = objects(PRIMARY, ['values.pilot.env.EXTERNAL_ISTIOD=false', 'values.global.hub=registry.local/mesh', 'values.global.tag=9.9']);
  const c = podSpec(find(list, 'Deployment', 'istiod')).containers[0];
  assert.ok(c);
  assert.equal(envOf(c)['EXTERNAL_ISTIOD'], 'false');
  assert.equal(c.env.filter((e) => e.name === 'EXTERNAL_ISTIOD').length, 1);
  assert.equal(c.image, 'registry.local/mesh/isthmus:9.9');
});

test('default profile: mesh config and the injection webhook', () => {
  const list = objects(PRIMARY);
  const mesh = parse((find(list, 'ConfigMap', 'istio')['data'] as { mesh: string }).mesh) as { defaultConfig: { discoveryAddress: string }; rootNamespace: string; trustDomain: string };
  assert.equal(mesh.defaultConfig.discoveryAddress, 'istiod.istio-system.svc:15012');
  assert.equal(mesh.rootNamespace, 'istio-system');
  const wh = find(list, 'MutatingWebhookConfiguration', 'istio-sidecar-injector');
  assert.equal(wh.metadata.labels?.['istio.io/rev'], 'default');
  const hooks = wh['webhooks'] as { name: string; clientConfig: { service?: { name: string; namespace: string; path: string; port: number } } }[];
  assert.ok(hooks.length > 0);
  for (const h of hooks) {
    assert.ok(h.name.endsWith('sidecar-injector.istio.io'), h.name);
    assert.deepEqual(h.clientConfig.service, { name: 'istiod', namespace: 'istio-system', path: '/inject', port: 443 });
  }
});

test('minimal profile: the control plane without a gateway; empty profile: nothing', () => {
  const list = objects(PRIMARY, ['profile=minimal']);
  assert.ok(list.some((o) => o.kind === 'Deployment' && o.metadata.name === 'istiod'));
  assert.ok(!list.some((o) => o.metadata.name.includes('ingressgateway')));
  assert.deepEqual(objects(PRIMARY, ['profile=empty']), []);
});

test('remote profile with an IP: selector-less Service + EndpointSlice, injectionPath, reader RBAC, no control plane (docs/istio-compat.md §2.3)', () => {
  const list = objects(remote('10.20.1.5'));
  assert.ok(!list.some((o) => o.kind === 'Deployment'), 'no Deployment');
  assert.ok(!list.some((o) => o.kind === 'ConfigMap'), 'no mesh ConfigMap (pilot.configMap=false in the remote profile)');
  assert.ok(!list.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'istiod'));
  const svc = find(list, 'Service', 'istiod');
  const spec = svc['spec'] as { selector?: unknown; type?: string; ports: { name: string; port: number; targetPort: number }[] };
  assert.equal(spec.selector, undefined);
  assert.deepEqual(spec.ports.map((p) => `${p.name}:${p.port}->${p.targetPort}`), ['tcp-istiod:15012->15012', 'tcp-webhook:443->15017']);
  const slice = list.find((o) => o.kind === 'EndpointSlice');
  assert.ok(slice);
  assert.equal(slice.metadata.labels?.['kubernetes.io/service-name'], 'istiod');
  assert.equal(slice['addressType'], 'IPv4');
  assert.deepEqual((slice['endpoints'] as { addresses: string[] }[]).map((e) => e.addresses), [['10.20.1.5']]);
  assert.deepEqual(new Set((slice['ports'] as { port: number }[]).map((p) => p.port)), new Set([15012, 15017]));
  const wh = find(list, 'MutatingWebhookConfiguration', 'istio-sidecar-injector');
  for (const h of wh['webhooks'] as { clientConfig: { service: { path: string; name: string; port: number } } }[]) {
    assert.equal(h.clientConfig.service.path, '/inject/cluster/cluster2/net/network2');
    assert.equal(h.clientConfig.service.name, 'istiod');
    assert.equal(h.clientConfig.service.port, 443);
  }
  find(list, 'ServiceAccount', 'istio-reader-service-account');
  const role = find(list, 'ClusterRole', 'istio-reader-clusterrole-istio-system');
  const rules = role['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  const allows = (group: string, resource: string, verb: string) => rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
  for (const [g, r, v] of [['', 'services', 'list'], ['', 'pods', 'watch'], ['', 'namespaces', 'get'], ['', 'secrets', 'list'], ['discovery.k8s.io', 'endpointslices', 'watch'],
    ['authentication.k8s.io', 'tokenreviews', 'create'], ['authorization.k8s.io', 'subjectaccessreviews', 'create'], ['networking.istio.io', 'workloadentries', 'list'],
    ['', 'configmaps', 'create'], ['', 'configmaps', 'update'], ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations', 'patch']] as const) {
    assert.ok(allows(g, r, v), `reader may ${v} ${g}/${r}`);
  }
  assert.ok(!allows('', 'secrets', 'create') && !allows('', 'pods', 'delete'), 'read-only elsewhere');
  const binding = find(list, 'ClusterRoleBinding', 'istio-reader-clusterrole-istio-system');
  assert.deepEqual(binding['subjects'], [{ kind: 'ServiceAccount', name: 'istio-reader-service-account', namespace: 'istio-system' }]);
});

test('remote profile with a hostname: an ExternalName Service', () => {
  const list = objects(remote('istiod.example.com'));
  const svc = find(list, 'Service', 'istiod');
  assert.equal((svc['spec'] as { type: string }).type, 'ExternalName');
  assert.equal((svc['spec'] as { externalName: string }).externalName, 'istiod.example.com');
  assert.ok(!list.some((o) => o.kind === 'EndpointSlice'));
});

test('remote profile as a config cluster: mesh ConfigMap with the in-cluster discovery address, istiod RBAC', () => {
  const list = objects(remote('10.20.1.5', '      configCluster: true\n'));
  const mesh = parse((find(list, 'ConfigMap', 'istio')['data'] as { mesh: string }).mesh) as { defaultConfig: { discoveryAddress: string } };
  assert.equal(mesh.defaultConfig.discoveryAddress, 'istiod.istio-system.svc:15012');
  find(list, 'ServiceAccount', 'istiod');
  find(list, 'ClusterRole', 'istiod-clusterrole-istio-system');
  assert.ok(!list.some((o) => o.kind === 'Deployment'));
});

test('injectionURL replaces the service reference', () => {
  const list = objects(remote('10.20.1.5'), ['values.istiodRemote.injectionURL=https://cp.example.com:15017/inject/cluster/cluster2/net/network2']);
  for (const h of find(list, 'MutatingWebhookConfiguration', 'istio-sidecar-injector')['webhooks'] as { clientConfig: Record<string, unknown> }[]) {
    assert.deepEqual(h.clientConfig, { url: 'https://cp.example.com:15017/inject/cluster/cluster2/net/network2' });
  }
});

test('meshConfig from the IstioOperator overrides the defaults', () => {
  const list = objects(PRIMARY, ['meshConfig.defaultConfig.discoveryAddress=cp.example.com:15012', 'meshConfig.trustDomain=example.org']);
  const mesh = parse((find(list, 'ConfigMap', 'istio')['data'] as { mesh: string }).mesh) as { defaultConfig: { discoveryAddress: string }; trustDomain: string };
  assert.equal(mesh.defaultConfig.discoveryAddress, 'cp.example.com:15012');
  assert.equal(mesh.trustDomain, 'example.org');
});

test('a revision renames istiod, its webhook and its cluster RBAC', () => {
  const list = objects(PRIMARY, ['revision=canary', 'profile=minimal']);
  find(list, 'Deployment', 'istiod-canary');
  find(list, 'ClusterRole', 'istiod-clusterrole-canary-istio-system');
  find(list, 'ClusterRole', 'istio-reader-clusterrole-canary-istio-system');
  const wh = find(list, 'MutatingWebhookConfiguration', 'istio-sidecar-injector-canary');
  assert.equal(wh.metadata.labels?.['istio.io/rev'], 'canary');
  const mesh = parse((find(list, 'ConfigMap', 'istio-canary')['data'] as { mesh: string }).mesh) as { defaultConfig: { discoveryAddress: string } };
  assert.equal(mesh.defaultConfig.discoveryAddress, 'istiod-canary.istio-system.svc:15012');
});

test('every object carries the owner and component labels used for pruning', () => {
  for (const r of planInstall([{ text: PRIMARY, source: 't' }]).rendered) {
    if (r.object.kind === 'Namespace') continue;
    assert.equal(r.object.metadata.labels?.['install.operator.istio.io/owning-resource'], 'installed-state');
    assert.equal(r.object.metadata.labels['operator.istio.io/component'], r.component);
  }
});

interface Hook { name: string; clientConfig: Record<string, unknown>; namespaceSelector: { matchExpressions: { key: string; operator: string; values?: string[] }[] }; objectSelector: { matchExpressions: { key: string; operator: string; values?: string[] }[] }; failurePolicy: string; sideEffects: string; admissionReviewVersions: string[]; rules: { operations: string[]; resources: string[] }[] }
const hooksOf = (m: Manifest) => m['webhooks'] as Hook[];

/** Would the API server call this webhook for a pod with these labels in a namespace with these labels? (label-selector semantics) */
function selects(h: Hook, nsLabels: Record<string, string>, podLabels: Record<string, string>): boolean {
  const match = (sel: Hook['namespaceSelector'], l: Record<string, string>) => sel.matchExpressions.every((x) => {
    const v = l[x.key];
    if (x.operator === 'In') return v !== undefined && (x.values ?? []).includes(v);
    if (x.operator === 'NotIn') return v === undefined || !(x.values ?? []).includes(v);
    if (x.operator === 'Exists') return v !== undefined;
    return v === undefined;
  });
  return match(h.namespaceSelector, nsLabels) && match(h.objectSelector, podLabels);
}

test('injection webhook: Istio\'s selectors, Fail policy, no side effects, v1 reviews, and the leader\'s caBundle patcher matches it', () => {
  const wh = find(objects(PRIMARY), 'MutatingWebhookConfiguration', 'istio-sidecar-injector');
  const hooks = hooksOf(wh);
  for (const h of hooks) {
    assert.equal(h.failurePolicy, 'Fail');
    assert.equal(h.sideEffects, 'None');
    assert.deepEqual(h.admissionReviewVersions, ['v1']);
    assert.deepEqual(h.rules.map((r) => [r.operations, r.resources]), [[['CREATE'], ['pods']]]);
  }
  const called = (ns: Record<string, string>, pod: Record<string, string>) => hooks.filter((h) => selects(h, ns, pod)).map((h) => h.name);
  const rows: [string, Record<string, string>, Record<string, string>, boolean][] = [
    ['enabled namespace', { 'istio-injection': 'enabled' }, {}, true],
    ['enabled namespace, pod opts out', { 'istio-injection': 'enabled' }, { 'sidecar.istio.io/inject': 'false' }, false],
    ['unlabelled namespace', {}, {}, false],
    ['unlabelled namespace, pod opts in', {}, { 'sidecar.istio.io/inject': 'true' }, true],
    ['disabled namespace, pod opts in', { 'istio-injection': 'disabled' }, { 'sidecar.istio.io/inject': 'true' }, false],
    ['istio.io/rev=default namespace', { 'istio.io/rev': 'default' }, {}, true],
    ['istio.io/rev=canary namespace', { 'istio.io/rev': 'canary' }, {}, false],
  ];
  for (const [name, ns, pod, want] of rows) {
    const c = called(ns, pod);
    assert.ok(c.length <= 1, `${name}: at most one webhook is called (${c.join(', ')})`);
    assert.equal(c.length === 1, want, `${name}: ${c.join(', ') || 'none'}`);
  }
  assert.equal(wh.metadata.labels?.[REVISION_LABEL], 'default');
  const patched = patchCaBundle(hooks as unknown as Parameters<typeof patchCaBundle>[0], INJECTOR_WEBHOOK_SUFFIX, 'Q0E=');
  assert.ok(patched.webhooks.every((h) => h.clientConfig?.caBundle === 'Q0E='), 'the patcher sets caBundle on every rendered injector webhook');
});

test('the injector ConfigMap carries the templates and the values the injector reads', () => {
  const cm = find(objects(PRIMARY), 'ConfigMap', 'istio-sidecar-injector');
  assert.equal(cm.metadata.namespace, 'istio-system');
  const data = cm['data'] as { config: string; values: string };
  const cfg = parseInjectorConfig(data, { clusterName: 'x', istioNamespace: 'x', trustDomain: 'x' });
  assert.deepEqual([...cfg.templates.keys()].sort(), ['gateway', 'grpc-agent', 'sidecar']);
  assert.deepEqual(cfg.defaultTemplates, ['sidecar']);
  assert.equal(cfg.values.clusterName, 'cluster1');
  assert.equal(cfg.values.network, 'network1');
  assert.equal(cfg.values.meshID, 'mesh1');
  assert.equal(cfg.values.proxyConfig['discoveryAddress'], 'istiod.istio-system.svc:15012');
  assert.equal(`${cfg.values.hub}/${cfg.values.proxyImage}:${cfg.values.tag}`, 'docker.io/istio/proxyv2:1.28.0');
  const hubbed = parseInjectorConfig(find(objects(PRIMARY, ['values.global.hub=registry.local/mesh', 'values.global.tag=1.29.1']), 'ConfigMap', 'istio-sidecar-injector')['data'] as Record<string, string>, { clusterName: 'x', istioNamespace: 'x', trustDomain: 'x' });
  assert.equal(`${hubbed.values.hub}/${hubbed.values.proxyImage}:${hubbed.values.tag}`, 'registry.local/mesh/proxyv2:1.29.1');
  assert.ok(!objects(remote('10.20.1.5')).some((o) => o.metadata.name === 'istio-sidecar-injector' && o.kind === 'ConfigMap'), 'a plain remote reads no injector config (its control plane does)');
  find(objects(remote('10.20.1.5', '      configCluster: true\n')), 'ConfigMap', 'istio-sidecar-injector');
});

test('sidecarInjectorWebhook.templates adds templates; a bad template fails the install before anything is applied', () => {
  const ok = objects(PRIMARY, ['values.sidecarInjectorWebhook.templates.custom=spec: {}']);
  const cfg = parseInjectorConfig(find(ok, 'ConfigMap', 'istio-sidecar-injector')['data'] as Record<string, string>, { clusterName: 'x', istioNamespace: 'x', trustDomain: 'x' });
  assert.ok(cfg.templates.has('custom'));
  assert.throws(() => objects(PRIMARY, ['values.sidecarInjectorWebhook.templates.custom=spec: {x: "{{ nope }}"}']),
    (e: unknown) => isIsthmusError(e, ErrorCodes.OperatorInvalid) && /sidecarInjectorWebhook.templates.*unknown variable \{\{ nope \}\}/s.test(e.message));
});

test('merging long env lists into istiod and gateway containers is linear (no per-entry search)', () => {
  // Built in code, past the input caps, so the renderers themselves are measured.
  const n = 100_000;
  const pilotEnv: Record<string, string> = { REVISION: 'overridden' };
  for (let i = 0; i < n; i++) pilotEnv[`VAR_${i}`] = 'x';
  const gwEnv = Array.from({ length: n }, (_, i) => ({ name: `GW_${i}`, value: 'y' }));
  const spec = {
    components: { base: { enabled: true }, pilot: { enabled: true }, ingressGateways: [{ name: 'istio-ingressgateway', enabled: true, k8s: { env: gwEnv } }] },
    values: { pilot: { env: pilotEnv } },
  };
  const t0 = performance.now();
  const list = render(resolve({ name: 'big', profile: 'default', spec })).map((r) => r.object);
  const ms = performance.now() - t0;
  console.log(`${n} istiod env entries and ${n} gateway env entries rendered in ${ms.toFixed(0)} ms`);
  const istiod = podSpec(find(list, 'Deployment', 'istiod')).containers[0];
  assert.ok(istiod);
  assert.equal(envOf(istiod)['REVISION'], 'overridden', 'a user entry replaces the built-in one in place');
  assert.equal(istiod.env.filter((e) => e.name === 'REVISION').length, 1);
  assert.equal(envOf(istiod)[`VAR_${n - 1}`], 'x');
  const gw = podSpec(find(list, 'Deployment', 'istio-ingressgateway')).containers[0];
  assert.equal(gw && envOf(gw)[`GW_${n - 1}`], 'y');
});

test('east-west gateway (gen-eastwest-gateway | install): Istio\'s proxy running `pilot-agent proxy router` as Istio\'s gateway (docs/istio-compat.md §3.1, §13)', () => {
  const list = objects(stringify(eastWestGateway({ network: 'network1' })), ['values.global.multiCluster.clusterName=cluster1']);
  const dep = find(list, 'Deployment', 'istio-eastwestgateway');
  const pod = (dep['spec'] as { template: { metadata: { labels: Record<string, string> }; spec: GatewayPod } }).template;
  const c = pod.spec.containers[0];
  assert.ok(c);
  assert.equal(c.name, 'istio-proxy');
  assert.equal(c.image, 'docker.io/istio/proxyv2:1.28.0');
  assert.deepEqual(c.args.slice(0, 4), ['proxy', 'router', '--domain', '$(POD_NAMESPACE).svc.cluster.local']);
  assert.equal(pod.spec.serviceAccountName, 'istio-eastwestgateway-service-account');
  assert.equal(pod.metadata.labels['istio'], 'eastwestgateway');
  assert.equal(pod.metadata.labels['topology.istio.io/network'], 'network1');
  const env = envOf(c);
  for (const [k, v] of Object.entries({
    ISTIO_META_ROUTER_MODE: 'sni-dnat', ISTIO_META_REQUESTED_NETWORK_VIEW: 'network1', ISTIO_META_NETWORK: 'network1',
    ISTIO_META_CLUSTER_ID: 'cluster1', PILOT_CERT_PROVIDER: 'istiod', CA_ADDR: 'istiod.istio-system.svc:15012', JWT_POLICY: 'third-party-jwt',
    POD_NAME: 'fieldRef:metadata.name', POD_NAMESPACE: 'fieldRef:metadata.namespace', INSTANCE_IP: 'fieldRef:status.podIP',
    SERVICE_ACCOUNT: 'fieldRef:spec.serviceAccountName', ISTIO_META_WORKLOAD_NAME: 'istio-eastwestgateway',
  })) assert.equal(env[k], v, k);
  assert.equal((JSON.parse(env['PROXY_CONFIG'] ?? '{}') as { discoveryAddress?: string }).discoveryAddress, 'istiod.istio-system.svc:15012');
  assert.deepEqual(c.ports.map((p) => p.containerPort).sort((a, b) => a - b), [15012, 15017, 15021, 15090, 15443]);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/healthz/ready', port: 15021 });
  const mounts = Object.fromEntries(c.volumeMounts.map((m) => [m.name, m.mountPath]));
  assert.equal(mounts['istio-token'], '/var/run/secrets/tokens');
  assert.equal(mounts['istiod-ca-cert'], '/var/run/secrets/istio');
  assert.equal(mounts['istio-envoy'], '/etc/istio/proxy');
  assert.equal(mounts['istio-podinfo'], '/etc/istio/pod');
  const vols = Object.fromEntries(pod.spec.volumes.map((v) => [v.name, v]));
  assert.deepEqual(vols['istio-token']?.projected, { sources: [{ serviceAccountToken: { audience: 'istio-ca', expirationSeconds: 43200, path: 'istio-token' } }] });
  assert.deepEqual(vols['istiod-ca-cert']?.configMap, { name: 'istio-ca-root-cert' });
  assert.ok(vols['istio-podinfo']?.downwardAPI, 'pod labels for the agent (gateway selection)');
  // An ingress gateway without 15443 is not a network gateway.
  const ingress = podSpec(find(objects(PRIMARY), 'Deployment', 'istio-ingressgateway')).containers[0];
  assert.ok(ingress);
  assert.equal(envOf(ingress)['ISTIO_META_ROUTER_MODE'], 'standard');
  // hub/tag/proxy.image replace Istio's image as for sidecars.
  const custom = podSpec(find(objects(PRIMARY, ['values.global.hub=registry.local/istio', 'values.global.tag=1.28.1']), 'Deployment', 'istio-ingressgateway')).containers[0];
  assert.equal(custom?.image, 'registry.local/istio/proxyv2:1.28.1');
});
