/**
 * Rules about the mesh's shape: network labels and controlPlaneClusters annotations on the system
 * namespaces, and the east-west gateways' Services (address, network label, ports). Pure.
 */
import { DEFAULT_GATEWAY_PORT, LABEL_GATEWAY_PORT, LABEL_TOPOLOGY_NETWORK } from '../../model/labels.ts';
import type { ClusterFacts, Finding, GatewayServiceFacts, MeshFacts } from './types.ts';
import { ANNOTATION_CONTROL_PLANE_CLUSTERS, clusterNetwork, declaredClusterId, externalIstiod, hasRemotes, isPrimary, kubectl, remotes, shellQuote } from './topology.ts';

const reachable = (m: MeshFacts) => m.clusters.filter((c) => c.unreachable === undefined);

export function unreachableRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  for (const c of m.clusters) {
    if (c.unreachable !== undefined) {
      out.push({
        severity: 'error', rule: 'cluster-unreachable', where: { cluster: c.context },
        message: `cannot read cluster ${c.context} (${c.server}): ${c.unreachable}`,
        why: 'nothing in this cluster was checked',
        fix: `${kubectl(c.context)} get namespace ${shellQuote(c.systemNamespace)}  # check the context's credentials and that the API server is reachable`,
      });
    }
  }
  for (const c of m.clusters) {
    if (c.unreachable !== undefined || c.forbidden === undefined || c.forbidden.length === 0) continue;
    out.push({
      severity: 'warning', rule: 'cluster-partly-readable', where: { cluster: c.context },
      message: `the credentials of context ${c.context} may not ${c.forbidden.join(', ')}`,
      why: 'the checks that need those objects were skipped for this cluster, so problems there go unreported',
      fix: `${kubectl(c.context)} auth can-i --list  # run check with a context that may read these (cluster admin or an Istio operator role)`,
    });
  }
  if (m.debug?.unreachable !== undefined) {
    out.push({
      severity: 'warning', rule: 'debug-unreachable', where: { cluster: 'control-plane', object: m.debug.address },
      message: `cannot read the control plane's debug endpoint ${m.debug.address}: ${m.debug.unreachable}`,
      why: 'proxy cluster ids, sync status and the control plane\'s view of remote clusters were not checked',
      fix: `curl -s http://${m.debug.address}/debug/clusterz  # from the control plane's host, or with a token of a service account in its namespace`,
    });
  }
  return out;
}

/** A gateway Service: labelled with a network, or named/labelled as the east-west gateway. */
export function isEastWestCandidate(s: GatewayServiceFacts): boolean {
  return s.labels[LABEL_TOPOLOGY_NETWORK] !== undefined || s.labels['istio'] === 'eastwestgateway' || s.name === 'istio-eastwestgateway';
}

