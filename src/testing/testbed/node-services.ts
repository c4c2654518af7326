/**
 * The per-node services beside the kubelet, all in the node's network namespace: socat relays
 * that give the namespace the loopback API server at 127.0.0.1:6443 and at the cluster's public
 * address on 443 (a unix socket joins them: sockets in the file system cross network namespaces), kube-proxy in iptables mode (its rules stay
 * in the namespace, so clusters never rewrite each other's chains) and CoreDNS serving
 * `cluster.local` on the pods' gateway address (the kubelet's clusterDNS); and, in the root
 * namespace, the LoadBalancer address allocator (lb-allocator.ts) of the cluster.
 */
import { Resolver } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { NodeBinaries } from './binaries.ts';
import { issueFromCa } from './certs.ts';
import { TestbedErrorCodes, TestbedError } from './errors.ts';
import { adminKubeconfig, adminRequest } from './kubeconfig.ts';
import { netnsPath, run, type NodeNetwork } from './node-net.ts';
import { nodeFiles, waitFor, type NodeClusterInfo, type NodeRecord } from './node.ts';
import { startProcess } from './procs.ts';

/** Starts the relays, kube-proxy and CoreDNS of a Ready node; `onRecord` gets each new pid. */
export async function startNodeServices(bins: NodeBinaries, rec: NodeRecord, cluster: NodeClusterInfo,
  onRecord: (r: NodeRecord) => void): Promise<NodeRecord> {
  const { name, dir, net } = rec;
  const f = nodeFiles(dir);
  let record = rec;
  // The relays first: kube-proxy and CoreDNS reach the API server through them.
  const apiPort = new URL(cluster.server).port;
  const relayRoot = startProcess('socat', [`UNIX-LISTEN:${f.relaySocket},fork,mode=600,unlink-early`, `TCP:127.0.0.1:${apiPort}`], f.relayLog);
  const relayNode = startProcess('nsenter', [`--net=${netnsPath(net)}`, '--', 'socat',
    `TCP-LISTEN:${NODE_API_PORT},fork,reuseaddr`, `UNIX-CONNECT:${f.relaySocket}`], f.relayLog);
  record = { ...record, pids: { ...record.pids, relayRoot: relayRoot.pid, relayNode: relayNode.pid } };
  onRecord(record);
  // The public address: other clusters' pods (a control plane reading this cluster through a remote
  // secret) reach it through the root namespace, which forwards only LoadBalancer pools.
  run('ip', ['netns', 'exec', net.netns, 'ip', 'addr', 'replace', `${net.publicApiIp}/32`, 'dev', 'lo']);
  const relayPublic = startProcess('nsenter', [`--net=${netnsPath(net)}`, '--', 'socat',
    `TCP-LISTEN:${PUBLIC_API_PORT},bind=${net.publicApiIp},fork,reuseaddr`, `UNIX-CONNECT:${f.relaySocket}`], f.relayLog);
  record = { ...record, pids: { ...record.pids, relayPublic: relayPublic.pid } };
  onRecord(record);
  const proxyCert = await issueFromCa(cluster.caCertPem, cluster.caKeyPem, 'CN=system:kube-proxy', 'client');
  writeFileSync(f.proxyKubeconfig, adminKubeconfig(`${name}-proxy`, {
    server: `https://127.0.0.1:${NODE_API_PORT}`, caCertPem: cluster.caCertPem, clientCertPem: proxyCert.certPem, clientKeyPem: proxyCert.keyPem,
  }), { mode: 0o600 });
  writeFileSync(f.proxyConfig, kubeProxyConfig(name, net, f.proxyKubeconfig));
  const proxy = startProcess('nsenter', [`--net=${netnsPath(net)}`, '--', bins.kubeProxy, `--config=${f.proxyConfig}`, '--v=1'], f.proxyLog);
  record = { ...record, pids: { ...record.pids, kubeProxy: proxy.pid } };
  onRecord(record);
  await waitFor(`node ${name}: kube-proxy`, proxy, () => {
    run('ip', ['netns', 'exec', net.netns, 'iptables', '-t', 'nat', '-S', 'KUBE-SERVICES']);
    return Promise.resolve(true);
  }, 60_000);

  // Cluster DNS: CoreDNS in the node namespace on the pods' gateway address, watching the API server
  // through the relay; pods get it as their nameserver (the kubelet's clusterDNS).
  writeFileSync(f.corednsKubeconfig, adminKubeconfig(`${name}-dns`, { ...cluster.creds, server: `https://127.0.0.1:${NODE_API_PORT}` }), { mode: 0o600 });
  writeFileSync(f.corefile, corefile(net, f.corednsKubeconfig, `${name}-dns`));
  const dns = startProcess('nsenter', [`--net=${netnsPath(net)}`, '--', bins.coredns, '-conf', f.corefile], f.corednsLog);
  record = { ...record, pids: { ...record.pids, coredns: dns.pid } };
  onRecord(record);
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([net.gatewayIp]);
  await waitFor(`node ${name}: CoreDNS`, dns, async () => (await resolver.resolve4('kubernetes.default.svc.cluster.local')).length > 0, 60_000);

  // In-cluster clients (the control-plane pod) reach the API server at the `kubernetes` Service:
  // its endpoint is the relay on the pods' gateway (the API server writes none: endpoint reconciler off).
  await publishApiServerEndpoint(cluster, net.gatewayIp);

  // LoadBalancer addresses from the node slot's pool.
  const lb = startProcess(process.execPath, [fileURLToPath(new URL('./lb-allocator.ts', import.meta.url)), cluster.server, join(dir, '..'), net.lbPool], f.lbLog);
  record = { ...record, pids: { ...record.pids, lbAllocator: lb.pid } };
  onRecord(record);
  return record;
}

