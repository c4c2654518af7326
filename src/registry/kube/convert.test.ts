import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterId } from '../../model/ids.ts';
import { NO_NETWORK, networkId } from '../../model/network.ts';
import { compileMeshNetworks, EMPTY_MESH_NETWORKS } from '../network.ts';
import {
  convertEndpointSlice, convertProtocol, convertService, mergeEndpoints, podEssentials, slicePodKeys, sliceServiceName, sliceUnreferencedAddresses,
  withoutManagedFields, type SliceContext,
} from './convert.ts';
import type { KubeEndpointSlice, KubeNode, KubePod, KubeService } from './types.ts';

const c1 = clusterId('cluster1');
const opts = { cluster: c1, domainSuffix: 'cluster.local', trustDomain: 'td.example' };

test('protocol selection follows Istio: UDP, appProtocol over name, name prefix, well-known ports', () => {
  const table: [port: number, name: string, proto: string | undefined, app: string | undefined, want: string][] = [
    [80, 'http', 'TCP', undefined, 'HTTP'],
    [80, 'http-web', 'TCP', undefined, 'HTTP'],
    [80, 'HTTP2-x', 'TCP', undefined, 'HTTP2'],
    [80, 'grpc', undefined, undefined, 'GRPC'],
    [80, 'grpc-web', 'TCP', undefined, 'GRPC-Web'],
    [80, 'grpc-web-x', 'TCP', undefined, 'GRPC-Web'],
    [80, 'tcp-db', 'TCP', undefined, 'TCP'],
    [443, 'https-x', 'TCP', undefined, 'HTTPS'],
    [15443, 'tls', 'TCP', undefined, 'TLS'],
    [6379, 'redis', 'TCP', undefined, 'Redis'],
    [27017, 'mongo-x', 'TCP', undefined, 'Mongo'],
    [3306, 'mysql', 'TCP', undefined, 'MySQL'],
    [8080, 'http_proxy', 'TCP', undefined, 'HTTP_PROXY'],
    [80, 'web', 'TCP', undefined, 'UnsupportedProtocol'],
    [80, '', 'TCP', undefined, 'UnsupportedProtocol'],
    [3306, '', 'TCP', undefined, 'TCP'], // well-known ports default to TCP
    [53, 'dns', 'TCP', undefined, 'TCP'],
    [80, 'udp-x', 'TCP', undefined, 'UDP'], // the name decides, as in current Istio
    [53, 'dns', 'UDP', 'http', 'UDP'], // UDP wins over everything
    [80, 'tcp', 'TCP', 'http', 'HTTP'], // appProtocol wins over the name
    [80, 'http', 'TCP', 'grpc-web', 'GRPC-Web'],
    [80, 'http', 'TCP', 'kubernetes.io/h2c', 'UnsupportedProtocol'],
  ];
  for (const [port, name, proto, app, want] of table) {
    assert.equal(convertProtocol(port, name, proto, app), want, `${port} ${name} ${proto ?? '-'} ${app ?? '-'}`);
  }
});

function service(spec: NonNullable<KubeService['spec']>, extra: Partial<KubeService> = {}): KubeService {
  return { metadata: { name: 'eastwest', namespace: 'istio-system', labels: { app: 'gw' } }, spec, ...extra };
}

test('a ClusterIP Service: hostname, VIP for its cluster, ports, labels, selector', () => {
  const svc = convertService(service({ clusterIP: '10.96.0.10', selector: { app: 'gw' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { port: 53, protocol: 'UDP' }] }), opts);
  assert.equal(svc.hostname, 'eastwest.istio-system.svc.cluster.local');
  assert.deepEqual([...svc.clusterVIPs], [[c1, ['10.96.0.10']]]);
  assert.deepEqual(svc.ports, [{ name: 'http', port: 80, protocol: 'HTTP', targetPort: 8080 }, { name: '', port: 53, protocol: 'UDP' }]);
  assert.equal(svc.resolution, 'ClientSideLB');
  assert.equal(svc.type, 'ClusterIP');
  assert.deepEqual(svc.labels, { app: 'gw' });
  assert.deepEqual(svc.selector, { app: 'gw' });
  assert.equal(svc.clusterExternalAddresses.size, 0);
  assert.equal(svc.exportTo, undefined);
});

