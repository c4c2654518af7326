/**
 * Workloads written by hand into a test-bed cluster without nodes: what a load-balancer controller
 * and a kubelet would write. The addresses are only data in API objects (EndpointSlices may not hold
 * loopback addresses); nothing dials them.
 */
import type { TestbedCluster } from './testbed/testbed.ts';

/** What a load-balancer controller would write (the test bed has none). */
export async function setLoadBalancerIp(c: TestbedCluster, name: string, ip: string | undefined, ns = 'istio-system'): Promise<void> {
  const svc = await c.requestOk('GET', `/api/v1/namespaces/${ns}/services/${name}`) as Record<string, unknown>;
  await c.requestOk('PUT', `/api/v1/namespaces/${ns}/services/${name}/status`, { ...svc, status: { loadBalancer: ip === undefined ? {} : { ingress: [{ ip }] } } });
}

/** helloworld `version` in namespace sample: Service, Running pods (tlsMode istio) at `ips`, one EndpointSlice. */
export async function sampleApp(c: TestbedCluster, version: string, ips: readonly string[]): Promise<void> {
  await c.ensureNamespace('sample');
  await c.requestOk('POST', '/api/v1/namespaces/sample/services', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'helloworld', labels: { app: 'helloworld' } },
    spec: { selector: { app: 'helloworld' }, ports: [{ name: 'http', port: 5000 }] },
  }, true);
  for (const [i, ip] of ips.entries()) {
    const name = `helloworld-${version}-${i}`;
    await c.requestOk('POST', '/api/v1/namespaces/sample/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'helloworld', version, 'security.istio.io/tlsMode': 'istio' } },
      spec: { containers: [{ name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1:1.0' }] },
    }, true);
    const pod = await c.requestOk('GET', `/api/v1/namespaces/sample/pods/${name}`) as Record<string, unknown>;
    await c.requestOk('PUT', `/api/v1/namespaces/sample/pods/${name}/status`, { ...pod, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } });
  }
  await c.requestOk('POST', '/apis/discovery.k8s.io/v1/namespaces/sample/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `helloworld-${version}`, labels: { 'kubernetes.io/service-name': 'helloworld' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 5000, protocol: 'TCP' }],
    endpoints: ips.map((ip, i) => ({ addresses: [ip], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'sample', name: `helloworld-${version}-${i}` } })),
  }, true);
}