export function namespaceRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  const clusters = reachable(m);
  const multiNetwork = clusters.some((c) => clusterNetwork(c) !== undefined) || clusters.some((c) => c.gateways.some((g) => g.labels[LABEL_TOPOLOGY_NETWORK] !== undefined));
  for (const c of clusters) {
    if (!c.istioSystem) {
      out.push({
        severity: 'error', rule: 'system-namespace-missing', where: { cluster: c.context, object: `Namespace/${c.systemNamespace}` },
        message: `cluster ${c.context} has no ${c.systemNamespace} namespace`,
        why: 'Istio is not installed there: no network label, no root certificate, no injection',
        fix: `${kubectl(c.context)} create namespace ${shellQuote(c.systemNamespace)}`,
      });
      continue;
    }
    if (clusterNetwork(c) === undefined && (multiNetwork || clusters.length > 1)) {
      const suggested = c.gateways.map((g) => g.labels[LABEL_TOPOLOGY_NETWORK]).find((n) => n !== undefined) ?? '<network>';
      out.push({
        severity: multiNetwork ? 'error' : 'warning', rule: 'network-label-missing',
        where: { cluster: c.context, object: `Namespace/${c.systemNamespace}`, field: `metadata.labels["${LABEL_TOPOLOGY_NETWORK}"]` },
        message: `namespace ${c.systemNamespace} in ${c.context} has no ${LABEL_TOPOLOGY_NETWORK} label`,
        why: 'endpoints of this cluster get no network: proxies in other networks send traffic straight to pod IPs they cannot reach instead of through the east-west gateway',
        fix: `${kubectl(c.context)} label namespace ${shellQuote(c.systemNamespace)} ${LABEL_TOPOLOGY_NETWORK}=${shellQuote(suggested)} --overwrite`,
      });
    }
  }
  const primaries = clusters.filter(isPrimary);
  const primary = primaries[0];
  if (!primary) return out;
  const cpId = declaredClusterId(primary)?.id;
  const rs = remotes(m);
  if (rs.length > 0 && !externalIstiod(primary)) {
    out.push({
      severity: 'error', rule: 'external-istiod-off',
      where: { cluster: primary.context, namespace: primary.systemNamespace, object: 'Deployment/istiod', field: 'spec.template.spec.containers[discovery].env[EXTERNAL_ISTIOD]' },
      message: `the control plane in ${primary.context} does not run with EXTERNAL_ISTIOD=true, so it leads no remote cluster`,
      why: 'remote clusters get no istio-ca-root-cert ConfigMaps and no webhook caBundle: remote pods cannot start their sidecars and the API server rejects the injection webhook ("x509: certificate signed by unknown authority")',
      fix: `isthmus install -y --context ${shellQuote(primary.context)} -f <the primary's IstioOperator> --set values.pilot.env.EXTERNAL_ISTIOD=true`,
    });
  }
  if (cpId === undefined) return out;
  for (const r of rs) {
    if (!r.istioSystem) continue;
    const ann = r.istioSystem.annotations[ANNOTATION_CONTROL_PLANE_CLUSTERS];
    const ids = (ann ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (ids.includes('*') || ids.includes(cpId)) continue;
    const value = [...ids, cpId].join(',');
    out.push({
      severity: 'error', rule: 'control-plane-clusters-missing',
      where: { cluster: r.context, object: `Namespace/${r.systemNamespace}`, field: `metadata.annotations["${ANNOTATION_CONTROL_PLANE_CLUSTERS}"]` },
      message: ann === undefined
        ? `namespace ${r.systemNamespace} in remote ${r.context} has no ${ANNOTATION_CONTROL_PLANE_CLUSTERS} annotation`
        : `the ${ANNOTATION_CONTROL_PLANE_CLUSTERS} annotation of ${r.systemNamespace} in ${r.context} ("${ann}") does not name the control plane's cluster "${cpId}"`,
      why: 'the control plane does not lead this cluster: no istio-ca-root-cert ConfigMaps for new namespaces and no webhook caBundle, so injected pods fail and the API server rejects the webhook ("x509: certificate signed by unknown authority")',
      fix: `${kubectl(r.context)} annotate namespace ${shellQuote(r.systemNamespace)} ${ANNOTATION_CONTROL_PLANE_CLUSTERS}=${shellQuote(value)} --overwrite`,
    });
  }
  return out;
}

function gatewayPort(s: GatewayServiceFacts): number {
  const v = Number(s.labels[LABEL_GATEWAY_PORT]);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_GATEWAY_PORT;
}

