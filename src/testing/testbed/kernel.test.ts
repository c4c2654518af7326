import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKernel, missingKernelFeatures } from './kernel.ts';
import { TestbedErrorCodes, isTestbedError } from './errors.ts';

/** A fake root with everything the bed needs, minus the named parts. */
function fakeRoot(without: readonly string[] = []): string {
  const root = mkdtempSync(join(tmpdir(), 'isthmus-kernel-'));
  const put = (path: string, text: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  if (!without.includes('netns')) put('proc/self/ns/net', '');
  put('proc/filesystems', without.includes('overlay') ? 'nodev\tsysfs\nnodev\tproc\n\text4\n' : 'nodev\tsysfs\nnodev\toverlay\n\text4\n');
  put('proc/self/mountinfo', without.includes('cgroup') ? '22 1 0:21 / /proc rw - proc proc rw\n' : '30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  if (!without.includes('forward')) put('proc/sys/net/ipv4/ip_forward', '1\n');
  return root;
}

test('this machine has what real nodes need', () => {
  assert.deepEqual(missingKernelFeatures(), []);
});

test('each missing kernel feature is named with what needs it and how to fix it', () => {
  const cases: [string, RegExp][] = [
    ['netns', /network namespaces \(needed by every node.*proc\/self\/ns\/net/],
    ['overlay', /the overlay filesystem \(needed by containerd's overlayfs snapshotter.*modprobe overlay/],
    ['cgroup', /a cgroup hierarchy \(needed by the kubelet and runc/],
    ['forward', /IPv4 forwarding control/],
  ];
  assert.deepEqual(missingKernelFeatures(fakeRoot()), [], 'a complete fake root lacks nothing');
  for (const [part, message] of cases) {
    const root = fakeRoot([part]);
    try {
      const missing = missingKernelFeatures(root);
      assert.equal(missing.length, 1, `${part}: ${missing.join('; ')}`);
      assert.match(missing[0] ?? '', message);
      assert.throws(() => { checkKernel(root); }, (err: unknown) => isTestbedError(err, TestbedErrorCodes.NodeStart) && message.test(err.message));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});
