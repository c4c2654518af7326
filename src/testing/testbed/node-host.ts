/**
 * Host-side bookkeeping for test-bed nodes: cgroups (v1 or v2), mounts and processes that the node's
 * containerd and kubelet leave behind, found precisely (by cgroup path, mount prefix or socket path)
 * so that `down` removes what this bed created and nothing else.
 */
import { type Dirent, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './node-net.ts';

/** Mount points of cgroup hierarchies (v1: one per controller set; v2: the unified one). */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' - '))
    .filter(([, tail]) => tail?.startsWith('cgroup ') === true || tail?.startsWith('cgroup2 ') === true)
    .map(([head]) => head?.split(' ')[4] ?? '').filter((p) => p !== '');
}

/** This process's cgroup path in the memory hierarchy (v1) or the unified one (v2); '/' if none. */
export function ownCgroup(): string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const line = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l)) ?? lines.find((l) => l.startsWith('0::'));
  return line?.split(':').slice(2).join(':') || '/';
}

/**
 * Creates `path` in every cgroup hierarchy; returns the directories it created (deepest last) so
 * `removeCgroups` deletes exactly those. A new cpuset cgroup gets its parent's cpus and mems, or
 * nothing could join it.
 */
export function createCgroup(path: string): string[] {
  const created: string[] = [];
  const parts = path.split('/').filter(Boolean);
  for (const mount of cgroupMounts()) {
    let dir = mount;
    for (const part of parts) {
      const parent = dir;
      dir = join(dir, part);
      if (existsSync(dir)) continue;
      mkdirSync(dir);
      created.push(dir);
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (existsSync(join(dir, f))) writeFileSync(join(dir, f), readFileSync(join(parent, f), 'utf8').trim() || '\n');
      }
    }
  }
  return created;
}

function cgroupTrees(path: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let list: Dirent[];
    try {
      list = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed meanwhile (runc and the kubelet remove cgroups too)
    }
    out.push(dir);
    for (const e of list) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const mount of cgroupMounts()) {
    const root = join(mount, path);
    if (existsSync(root)) walk(root);
  }
  return out;
}

/** Every process in the cgroup `path` or below it, in any hierarchy. */
export function cgroupPids(path: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupTrees(path)) {
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
    } catch { /* removed meanwhile */ }
  }
  return [...pids];
}

/** SIGKILLs every process in the cgroup tree, then removes its directories bottom-up and those `created`. */
export async function removeCgroups(path: string, created: readonly string[]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = cgroupPids(path);
    if (pids.length === 0) break;
    for (const pid of pids) killPid(pid);
    await sleep(100);
  }
  const dirs = cgroupTrees(path).sort((a, b) => b.length - a.length);
  for (const dir of [...dirs, ...[...created].reverse()]) {
    for (let i = 0; i < 20; i++) {
      try { rmdirSync(dir); break; } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') break;
        await sleep(50);
      }
    }
  }
}

export function killPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

function cmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** containerd shims serving the containerd at `socket` (they outlive containerd on purpose). */
export function shimPids(socket: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const args = cmdline(pid);
    const i = args.indexOf('-address');
    if (i >= 0 && args[i + 1] === socket && (args[0] ?? '').includes('containerd-shim')) out.push(Number(pid));
  }
  return out;
}

function unescapeMount(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir` (containerd's rootfs, shm and netns mounts; kubelet's volumes). */
export async function unmountUnder(dir: string): Promise<string[]> {
  const failed = new Set<string>();
  for (let round = 0; round < 10; round++) {
    const mounts = mountsUnder(dir).filter((m) => !failed.has(m) || round < 5);
    if (mounts.length === 0) return [];
    for (const m of mounts) {
      try { run('umount', [m]); } catch {
        try { run('umount', ['-l', m]); } catch { failed.add(m); }
      }
    }
    await sleep(50);
  }
  return mountsUnder(dir);
}

/** Removes symlinks in `dir` that point below `target` (the kubelet links /var/log/containers/* to pod logs). */
export function removeLinksInto(dir: string, target: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    try {
      if (readlinkSync(p).startsWith(target)) unlinkSync(p);
    } catch { /* not a link, or gone */ }
  }
}

/** Resident memory of a process in bytes (0 if it is gone). */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Kernel settings the kubelet sets host-wide at start (unless protectKernelDefaults, which would
 * refuse to start instead): saved before the first test-bed kubelet starts, restored when the last
 * one stops.
 */
const KERNEL_TUNABLES = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];
const TUNABLES_SAVED = '/run/isthmus-testbed-kernel-tunables.json';

export function saveKernelTunables(): void {
  if (existsSync(TUNABLES_SAVED)) return; // a running bed saved the originals already
  const values: Record<string, string> = {};
  for (const k of KERNEL_TUNABLES) {
    try { values[k] = readFileSync(`/proc/sys/${k}`, 'utf8').trim(); } catch { /* not on this kernel */ }
  }
  writeFileSync(TUNABLES_SAVED, `${JSON.stringify(values)}\n`);
}

/** Test-bed kubelets still running (any bed on the machine): recognised by their flags. */
export function testbedKubelets(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    const args = cmdline(pid);
    return (args[0] ?? '').endsWith('kubelet') && args.some((a) => a.startsWith('--config=') && a.endsWith('/kubelet-config.yaml'));
  }).map(Number);
}

export function restoreKernelTunablesIfLast(): void {
  if (!existsSync(TUNABLES_SAVED) || testbedKubelets().length > 0) return;
  const values = JSON.parse(readFileSync(TUNABLES_SAVED, 'utf8')) as Record<string, string>;
  for (const [k, v] of Object.entries(values)) {
    try { writeFileSync(`/proc/sys/${k}`, v); } catch { /* read-only here */ }
  }
  unlinkSync(TUNABLES_SAVED);
}
