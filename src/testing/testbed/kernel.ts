/**
 * What the kernel must offer before the test bed starts a node, checked up front so a missing
 * feature is one clear error instead of a containerd or kubelet that dies later with its own words:
 * network namespaces (each node is one), the overlay filesystem (containerd's snapshotter), a cgroup
 * hierarchy (the kubelet and runc), and IPv4 forwarding control (the node namespaces route pods).
 * `root` is `/` on a real host; tests point it at a directory that lacks something.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestbedErrorCodes, TestbedError } from './errors.ts';

interface Feature {
  readonly name: string;
  readonly neededBy: string;
  /** The file that shows it, relative to the root. */
  readonly evidence: string;
  readonly present: (root: string) => boolean;
  readonly fix: string;
}

const read = (root: string, path: string): string => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return '';
  }
};

const FEATURES: readonly Feature[] = [
  {
    name: 'network namespaces', neededBy: 'every node (its own network namespace)', evidence: 'proc/self/ns/net',
    present: (root) => existsSync(join(root, 'proc/self/ns/net')), fix: 'a kernel built with CONFIG_NET_NS',
  },
  {
    name: 'the overlay filesystem', neededBy: "containerd's overlayfs snapshotter", evidence: 'proc/filesystems',
    present: (root) => read(root, 'proc/filesystems').split('\n').some((l) => l.trim().split(/\s+/).pop() === 'overlay'), fix: '`modprobe overlay`',
  },
  {
    name: 'a cgroup hierarchy', neededBy: 'the kubelet and runc', evidence: 'proc/self/mountinfo',
    present: (root) => read(root, 'proc/self/mountinfo').split('\n').some((l) => / - cgroup2? /.test(l)), fix: 'mount cgroup2 at /sys/fs/cgroup',
  },
  {
    name: 'IPv4 forwarding control', neededBy: 'the node namespaces, which route their pods', evidence: 'proc/sys/net/ipv4/ip_forward',
    present: (root) => existsSync(join(root, 'proc/sys/net/ipv4/ip_forward')), fix: 'a kernel with IPv4 networking and /proc/sys mounted',
  },
];

/** The features missing under `root`, each as a sentence naming what needs it and how to fix it. */
export function missingKernelFeatures(root = '/'): string[] {
  return FEATURES.filter((f) => !f.present(root))
    .map((f) => `${f.name} (needed by ${f.neededBy}; ${join(root, f.evidence)} does not show it; fix: ${f.fix})`);
}

/** Throws ISTHMUS_NODE_START naming every missing feature; nothing has been started yet. */
export function checkKernel(root = '/'): void {
  const missing = missingKernelFeatures(root);
  if (missing.length > 0) {
    throw new TestbedError(TestbedErrorCodes.NodeStart, `the kernel lacks what real test-bed nodes need, so nothing was started:\n  ${missing.join('\n  ')}`);
  }
}
