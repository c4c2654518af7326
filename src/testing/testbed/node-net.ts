/**
 * The address plan and networks of test-bed nodes. Everything lies in 198.18.0.0/15 (RFC 2544,
 * never routed on the internet) on links and namespaces the test bed creates.
 *
 * Each node is a network namespace `itb<s>` (its "host network": containerd, its pods' bridge and
 * kube-proxy's rules live there), joined to the root namespace by one veth pair. Slot s (0..127)
 * owns 198.18.0.0 + s*1024, a /22:
 *
 *   first /24    pods (CNI bridge `cbr0` + host-local); .1 is the bridge, the pods' gateway
 *   second /24   the cluster's Service ClusterIPs (--service-cluster-ip-range)
 *   fourth /24   .1/30 the veth: .1 in the root namespace = the node IP (the kubelet serves there),
 *                .2 in the node's namespace
 *   and 198.19.128.0 + s*256, a /24 in LB_RANGE: the cluster's LoadBalancer addresses (.10 on) and
 *                its API server's public address (.2)
 *
 * The root namespace routes the node's pod range and LoadBalancer pool over the veth (the API
 * server, the kubelet's probes and tests reach pods). It forwards only between node veths, only new
 * connections to a LoadBalancer pool (and their replies): nftables tables per slot drop the rest, so
 * one cluster's pods reach another cluster's LoadBalancer addresses and nothing else of it (its
 * pods, node address, ClusterIPs). Inside a node, forwarding is on (kube-proxy DNATs there) and a
 * table drops connections that pods open through the veth to anything but LB_RANGE. Deleting the
 * namespace on `down` takes most of it along; the root table and route are deleted explicitly.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { TestbedErrorCodes, TestbedError } from './errors.ts';

export const SLOTS = 128;
const BASE = (198 << 24 >>> 0) + (18 << 16);
export const NODE_BRIDGE = 'cbr0';
const NODE_UPLINK = 'uplink0';

export interface NodeNetwork {
  readonly slot: number;
  /** The node's network namespace (`ip netns`), also the root end of its veth. */
  readonly netns: string;
  /** The node address (root namespace end of the veth): the kubelet's InternalIP. */
  readonly nodeIp: string;
  /** The node namespace's end of the veth. */
  readonly uplinkIp: string;
  /** The pods' gateway: the bridge address inside the node's namespace. */
  readonly gatewayIp: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
  /** LoadBalancer addresses of the node's cluster (all slots' pools lie in LB_RANGE). */
  readonly lbPool: string;
  /**
   * The cluster's API server as other networks see it (`https://<this>:443`), like a cloud cluster's
   * public endpoint: an address of the pool the allocator never hands out, served by a relay in the
   * node's namespace. A control plane in another cluster reaches the API server only here.
   */
  readonly publicApiIp: string;
}

/** Where every slot's LoadBalancer pool lies: the one range other networks may reach. */
export const LB_RANGE = '198.19.128.0/17';

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function slotNetwork(slot: number): NodeNetwork {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`node network slot ${slot} outside 0..${SLOTS - 1}`);
  const base = BASE + slot * 1024;
  return {
    slot,
    netns: `itb${slot}`,
    nodeIp: dotted(base + 769),
    uplinkIp: dotted(base + 770),
    gatewayIp: dotted(base + 1),
    podCidr: `${dotted(base)}/24`,
    serviceCidr: `${dotted(base + 256)}/24`,
    lbPool: `${dotted(BASE + 65536 + 32768 + slot * 256)}/24`,
    publicApiIp: dotted(BASE + 65536 + 32768 + slot * 256 + 2),
  };
}

/** The first address of the Service range: the API server gives it to the `kubernetes` Service. */
export function kubernetesServiceIp(net: NodeNetwork): string {
  const [addr] = net.serviceCidr.split('/');
  const p = (addr ?? '').split('.').map(Number);
  return [p[0], p[1], p[2], (p[3] ?? 0) + 1].join('.');
}

/** Whether an IPv4 address lies in 198.18.0.0/15. */
export function inBenchmarkRange(addr: string): boolean {
  const p = addr.split('.').map(Number);
  return p.length === 4 && p[0] === 198 && (p[1] === 18 || p[1] === 19);
}

