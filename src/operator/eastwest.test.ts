/** Expectations from docs/istio-compat.md §3.1-docs/istio-compat.md §3.3. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { documents, eastWestGateway, exposeIstiod, exposeServices } from './eastwest.ts';
import { planInstall } from './manifest.ts';
import { stringify } from 'yaml';

test('gen-eastwest-gateway, multi-network (docs/istio-compat.md §3.1)', () => {
  assert.deepEqual(eastWestGateway({ network: 'network1' }), {
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: 'eastwest' },
    spec: {
      revision: '',
      profile: 'empty',
      components: {
        ingressGateways: [{
          name: 'istio-eastwestgateway',
          label: { istio: 'eastwestgateway', app: 'istio-eastwestgateway', 'topology.istio.io/network': 'network1' },
          enabled: true,
          k8s: {
            env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: 'network1' }],
            service: {
              ports: [
                { name: 'status-port', port: 15021, targetPort: 15021 },
                { name: 'tls', port: 15443, targetPort: 15443 },
                { name: 'tls-istiod', port: 15012, targetPort: 15012 },
                { name: 'tls-webhook', port: 15017, targetPort: 15017 },
              ],
            },
          },
        }],
      },
      values: { gateways: { 'istio-ingressgateway': { injectionTemplate: 'gateway' } }, global: { network: 'network1' } },
    },
  });
});

test('gen-eastwest-gateway --single-cluster has no network label, view or value; --revision is recorded', () => {
  const iop = eastWestGateway({ singleCluster: true, revision: 'canary' }) as unknown as { spec: { revision: string; components: { ingressGateways: { label: Record<string, string>; k8s: Record<string, unknown> }[] }; values: Record<string, unknown> } };
  assert.equal(iop.spec.revision, 'canary');
  const gw = iop.spec.components.ingressGateways[0];
  assert.ok(gw);
  assert.deepEqual(gw.label, { istio: 'eastwestgateway', app: 'istio-eastwestgateway' });
  assert.equal(gw.k8s['env'], undefined);
  assert.equal(iop.spec.values['global'], undefined);
});

test('the generated gateway installs: LoadBalancer Service with the labels and ports, network view env', () => {
  const text = stringify(eastWestGateway({ network: 'network2', cluster: 'cluster2', mesh: 'mesh1' }));
  const objs = planInstall([{ text, source: 'stdin' }]).rendered.map((r) => r.object);
  assert.ok(!objs.some((o) => o.metadata.name === 'istiod'), 'profile empty: no control plane');
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'istio-eastwestgateway');
  assert.ok(svc);
  assert.equal(svc.metadata.labels?.['topology.istio.io/network'], 'network2');
  assert.equal(svc.metadata.labels['istio'], 'eastwestgateway');
  const spec = svc['spec'] as { type: string; ports: { name: string; port: number }[] };
  assert.equal(spec.type, 'LoadBalancer');
  assert.deepEqual(spec.ports.map((p) => `${p.name}:${p.port}`), ['status-port:15021', 'tls:15443', 'tls-istiod:15012', 'tls-webhook:15017']);
  const dep = objs.find((o) => o.kind === 'Deployment');
  const env = ((dep?.['spec'] as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]?.env ?? []);
  const get = (n: string) => env.find((e) => e.name === n)?.value;
  assert.equal(get('ISTIO_META_REQUESTED_NETWORK_VIEW'), 'network2');
  assert.equal(get('ISTIO_META_NETWORK'), 'network2');
  assert.equal(get('ISTIO_META_CLUSTER_ID'), 'cluster2');
  assert.equal(get('ISTIO_META_MESH_ID'), 'mesh1');
});

test('expose-services (docs/istio-compat.md §3.2)', () => {
  assert.deepEqual(exposeServices(), [{
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'cross-network-gateway' },
    spec: { selector: { istio: 'eastwestgateway' }, servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }] },
  }]);
});

test('expose-istiod (docs/istio-compat.md §3.3)', () => {
  const [gw, vs] = exposeIstiod();
  assert.deepEqual(gw, {
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'istiod-gateway' },
    spec: {
      selector: { istio: 'eastwestgateway' },
      servers: [
        { port: { name: 'tls-istiod', number: 15012, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
        { port: { name: 'tls-istiodwebhook', number: 15017, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
      ],
    },
  });
  const host = 'istiod.istio-system.svc.cluster.local';
  assert.deepEqual(vs, {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'istiod-vs' },
    spec: {
      hosts: ['*'], gateways: ['istiod-gateway'],
      tls: [
        { match: [{ port: 15012, sniHosts: ['*'] }], route: [{ destination: { host, port: { number: 15012 } } }] },
        { match: [{ port: 15017, sniHosts: ['*'] }], route: [{ destination: { host, port: { number: 443 } } }] },
      ],
    },
  });
});

test('expose-istiod with a revision matches the revision\'s SNI names', () => {
  const vs = exposeIstiod({ revision: 'canary' })[1] as unknown as { metadata: { name: string }; spec: { tls: { match: { sniHosts: string[] }[]; route: { destination: { host: string } }[] }[] } };
  assert.equal(vs.metadata.name, 'istiod-vs-canary');
  const first = vs.spec.tls[0];
  assert.ok(first);
  assert.deepEqual(first.match[0]?.sniHosts, ['istiod-canary.istio-system.svc', 'istiod-canary.istio-system.svc.cluster.local']);
  assert.equal(first.route[0]?.destination.host, 'istiod-canary.istio-system.svc.cluster.local');
});

test('documents() is multi-document YAML', () => {
  const docs = parseAllDocuments(documents(exposeIstiod()));
  assert.ok(Array.isArray(docs));
  assert.deepEqual(docs.map((d) => (d.toJS() as { kind: string }).kind), ['Gateway', 'VirtualService']);
});