test('headless, ExternalName, dual-stack and address-less Services', () => {
  const table: [string, NonNullable<KubeService['spec']>, string, string[]][] = [
    ['headless', { clusterIP: 'None' }, 'Passthrough', ['0.0.0.0']],
    ['external name', { type: 'ExternalName', externalName: 'db.example.com' }, 'Alias', ['0.0.0.0']],
    ['dual stack', { clusterIP: '10.0.0.1', clusterIPs: ['10.0.0.1', 'fd00::1'] }, 'ClientSideLB', ['10.0.0.1', 'fd00::1']],
    ['no address yet', {}, 'ClientSideLB', ['0.0.0.0']],
  ];
  for (const [what, spec, resolution, vips] of table) {
    const svc = convertService(service(spec), opts);
    assert.equal(svc.resolution, resolution, what);
    assert.deepEqual(svc.clusterVIPs.get(c1), vips, what);
  }
  assert.equal(convertService(service({ type: 'ExternalName', externalName: 'db.example.com' }), opts).externalName, 'db.example.com');
});

test('external addresses: LoadBalancer ingress IP, else host name, plus externalIPs of any type', () => {
  const table: [string, KubeService, string[]][] = [
    ['LB ip and hostname', service({ type: 'LoadBalancer', clusterIP: '10.0.0.1' }, { status: { loadBalancer: { ingress: [{ ip: '172.18.0.10', hostname: 'ignored.example' }, { hostname: 'lb.example.com' }] } } }), ['172.18.0.10', 'lb.example.com']],
    ['LB plus externalIPs', service({ type: 'LoadBalancer', externalIPs: ['192.0.2.1'] }, { status: { loadBalancer: { ingress: [{ ip: '172.18.0.10' }] } } }), ['172.18.0.10', '192.0.2.1']],
    ['ingress ignored on ClusterIP', service({ type: 'ClusterIP' }, { status: { loadBalancer: { ingress: [{ ip: '172.18.0.10' }] } } }), []],
    ['externalIPs on ClusterIP', service({ type: 'ClusterIP', externalIPs: ['192.0.2.7'] }), ['192.0.2.7']],
    ['LB pending', service({ type: 'LoadBalancer' }), []],
  ];
  for (const [what, k, want] of table) {
    assert.deepEqual(convertService(k, opts).clusterExternalAddresses.get(c1) ?? [], want, what);
  }
});

test('service accounts from annotations and exportTo', () => {
  const svc = convertService({
    metadata: {
      name: 'reviews', namespace: 'bookinfo',
      annotations: {
        'alpha.istio.io/canonical-serviceaccounts': 'spiffe://other/ns/x/sa/y',
        'alpha.istio.io/kubernetes-serviceaccounts': 'reviews,bad/name',
        'networking.istio.io/exportTo': ' ., istio-system ,',
      },
    },
    spec: { clusterIP: '10.0.0.5' },
  }, opts);
  assert.deepEqual(svc.serviceAccounts, ['spiffe://other/ns/x/sa/y', 'spiffe://td.example/ns/bookinfo/sa/reviews']);
  assert.deepEqual(svc.exportTo, ['.', 'istio-system']);
});

// ----- EndpointSlices -----

function pod(name: string, ip: string, labels: Record<string, string> = {}, spec: KubePod['spec'] = {}): KubePod {
  return { metadata: { name, namespace: 'sample', labels }, spec, status: { podIP: ip, podIPs: [{ ip }] } };
}

function ctx(pods: KubePod[], extra: Partial<SliceContext> = {}): SliceContext {
  return {
    cluster: c1,
    podByKey: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    podsByIp: (ip) => pods.filter((p) => p.status?.podIP === ip),
    network: { systemNetwork: NO_NETWORK, meshNetworks: EMPTY_MESH_NETWORKS },
    ...extra,
  };
}

function slice(endpoints: NonNullable<KubeEndpointSlice['endpoints']>, extra: Partial<KubeEndpointSlice> = {}): KubeEndpointSlice {
  return {
    metadata: { name: 'hello-abc', namespace: 'sample', labels: { 'kubernetes.io/service-name': 'hello' } },
    addressType: 'IPv4',
    endpoints,
    ports: [{ name: 'http', port: 5000, protocol: 'TCP' }, { name: 'grpc', port: 5001 }],
    ...extra,
  };
}

test('which slices count, and what they reference', () => {
  assert.equal(sliceServiceName(slice([])), 'hello');
  assert.equal(sliceServiceName({ ...slice([]), addressType: 'FQDN' }), undefined);
  assert.equal(sliceServiceName({ ...slice([]), metadata: { name: 'x', namespace: 'sample' } }), undefined);
  assert.equal(sliceServiceName({ ...slice([]), metadata: { name: 'x', namespace: 'sample', labels: { 'kubernetes.io/service-name': 'hello', 'multicluster.kubernetes.io/service-name': 'hello' } } }), undefined);
  const s = slice([
    { addresses: ['10.1.0.1'], targetRef: { kind: 'Pod', name: 'a' } },
    { addresses: ['10.1.0.2'], targetRef: { kind: 'Pod', name: 'b', namespace: 'other' } },
    { addresses: ['10.1.0.3', '10.1.0.4'] },
  ]);
  assert.deepEqual(slicePodKeys(s), ['sample/a', 'other/b']);
  assert.deepEqual(sliceUnreferencedAddresses(s), ['10.1.0.3', '10.1.0.4']);
});

