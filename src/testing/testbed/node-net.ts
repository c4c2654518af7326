/**
 * The address plan and host network of test-bed nodes. Everything lies in 198.18.0.0/15 (RFC 2544,
 * never routed on the internet) and on links the test bed creates:
 *
 *   slot s (0..127) owns 198.18.0.0 + s*1024, a /22:
 *     first /24   pods of the node (CNI bridge + host-local); .1 is the bridge's address = the node IP
 *     second /24  the cluster's Service ClusterIPs (--service-cluster-ip-range)
 *
 * A slot is claimed by creating its bridge `itb<s>`: the kernel refuses a second link of that name, so
 * beds in other processes (or other directories) never share a slot. Pods get a route to
 * 198.18.0.0/15 only (no default route) and the bed never turns on IP forwarding, so nothing a pod
 * sends leaves the machine. An nftables table per slot (`inet isthmus_itb<s>`) also drops what a pod
 * sends to another slot's node address (all node addresses are local to the host) and anything that
 * would be forwarded off the bridge, should forwarding ever be on.
 */
import { execFileSync } from 'node:child_process';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';

export const SLOTS = 128;
const BASE = (198 << 24 >>> 0) + (18 << 16);

export interface NodeNetwork {
  readonly slot: number;
  readonly bridge: string;
  /** The node's address (on the bridge), also the pods' gateway. */
  readonly nodeIp: string;
  readonly podCidr: string;
  readonly serviceCidr: string;
}

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function slotNetwork(slot: number): NodeNetwork {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) throw new Error(`node network slot ${slot} outside 0..${SLOTS - 1}`);
  const base = BASE + slot * 1024;
  return {
    slot,
    bridge: `itb${slot}`,
    nodeIp: dotted(base + 1),
    podCidr: `${dotted(base)}/24`,
    serviceCidr: `${dotted(base + 256)}/24`,
  };
}

/** Whether an IPv4 address lies in 198.18.0.0/15. */
export function inBenchmarkRange(addr: string): boolean {
  const p = addr.split('.').map(Number);
  return p.length === 4 && p[0] === 198 && (p[1] === 18 || p[1] === 19);
}

export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

function nftTable(net: NodeNetwork): string {
  return `isthmus_${net.bridge}`;
}

/** The slot's isolation rules (see the file comment). */
export function nftRules(net: NodeNetwork): string {
  const br = JSON.stringify(net.bridge);
  return [
    `table inet ${nftTable(net)} {`,
    `  chain input { type filter hook input priority 0; policy accept; iifname ${br} ip daddr 198.18.0.0/15 ip daddr != ${net.nodeIp} drop; }`,
    `  chain forward { type filter hook forward priority 0; policy accept; iifname ${br} oifname != ${br} drop; oifname ${br} iifname != ${br} drop; }`,
    '}',
    '',
  ].join('\n');
}

function tryRun(cmd: string, args: readonly string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** Claims the first free slot by creating its bridge, then gives the bridge the node address. */
export function claimNodeNetwork(): NodeNetwork {
  for (let slot = 0; slot < SLOTS; slot++) {
    const net = slotNetwork(slot);
    try {
      run('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
    } catch (err) {
      if (/exists/i.test((err as Error).message)) continue;
      throw new IsthmusError(ErrorCodes.NodeStart, `could not create the node bridge ${net.bridge} (root and iproute2 are needed): ${(err as Error).message}`);
    }
    try {
      run('ip', ['addr', 'add', `${net.nodeIp}/24`, 'dev', net.bridge]);
      run('ip', ['link', 'set', net.bridge, 'up']);
      tryRun('nft', ['delete', 'table', 'inet', nftTable(net)]); // a stale one of a crashed bed
      execFileSync('nft', ['-f', '-'], { input: nftRules(net), stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      releaseNodeNetwork(net);
      throw new IsthmusError(ErrorCodes.NodeStart, `could not set up the node bridge ${net.bridge}: ${(err as Error).message}`);
    }
    return net;
  }
  throw new IsthmusError(ErrorCodes.NodeStart, `all ${SLOTS} node network slots (bridges itb0..itb${SLOTS - 1}) are taken; run \`npm run testbed -- down\` for old beds`);
}

/** Deletes the bridge (and with it its address) and the slot's nftables table. Veths of pods die with their network namespaces. */
export function releaseNodeNetwork(net: NodeNetwork): void {
  tryRun('nft', ['delete', 'table', 'inet', nftTable(net)]);
  tryRun('ip', ['link', 'delete', net.bridge]);
}

/** Whether the slot's nftables table exists. */
export function nftTablePresent(net: NodeNetwork): boolean {
  return tryRun('nft', ['list', 'table', 'inet', nftTable(net)]);
}

/**
 * The CNI network of a node: a bridge (not the pods' gateway as far as the plugin knows, so it never
 * turns on forwarding), host-local addresses from the node's pod range with a route to 198.18.0.0/15
 * only, and portmap for hostPorts.
 */
export function cniConfig(net: NodeNetwork, ipamDir: string): string {
  return `${JSON.stringify({
    cniVersion: '0.4.0',
    name: `isthmus-${net.bridge}`,
    plugins: [
      {
        type: 'bridge', bridge: net.bridge, isGateway: false, isDefaultGateway: false, ipMasq: false, hairpinMode: true,
        ipam: {
          type: 'host-local', dataDir: ipamDir,
          ranges: [[{ subnet: net.podCidr, rangeStart: dotted(BASE + net.slot * 1024 + 10), gateway: net.nodeIp }]],
          routes: [{ dst: '198.18.0.0/15', gw: net.nodeIp }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2)}\n`;
}