async function publishApiServerEndpoint(cluster: NodeClusterInfo, ip: string): Promise<void> {
  const port = { name: 'https', port: NODE_API_PORT, protocol: 'TCP' };
  const writes: [string, unknown][] = [
    ['/api/v1/namespaces/default/endpoints', {
      apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' },
      subsets: [{ addresses: [{ ip }], ports: [port] }],
    }],
    ['/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'isthmus-testbed' } },
      addressType: 'IPv4', endpoints: [{ addresses: [ip], conditions: { ready: true } }], ports: [port],
    }],
  ];
  for (const [path, body] of writes) {
    const res = await adminRequest(cluster.creds, 'POST', path, body);
    if (res.status !== 201 && res.status !== 409) {
      throw new TestbedError(TestbedErrorCodes.NodeStart, `could not publish the API server's endpoint ${ip}:${NODE_API_PORT} for pods (POST ${path}: ${res.status} ${res.body.slice(0, 200)})`);
    }
  }
}

function corefile(net: NodeNetwork, kubeconfig: string, context: string): string {
  return [
    '.:53 {',
    `  bind ${net.gatewayIp}`,
    '  errors',
    '  ready 127.0.0.1:8181',
    '  kubernetes cluster.local in-addr.arpa {',
    `    kubeconfig ${kubeconfig} ${context}`,
    '    pods insecure',
    '  }',
    '  cache 30',
    '}',
    '',
  ].join('\n');
}

/** The API server's port inside each node namespace (a relay to the loopback API server). */
const NODE_API_PORT = 6443;
/** The API server's port on its public address (`NodeNetwork.publicApiIp`). */
export const PUBLIC_API_PORT = 443;

function kubeProxyConfig(name: string, net: NodeNetwork, kubeconfig: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    hostnameOverride: name,
    clusterCIDR: net.podCidr,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // 0: leave the (host-wide) conntrack table size and timeouts as they are.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { syncPeriod: '10s', minSyncPeriod: '0s' },
  });
}