function gatewayFindings(c: ClusterFacts, s: GatewayServiceFacts, exposesControlPlane: boolean): Finding[] {
  const out: Finding[] = [];
  const obj = { cluster: c.context, namespace: s.namespace, object: `Service/${s.name}` };
  const net = s.labels[LABEL_TOPOLOGY_NETWORK];
  const nsNet = clusterNetwork(c);
  const svc = `${kubectl(c.context)} -n ${shellQuote(s.namespace)}`;
  if (net === undefined || net === '') {
    out.push({
      severity: 'error', rule: 'gateway-network-label-missing', where: { ...obj, field: `metadata.labels["${LABEL_TOPOLOGY_NETWORK}"]` },
      message: `east-west gateway Service ${s.namespace}/${s.name} in ${c.context} has no ${LABEL_TOPOLOGY_NETWORK} label`,
      why: 'the control plane finds network gateways by this label: without it, other networks\' proxies get no gateway address for this cluster\'s endpoints and drop them',
      fix: `${svc} label service ${shellQuote(s.name)} ${LABEL_TOPOLOGY_NETWORK}=${shellQuote(nsNet ?? '<network>')} --overwrite`,
    });
  } else if (nsNet !== undefined && net !== nsNet) {
    out.push({
      severity: 'warning', rule: 'gateway-network-label-mismatch', where: { ...obj, field: `metadata.labels["${LABEL_TOPOLOGY_NETWORK}"]` },
      message: `east-west gateway Service ${s.namespace}/${s.name} in ${c.context} is labelled network "${net}" but the cluster's ${c.systemNamespace} namespace says "${nsNet}"`,
      why: `the gateway is used for endpoints of network "${net}", while this cluster's endpoints are in "${nsNet}", which then has no gateway`,
      fix: `${svc} label service ${shellQuote(s.name)} ${LABEL_TOPOLOGY_NETWORK}=${shellQuote(nsNet)} --overwrite`,
    });
  }
  if (s.addresses.length === 0) {
    out.push({
      severity: 'error', rule: 'gateway-no-address', where: { ...obj, field: 'status.loadBalancer.ingress' },
      message: `east-west gateway Service ${s.namespace}/${s.name} in ${c.context} has no external address (type ${s.type}, no load-balancer ingress, no spec.externalIPs)`,
      why: 'the gateway is ignored until it has one: cross-network traffic to this cluster fails, and remotes that reach the control plane through it cannot connect',
      fix: `${svc} get service ${shellQuote(s.name)} -w  # wait for the load balancer; without one: ${svc} patch service ${shellQuote(s.name)} -p '{"spec":{"externalIPs":["<reachable IP>"]}}'`,
    });
  }
  const ports = new Set(s.ports.map((p) => p.port));
  const needed: [number, string, string][] = [[gatewayPort(s), 'tls', 'cross-network mTLS (AUTO_PASSTHROUGH): without it the gateway is not used and other networks cannot reach this cluster\'s services']];
  if (exposesControlPlane) {
    needed.push([15012, 'tls-istiod', 'remote proxies reach xDS and the CA through it: remote sidecars cannot connect to the control plane']);
    needed.push([15017, 'tls-webhook', 'the remote API servers call the injection webhook through it: pod creation in remote clusters fails or skips injection']);
  }
  for (const [port, name, why] of needed) {
    if (ports.has(port)) continue;
    out.push({
      severity: 'error', rule: 'gateway-port-missing', where: { ...obj, field: `spec.ports[port=${port}]` },
      message: `east-west gateway Service ${s.namespace}/${s.name} in ${c.context} does not expose port ${port} (${name})`,
      why,
      fix: `${svc} patch service ${shellQuote(s.name)} --type json -p '[{"op":"add","path":"/spec/ports/-","value":{"name":"${name}","port":${port},"targetPort":${port}}}]'`,
    });
  }
  return out;
}

export function gatewayRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  const clusters = reachable(m);
  const networks = new Set(clusters.map(clusterNetwork).filter((n): n is string => n !== undefined));
  for (const c of clusters) {
    const exposes = isPrimary(c) && hasRemotes(m, c);
    const gws = c.gateways.filter(isEastWestCandidate);
    for (const g of gws) out.push(...gatewayFindings(c, g, exposes));
    const net = clusterNetwork(c);
    if (gws.length === 0 && net !== undefined && networks.size > 1) {
      out.push({
        severity: exposes ? 'error' : 'warning', rule: 'gateway-missing',
        where: { cluster: c.context, namespace: c.systemNamespace, object: 'Service/istio-eastwestgateway' },
        message: `cluster ${c.context} (network "${net}") has no east-west gateway Service`,
        why: exposes
          ? 'remote proxies and API servers reach the control plane through it, and other networks reach this cluster\'s services through it: both fail'
          : 'other networks cannot reach this cluster\'s services: their proxies drop these endpoints',
        fix: `isthmus gen-eastwest-gateway --network ${shellQuote(net)} | isthmus install -y --context ${shellQuote(c.context)} -f -`,
      });
    }
  }
  return out;
}
