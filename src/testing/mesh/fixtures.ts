/**
 * Test data: the primary-remote, multi-network mesh of docs/architecture.md "Scenarios", scenario 1 in miniature, as plain
 * arrays (cluster1/network1 with the control plane, cluster2/network2, plus cluster3/network3 with two
 * gateways so the docs/istio-compat.md §9.3 arithmetic shows up). For unit tests only.
 */
import type { IstioGateway, MeshView } from '../../model/mesh-view.ts';
import { ep, fakeMeshView, gw, svc } from './builders.ts';

export const helloworld = svc({ name: 'helloworld', namespace: 'sample', ports: [[5000, 'HTTP']], vips: { cluster1: ['10.96.0.20'], cluster2: ['10.97.0.20'] } });
export const echo = svc({ name: 'echo', namespace: 'sample', ports: [{ name: 'grpc', port: 7070, protocol: 'GRPC' }], vips: { cluster1: ['10.96.0.21'] } });
export const mysql = svc({ name: 'mysql', namespace: 'db', ports: [[3306, 'TCP']], vips: { cluster1: ['10.96.0.30'] } });
export const dns = svc({ name: 'kube-dns', namespace: 'kube-system', ports: [[53, 'UDP']], vips: { cluster1: ['10.96.0.10'] } });
export const hidden = svc({ name: 'private', namespace: 'other', ports: [[8080, 'HTTP']], exportTo: ['.'], vips: { cluster1: ['10.96.0.40'] } });
/** A service that exists only in cluster2. */
export const remoteOnly = svc({ name: 'ledger', namespace: 'sample', ports: [[6000, 'TCP']], vips: { cluster2: ['10.97.0.50'] } });

export const gwB = gw('network2', '198.51.100.2', 'cluster2');
export const gwC1 = gw('network3', '203.0.113.31', 'cluster3');
export const gwC2 = gw('network3', '203.0.113.32', 'cluster3');

/** samples/multicluster/expose-services.yaml (docs/istio-compat.md §3.2). */
export const crossNetworkGateway: IstioGateway = {
  name: 'cross-network-gateway',
  namespace: 'istio-system',
  selector: { istio: 'eastwestgateway' },
  servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, hosts: ['*.local'], tls: { mode: 'AUTO_PASSTHROUGH' } }],
};

export const HW_V1 = { app: 'helloworld', version: 'v1' };
export const HW_V2 = { app: 'helloworld', version: 'v2' };

export function meshView(): MeshView {
  return fakeMeshView({
    services: [helloworld, echo, mysql, dns, hidden, remoteOnly],
    endpoints: [
      ep({ service: helloworld, address: '10.1.0.1', network: 'network1', cluster: 'cluster1', labels: HW_V1, serviceAccount: 'helloworld', pod: 'hw-v1-a' }),
      ep({ service: helloworld, address: '10.1.0.2', network: 'network1', cluster: 'cluster1', labels: HW_V2, serviceAccount: 'helloworld', pod: 'hw-v2-a' }),
      ep({ service: helloworld, address: '10.2.0.1', network: 'network2', cluster: 'cluster2', labels: HW_V1, serviceAccount: 'helloworld' }),
      ep({ service: helloworld, address: '10.2.0.2', network: 'network2', cluster: 'cluster2', labels: HW_V2, serviceAccount: 'helloworld' }),
      ep({ service: helloworld, address: '10.2.0.3', network: 'network2', cluster: 'cluster2', labels: HW_V2, serviceAccount: 'helloworld' }),
      ep({ service: helloworld, address: '10.3.0.1', network: 'network3', cluster: 'cluster3', labels: HW_V1, serviceAccount: 'helloworld' }),
      ep({ service: echo, address: '10.1.0.7', network: 'network1', cluster: 'cluster1', serviceAccount: 'echo', port: 17070 }),
      ep({ service: mysql, address: '10.1.0.9', network: 'network1', cluster: 'cluster1', tlsMode: 'disabled' }),
      ep({ service: mysql, address: '10.2.0.9', network: 'network2', cluster: 'cluster2', tlsMode: 'disabled' }),
    ],
    gateways: [gwB, gwC1, gwC2],
    istioGateways: [crossNetworkGateway],
    destinationRules: [{ host: helloworld.hostname, namespace: 'sample', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] }],
  });
}