export function run(cmd: string, args: readonly string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

function tryRun(cmd: string, args: readonly string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/**
 * Inside the node: pods may open connections through the uplink only to LoadBalancer pools, and may
 * not reach the namespace's own uplink address (containerd's streaming server listens there).
 */
export function nftRules(net: NodeNetwork): string {
  return [
    'table inet isthmus_node {',
    `  chain forward { type filter hook forward priority 0; policy accept; iifname "${NODE_BRIDGE}" oifname "${NODE_UPLINK}" ct state new ip daddr != ${LB_RANGE} drop; }`,
    `  chain input { type filter hook input priority 0; policy accept; iifname "${NODE_BRIDGE}" ip daddr ${net.uplinkIp} drop; }`,
    '}',
    '',
  ].join('\n');
}

/** In the root namespace: what may be forwarded from and to this node's veth. */
export function rootNftRules(net: NodeNetwork): string {
  const v = JSON.stringify(net.netns);
  return [
    `table inet isthmus_${net.netns} {`,
    '  chain forward {',
    '    type filter hook forward priority 0; policy accept;',
    `    iifname ${v} ct state established,related accept;`,
    `    iifname ${v} ip daddr != ${LB_RANGE} drop;`,
    `    oifname ${v} ct state established,related accept;`,
    `    oifname ${v} ip daddr != ${net.lbPool} drop;`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Path of the node namespace for `nsenter --net=`. */
export function netnsPath(net: NodeNetwork): string {
  return `/var/run/netns/${net.netns}`;
}

/**
 * Claims the first free slot by creating its namespace (`ip netns add` refuses an existing name, so
 * beds in other processes never share a slot), then builds the node's network in it.
 */
export function claimNodeNetwork(): NodeNetwork {
  for (let slot = 0; slot < SLOTS; slot++) {
    const net = slotNetwork(slot);
    try {
      run('ip', ['netns', 'add', net.netns]);
    } catch (err) {
      if (/exists/i.test((err as Error).message)) continue;
      throw new TestbedError(TestbedErrorCodes.NodeStart, `could not create the node network namespace ${net.netns} (root and iproute2 are needed): ${(err as Error).message}`);
    }
    try {
      buildNodeNetwork(net);
    } catch (err) {
      releaseNodeNetwork(net);
      throw new TestbedError(TestbedErrorCodes.NodeStart, `could not set up the network of node namespace ${net.netns}: ${(err as Error).message}`);
    }
    return net;
  }
  throw new TestbedError(TestbedErrorCodes.NodeStart, `all ${SLOTS} node network slots (namespaces itb0..itb${SLOTS - 1}) are taken; run \`npm run testbed -- down\` for old beds`);
}

function buildNodeNetwork(net: NodeNetwork): void {
  const ns = (args: readonly string[]) => run('ip', ['-n', net.netns, ...args]);
  const sysctl = (key: string, value: string) => run('ip', ['netns', 'exec', net.netns, 'sysctl', '-qw', `${key}=${value}`]);
  tryRun('ip', ['link', 'delete', net.netns]); // a stale veth of a crashed bed
  run('ip', ['link', 'add', net.netns, 'type', 'veth', 'peer', 'name', NODE_UPLINK, 'netns', net.netns]);
  run('ip', ['addr', 'add', `${net.nodeIp}/30`, 'dev', net.netns]);
  run('ip', ['link', 'set', net.netns, 'up']);
  ns(['link', 'set', 'lo', 'up']);
  ns(['addr', 'add', `${net.uplinkIp}/30`, 'dev', NODE_UPLINK]);
  ns(['link', 'set', NODE_UPLINK, 'up']);
  ns(['link', 'add', NODE_BRIDGE, 'type', 'bridge']);
  ns(['addr', 'add', `${net.gatewayIp}/24`, 'dev', NODE_BRIDGE]);
  ns(['link', 'set', NODE_BRIDGE, 'up']);
  run('ip', ['route', 'add', net.podCidr, 'via', net.uplinkIp, 'dev', net.netns]);
  run('ip', ['route', 'add', net.lbPool, 'via', net.uplinkIp, 'dev', net.netns]);
  ns(['route', 'add', '198.18.0.0/15', 'via', net.nodeIp, 'dev', NODE_UPLINK]);
  tryRun('nft', ['delete', 'table', 'inet', `isthmus_${net.netns}`]); // a stale one of a crashed bed
  run('nft', ['-f', '-'], rootNftRules(net));
  // Forwarding on this veth only (the host-wide switch and every other interface stay as they are).
  writeFileSync(`/proc/sys/net/ipv4/conf/${net.netns}/forwarding`, '1');
  sysctl('net.ipv4.ip_forward', '1');
  try { sysctl('net.bridge.bridge-nf-call-iptables', '1'); } catch { /* br_netfilter not loaded: hairpin to a ClusterIP may fail */ }
  run('ip', ['netns', 'exec', net.netns, 'nft', '-f', '-'], nftRules(net));
}

/** Deletes the node's root nftables table and namespace: its bridge, veth (both ends), routes and rules go with it. */
export function releaseNodeNetwork(net: NodeNetwork): void {
  tryRun('nft', ['delete', 'table', 'inet', `isthmus_${net.netns}`]);
  tryRun('ip', ['netns', 'delete', net.netns]);
  tryRun('ip', ['link', 'delete', net.netns]);
}

/**
 * The CNI network of a node: the namespace's bridge (the plugin is told it is not the gateway, so it
 * leaves forwarding alone), host-local addresses from the node's pod range with a route to
 * 198.18.0.0/15 only (no default route), and portmap for hostPorts.
 */
export function cniConfig(net: NodeNetwork, ipamDir: string): string {
  return `${JSON.stringify({
    cniVersion: '0.4.0',
    name: `isthmus-${net.netns}`,
    plugins: [
      {
        type: 'bridge', bridge: NODE_BRIDGE, isGateway: false, isDefaultGateway: false, ipMasq: false, hairpinMode: true,
        ipam: {
          type: 'host-local', dataDir: ipamDir,
          ranges: [[{ subnet: net.podCidr, rangeStart: dotted(BASE + net.slot * 1024 + 10), gateway: net.gatewayIp }]],
          routes: [{ dst: '198.18.0.0/15', gw: net.gatewayIp }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}

/** Whether the slot's table in the root namespace exists. */
export function rootTablePresent(net: NodeNetwork): boolean {
  return tryRun('nft', ['list', 'table', 'inet', `isthmus_${net.netns}`]);
}

/** The addresses of a /24 pool that the allocator hands out (.10 to .250). */
export function poolAddresses(pool: string): string[] {
  const prefix = pool.split('.').slice(0, 3).join('.');
  return Array.from({ length: 241 }, (_, i) => `${prefix}.${i + 10}`);
}
