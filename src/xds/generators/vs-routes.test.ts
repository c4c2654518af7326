/** Sidecar RDS with VirtualService `http` routes: the objects go through the real converter, the output through the codec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertVirtualService } from '../../config/virtual-service.ts';
import type { VirtualService } from '../../model/mesh-view.ts';
import { routeConfigurationCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { crossNetworkGateway, echo, helloworld, hidden, mysql } from '../../testing/mesh/fixtures.ts';
import { generate } from './rds.ts';
import { fakeMeshView, proxy, roundTrip, svc } from '../../testing/mesh/builders.ts';
import { virtualServiceProblems } from './vs-routes.ts';

const HW = 'helloworld.sample.svc.cluster.local';
/** helloworld with a second port, so a destination without a port takes the listener's. */
const multi = svc({ name: 'multi', namespace: 'sample', ports: [[8080, 'HTTP'], [9090, 'HTTP']], vips: { cluster1: ['10.96.0.60'] } });

function vs(spec: Record<string, unknown>, name = 'helloworld', namespace = 'sample'): VirtualService {
  const r = convertVirtualService({ metadata: { name, namespace }, spec });
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

function routes(vss: VirtualService[], port = 5000, ns = 'sample', host = HW): T.Route[] {
  const view = fakeMeshView({ services: [helloworld, echo, mysql, hidden, multi], istioGateways: [crossNetworkGateway], virtualServices: vss });
  const [rc] = roundTrip(routeConfigurationCodec, generate(proxy({ namespace: ns, cluster: 'cluster1' }), view, [String(port)]));
  const vh = rc?.virtualHosts?.find((v) => v.name === `${host}:${port}`);
  assert.ok(vh, `virtual host ${host}:${port}`);
  return vh.routes ?? [];
}

const SPLIT = { hosts: [HW], http: [{ route: [{ destination: { host: HW, subset: 'v1' }, weight: 80 }, { destination: { host: HW, subset: 'v2' }, weight: 20 }], retries: { attempts: 3, perTryTimeout: '2s' }, timeout: '5s' }] };

test('vs routes: the conformance split (80/20 subsets, 3 retries of 2s, 5s timeout) as istiod builds it', () => {
  const rs = routes([vs(SPLIT)]);
  assert.equal(rs.length, 1);
  const [r] = rs;
  console.log(JSON.stringify(r));
  assert.deepEqual(r?.match, { prefix: '/' });
  assert.deepEqual(r.route?.weightedClusters?.clusters?.map((c) => [c.name, c.weight?.value]), [[`outbound|5000|v1|${HW}`, 80], [`outbound|5000|v2|${HW}`, 20]]);
  assert.equal(r.route.weightedClusters.totalWeight, undefined, 'istiod leaves total_weight unset');
  assert.equal(r.route.timeout?.seconds, '5');
  assert.equal(r.route.maxGrpcTimeout?.seconds, '5');
  const rp = r.route.retryPolicy;
  assert.deepEqual(rp?.numRetries, { value: 3 });
  assert.equal(rp.perTryTimeout?.seconds, '2');
  assert.equal(rp.retryOn, 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes');
  assert.equal(rp.hostSelectionRetryMaxAttempts, '5');
  assert.deepEqual(rp.retryHostPredicate?.map((p) => p.name), ['envoy.retry_host_predicates.previous_hosts']);
  assert.equal(r.decorator?.operation, 'helloworld:5000/*');
  assert.equal(r.metadata?.filterMetadata?.['istio']?.fields?.['config']?.stringValue, '/apis/networking.istio.io/v1/namespaces/sample/virtual-service/helloworld');
});

test('vs routes: one destination is a plain cluster; short host and no port resolve; defaults: 0s timeout, default retries', () => {
  const [r] = routes([vs({ hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld', subset: 'v2' } }] }] })]);
  assert.equal(r?.route?.cluster, `outbound|5000|v2|${HW}`);
  assert.equal(r.route.weightedClusters, undefined);
  assert.equal(r.route.timeout?.seconds, '0');
  assert.equal(r.route.maxGrpcTimeout?.seconds, '0');
  assert.deepEqual(r.route.retryPolicy?.numRetries, { value: 2 });
  assert.equal(r.decorator?.operation, `${HW}:5000/*`);
});

test('vs routes: matches (uri prefix/exact, headers sorted) one route each, other ports left out, routes after a match-all dropped', () => {
  const rs = routes([vs({ hosts: [HW], http: [
    { name: 'canary', match: [{ name: 'hdr', headers: { 'X-User': { exact: 'jason' }, 'a-first': { prefix: 'x' } } }, { uri: { exact: '/exact' } }, { uri: { prefix: '/p' }, port: 9999 }], route: [{ destination: { host: HW, subset: 'v2' } }] },
    { match: [{ uri: { regex: '/r.*' }, ignoreUriCase: true }], route: [{ destination: { host: HW, subset: 'v1' } }], retries: { attempts: 0 } },
    { route: [{ destination: { host: HW } }], retries: { attempts: 1, retryOn: '5xx,503, gateway-error' } },
    { route: [{ destination: { host: HW, subset: 'never' } }] },
  ] })]);
  console.log(rs.map((r) => `${r.name ?? ''} ${JSON.stringify(r.match)}`).join('\n'));
  assert.deepEqual(rs.map((r) => r.name ?? ''), ['canary.hdr', 'canary', '', '']);
  assert.deepEqual(rs[0]?.match?.headers?.map((h) => [h.name, h.stringMatch?.exact ?? h.stringMatch?.prefix]), [['a-first', 'x'], ['x-user', 'jason']]);
  assert.equal(rs[0].match.prefix, '/');
  assert.deepEqual(rs[0].match.caseSensitive, { value: true });
  assert.equal(rs[1]?.match?.path, '/exact');
  assert.equal(rs[1].decorator?.operation, `${HW}:5000/exact`);
  assert.equal(rs[2]?.match?.safeRegex?.regex, '/r.*');
  assert.deepEqual(rs[2].match.caseSensitive, { value: false });
  assert.equal(rs[2].route?.retryPolicy, undefined, 'attempts 0: no retries');
  const rp = rs[3]?.route?.retryPolicy;
  assert.equal(rp?.retryOn, '5xx,gateway-error,retriable-status-codes');
  assert.deepEqual(rp.retriableStatusCodes, [503]);
  assert.deepEqual(rp.numRetries, { value: 1 });
  assert.equal(rs[3]?.route?.cluster, `outbound|5000||${HW}`);
});

test('vs routes: a destination without a port on a two-port service takes the listener port; zero weights are left out', () => {
  const MH = 'multi.sample.svc.cluster.local';
  const rs = routes([vs({ hosts: ['multi'], http: [{ route: [{ destination: { host: 'multi', subset: 'a' }, weight: 100 }, { destination: { host: 'multi', subset: 'b' }, weight: 0 }] }] }, 'multi')], 9090, 'sample', MH);
  assert.deepEqual(rs[0]?.route?.weightedClusters?.clusters?.map((c) => c.name), [`outbound|9090|a|${MH}`]);
  assert.equal(rs[0].decorator?.operation, 'multi:9090/*');
});

test('vs routes: only `mesh` VirtualServices exported to the proxy\'s namespace apply; other hosts keep the default route', () => {
  const gwOnly = vs({ ...SPLIT, gateways: ['istio-system/cross-network-gateway'] });
  assert.equal(routes([gwOnly])[0]?.name, 'default');
  const local = vs({ ...SPLIT, exportTo: ['.'] });
  assert.ok(routes([local], 5000, 'sample')[0]?.route?.weightedClusters, 'exported to its own namespace');
  assert.equal(routes([local], 5000, 'default')[0]?.name, 'default', 'not exported to default');
  assert.ok(routes([vs({ ...SPLIT, exportTo: ['default'] })], 5000, 'default')[0]?.route?.weightedClusters, 'exported by name');
  const echoRoutes = routes([vs(SPLIT)], 7070, 'sample', 'echo.sample.svc.cluster.local');
  assert.equal(echoRoutes[0]?.name, 'default');
});

test('vs routes: an unknown destination host keeps the default route and is named in a problem', () => {
  const bad = vs({ hosts: [HW], http: [{ route: [{ destination: { host: 'nope' } }] }] }, 'bad');
  assert.equal(routes([bad])[0]?.name, 'default');
  const problems = virtualServiceProblems(fakeMeshView({ services: [helloworld], virtualServices: [bad] }));
  console.log(problems.join('\n'));
  assert.deepEqual(problems, ['VirtualService sample/bad: spec.http[0].route[0].destination.host: no service nope.sample.svc.cluster.local in the mesh; its http routes are not used']);
});

test('vs routes: on route configuration 80 a VirtualService host with no port 80 gets its own virtual host, as istiod does', () => {
  const view = fakeMeshView({ services: [helloworld, echo], virtualServices: [vs(SPLIT)] });
  const [rc] = roundTrip(routeConfigurationCodec, generate(proxy({ namespace: 'sample', cluster: 'cluster1' }), view, ['80']));
  console.log(rc?.virtualHosts?.map((v) => `${v.name ?? ''} ${JSON.stringify(v.domains)}`).join('\n'));
  assert.deepEqual(rc?.virtualHosts?.map((v) => v.name), [`${HW}:80`, 'allow_any']);
  const vh = rc.virtualHosts[0];
  assert.deepEqual(vh?.domains, [HW]);
  assert.equal(vh.includeRequestAttemptCount, true);
  assert.deepEqual(vh.routes?.[0]?.route?.weightedClusters?.clusters?.map((c) => c.name), [`outbound|80|v1|${HW}`, `outbound|80|v2|${HW}`]);
  assert.equal(vh.routes[0].decorator?.operation, 'helloworld:80/*');
  const [rc5] = roundTrip(routeConfigurationCodec, generate(proxy({ namespace: 'sample', cluster: 'cluster1' }), view, ['7070']));
  assert.ok(!rc5?.virtualHosts?.some((v) => v.name === `${HW}:7070`), 'only port 80');
});