test('endpoint fields from the slice and its pod: ports, readiness, account, tlsMode, labels', () => {
  const pods = [
    pod('injected', '10.1.0.1', { app: 'hello', 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/cluster': 'spoofed' }, { serviceAccountName: 'hello-sa', nodeName: 'node-a' }),
    pod('plain', '10.1.0.2', { app: 'hello' }),
  ];
  const table: [what: string, ep: NonNullable<KubeEndpointSlice['endpoints']>[number], want: Record<string, unknown> | undefined][] = [
    ['ready injected pod', { addresses: ['10.1.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'injected' } },
      { healthy: true, serviceAccount: 'hello-sa', tlsMode: 'istio', nodeName: 'node-a', pod: { name: 'injected', namespace: 'sample' },
        labels: { app: 'hello', 'security.istio.io/tlsMode': 'istio', 'topology.istio.io/cluster': 'cluster1', 'kubernetes.io/hostname': 'node-a' } }],
    ['ready unset counts as ready; default account; no tlsMode label', { addresses: ['10.1.0.2'], targetRef: { kind: 'Pod', name: 'plain' } },
      { healthy: true, serviceAccount: 'default', tlsMode: 'disabled' }],
    ['ready null counts as ready', { addresses: ['10.1.0.2'], conditions: { ready: null }, targetRef: { kind: 'Pod', name: 'plain' } }, { healthy: true }],
    ['not ready is kept as unhealthy', { addresses: ['10.1.0.2'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'plain' } }, { healthy: false }],
    ['pod not cached yet: skipped until it arrives', { addresses: ['10.1.0.9'], targetRef: { kind: 'Pod', name: 'missing' } }, undefined],
    ['no targetRef: pod found by IP in the namespace', { addresses: ['10.1.0.1'] }, { serviceAccount: 'hello-sa', tlsMode: 'istio' }],
    ['no targetRef and no pod: bare endpoint', { addresses: ['10.1.0.77'] },
      { serviceAccount: '', tlsMode: 'disabled', labels: { 'topology.istio.io/cluster': 'cluster1' } }],
  ];
  for (const [what, ep, want] of table) {
    const out = convertEndpointSlice(slice([ep]), ctx(pods));
    if (want === undefined) {
      assert.deepEqual(out, [], what);
      continue;
    }
    assert.equal(out.length, 1, what);
    const got = out[0];
    assert.ok(got);
    assert.deepEqual(got.ports, { http: 5000, grpc: 5001 }, what);
    assert.equal(got.cluster, 'cluster1');
    for (const [k, v] of Object.entries(want)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${what}: ${k}`);
  }
  // Slice ports without a number ("all ports") are skipped; an unnamed port maps under ''.
  const unnamed = convertEndpointSlice(slice([{ addresses: ['10.1.0.2'] }], { ports: [{ port: 80 }, { name: 'all', port: null }] }), ctx(pods));
  assert.deepEqual(unnamed[0]?.ports, { '': 80 });
  // FQDN slices produce nothing.
  assert.deepEqual(convertEndpointSlice(slice([{ addresses: ['db.example.com'] }], { addressType: 'FQDN' }), ctx(pods)), []);
});

test('locality: istio-locality label > Node labels > slice zone with pod region/subzone labels', () => {
  const node: KubeNode = { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/region': 'nr', 'topology.kubernetes.io/zone': 'nz', 'topology.istio.io/subzone': 'ns' } } };
  const table: [what: string, labels: Record<string, string>, withNode: boolean, want: string][] = [
    ['label override', { 'istio-locality': 'r1.z1.s1' }, true, 'r1/z1/s1'],
    ['node labels', {}, true, 'nr/nz/ns'],
    ['no node: slice zone only', {}, false, '/zone-from-slice/'],
    ['no node: pod region and subzone labels', { 'topology.kubernetes.io/region': 'pr', 'topology.istio.io/subzone': 'ps' }, false, 'pr/zone-from-slice/ps'],
  ];
  for (const [what, labels, withNode, want] of table) {
    const pods = [pod('p', '10.1.0.1', labels, { nodeName: 'node-a' })];
    const extra: Partial<SliceContext> = withNode ? { nodeByName: (n) => (n === 'node-a' ? node : undefined) } : {};
    const [ep] = convertEndpointSlice(slice([{ addresses: ['10.1.0.1'], zone: 'zone-from-slice', targetRef: { kind: 'Pod', name: 'p' } }]), ctx(pods, extra));
    assert.ok(ep, what);
    assert.equal(`${ep.locality.region}/${ep.locality.zone}/${ep.locality.subzone}`, want, what);
    if (ep.locality.zone) assert.equal(ep.labels['topology.kubernetes.io/zone'], ep.locality.zone, `${what}: zone label`);
  }
});

test('endpoint network: pod label > system namespace > meshNetworks, and the network label is added', () => {
  const mesh = compileMeshNetworks({ networks: { netcidr: { endpoints: [{ fromCidr: '10.1.0.0/16' }] } } }, c1);
  const table: [what: string, podLabels: Record<string, string>, system: string, want: string][] = [
    ['pod label wins', { 'topology.istio.io/network': 'podnet' }, 'network2', 'podnet'],
    ['system namespace', {}, 'network2', 'network2'],
    ['meshNetworks fromCidr', {}, '', 'netcidr'],
  ];
  for (const [what, labels, system, want] of table) {
    const [ep] = convertEndpointSlice(slice([{ addresses: ['10.1.0.1'], targetRef: { kind: 'Pod', name: 'p' } }]),
      ctx([pod('p', '10.1.0.1', labels)], { network: { systemNetwork: networkId(system), meshNetworks: mesh } }));
    assert.equal(ep?.network, want, what);
    assert.equal(ep.labels['topology.istio.io/network'], want, what);
  }
  const [bare] = convertEndpointSlice(slice([{ addresses: ['10.9.0.1'] }]), ctx([]));
  assert.equal(bare?.network, '');
  assert.equal(bare.labels['topology.istio.io/network'], undefined, 'no label for the empty network');
});

test('endpoints of several slices merge by address, first slice wins per port name, sorted', () => {
  const a = convertEndpointSlice(slice([{ addresses: ['10.1.0.2'], conditions: { ready: true } }, { addresses: ['10.1.0.1'] }], { ports: [{ name: 'http', port: 5000 }] }), ctx([]));
  const b = convertEndpointSlice(slice([{ addresses: ['10.1.0.2'], conditions: { ready: false } }], { ports: [{ name: 'http', port: 9999 }, { name: 'grpc', port: 5001 }] }), ctx([]));
  const merged = mergeEndpoints([a, b]);
  assert.deepEqual(merged.map((e) => [e.address, e.ports, e.healthy]), [
    ['10.1.0.1', { http: 5000 }, true],
    ['10.1.0.2', { http: 5000, grpc: 5001 }, true],
  ]);
});

test('the registry keeps only what endpoints are built from: a pod\'s labels, account, node and IPs; no managedFields', (t) => {
  const full = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: 'hw-0', namespace: 'sample', uid: 'u1', resourceVersion: '42', labels: { app: 'hw', 'security.istio.io/tlsMode': 'istio' },
      annotations: { 'sidecar.istio.io/status': JSON.stringify({ containers: ['istio-proxy'], volumes: Array.from({ length: 20 }, (_, i) => `v${i}`) }) },
      managedFields: Array.from({ length: 4 }, (_, i) => ({ manager: `m${i}`, operation: 'Apply', fieldsV1: { 'f:spec': { 'f:containers': {} } } })),
    },
    spec: { serviceAccountName: 'hw', nodeName: 'node-a', containers: [{ name: 'app', image: 'x', env: Array.from({ length: 30 }, (_, i) => ({ name: `E${i}`, value: 'v'.repeat(40) })) }] },
    status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }], conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', ready: true }] },
  } as unknown as KubePod;
  const kept = podEssentials(full);
  assert.deepEqual(kept, {
    metadata: { name: 'hw-0', namespace: 'sample', uid: 'u1', resourceVersion: '42', labels: { app: 'hw', 'security.istio.io/tlsMode': 'istio' } },
    spec: { serviceAccountName: 'hw', nodeName: 'node-a' },
    status: { phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }, { ip: 'fd00::5' }] },
  });
  t.diagnostic(`pod JSON ${JSON.stringify(full).length} -> ${JSON.stringify(kept).length} bytes`);

  const svc = { metadata: { name: 's', namespace: 'n', annotations: { 'networking.istio.io/exportTo': '.' }, managedFields: [{ manager: 'kubectl' }] }, spec: { ports: [] } } as unknown as KubeService;
  assert.deepEqual(withoutManagedFields(svc), { metadata: { name: 's', namespace: 'n', annotations: { 'networking.istio.io/exportTo': '.' } }, spec: { ports: [] } });
  const plain = { metadata: { name: 'x' } } as KubeService;
  assert.equal(withoutManagedFields(plain), plain, 'nothing to drop: the same object');
});
