/**
 * The registry: lookup order, and every resource every generator makes for the fixture mesh is
 * valid protobuf (encode + decode) and passes Envoy's protoc-gen-validate rules (src/testing/proto/validate.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL,
} from '../../model/type-urls.ts';
import { formatIssues, validate } from '../../testing/proto/validate.ts';
import { cdsGenerator } from './cds.ts';
import { edsGenerator } from './eds.ts';
import { meshView } from '../../testing/mesh/fixtures.ts';
import { grpcCdsGenerator } from './grpc/cds.ts';
import { grpcLdsGenerator } from './grpc/lds.ts';
import { GENERATORS, findGenerator } from './index.ts';
import { gatewayLdsGenerator } from './lds-gateway.ts';
import { ldsGenerator } from './lds.ts';
import { rdsGenerator } from './rds.ts';
import { proxy } from '../../testing/mesh/builders.ts';

test('findGenerator: <GENERATOR>/<url>, then <type>/<url>, then <url>', () => {
  const cases = [
    { p: { generator: 'grpc', type: 'sidecar' as const }, url: LISTENER_TYPE_URL, want: grpcLdsGenerator },
    { p: { generator: 'grpc', type: 'sidecar' as const }, url: CLUSTER_TYPE_URL, want: grpcCdsGenerator },
    // grpc has its own EDS entry, which is the shared EDS generator
    { p: { generator: 'grpc', type: 'sidecar' as const }, url: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, want: edsGenerator },
    { p: { generator: '', type: 'router' as const }, url: LISTENER_TYPE_URL, want: gatewayLdsGenerator },
    { p: { generator: '', type: 'router' as const }, url: CLUSTER_TYPE_URL, want: cdsGenerator },
    { p: { generator: '', type: 'sidecar' as const }, url: LISTENER_TYPE_URL, want: ldsGenerator },
    { p: { generator: '', type: 'sidecar' as const }, url: ROUTE_CONFIGURATION_TYPE_URL, want: rdsGenerator },
    // an unknown family falls back to the proxy type, then the bare URL
    { p: { generator: 'event', type: 'router' as const }, url: LISTENER_TYPE_URL, want: gatewayLdsGenerator },
  ];
  for (const c of cases) assert.equal(findGenerator(c.p, c.url), c.want, `${c.p.generator}/${c.p.type} ${c.url}`);
  assert.equal(findGenerator({ generator: '', type: 'sidecar' }, 'istio.io/debug/syncz'), undefined);
});

const PROXIES = [
  proxy({ namespace: 'sample', network: 'network1', cluster: 'cluster1', ip: '10.1.0.7' }),
  proxy({ namespace: 'default', network: 'network2', cluster: 'cluster2', ip: '10.2.0.1' }),
  proxy({ type: 'router', namespace: 'istio-system', network: 'network2', networkView: 'network2', cluster: 'cluster2', labels: { istio: 'eastwestgateway' } }),
  proxy({ generator: 'grpc', namespace: 'sample', network: 'network1', labels: { 'security.istio.io/tlsMode': 'istio' } }),
];

const EXTRA_NAMES: Record<string, string[]> = {
  [LISTENER_TYPE_URL]: ['xds.istio.io/grpc/lds/inbound/0.0.0.0:17070', 'helloworld:5000'],
  [ROUTE_CONFIGURATION_TYPE_URL]: ['helloworld:5000', '9999'],
};

test('every generated resource encodes, decodes and passes protoc-gen-validate', () => {
  let checked = 0;
  for (const p of PROXIES) {
    for (const url of [LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, CLUSTER_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL]) {
      const g = findGenerator(p, url);
      assert.ok(g, url);
      const view = meshView();
      const resources = [...g.generate(p, view, 'wildcard'), ...g.generate(p, view, EXTRA_NAMES[url] ?? [])];
      for (const r of resources) {
        const bytes = g.codec.encode(r.resource);
        assert.ok(bytes.length > 0, r.name);
        g.codec.decode(bytes);
        const report = validate(g.codec.typeName, r.resource);
        assert.deepEqual(report.issues, [], `${p.id} ${r.name}:\n${formatIssues(report.issues)}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 50, `checked ${checked}`);
});

test('cache keys: proxies that differ only in fields a generator does not read share a key', () => {
  const view = meshView();
  const a = proxy({ namespace: 'sample', network: 'network1', ip: '10.5.0.1' });
  const b = proxy({ namespace: 'sample', network: 'network1', ip: '10.5.0.2' });
  for (const g of GENERATORS.values()) assert.equal(g.cacheKey(a, view), g.cacheKey(b, view), g.reads.join(','));
  const c = proxy({ namespace: 'sample', network: 'network2', ip: '10.5.0.1' });
  assert.notEqual(edsGenerator.cacheKey(a, view), edsGenerator.cacheKey(c, view));
  // a proxy that is a service endpoint has its own inbound clusters
  const d = proxy({ namespace: 'sample', network: 'network1', ip: '10.1.0.7' });
  assert.notEqual(cdsGenerator.cacheKey(a, view), cdsGenerator.cacheKey(d, view));
});
