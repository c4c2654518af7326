/**
 * Network namespaces for tests (docs/architecture.md, "Networks"): each mesh network is an `ip netns`, linked
 * to the root namespace or to each other by veth pairs; pod IPs live on the namespace's `lo`, so a
 * network's pods are reachable only from inside it (no routes, no forwarding). Needs root and
 * iproute2.
 *
 *   const lab = await NetnsLab.create('isthmus-grpcxds');   // deletes stale `isthmus-grpcxds-*` first
 *   const n1 = lab.namespace('net1');
 *   lab.link({ a: 'root', b: n1, aAddr: '10.99.1.1/24', bAddr: '10.99.1.2/24' });
 *   lab.addAddress(n1, 'lo', '10.10.0.5/32');
 *   const child = lab.spawn(n1, process.execPath, ['server.ts']);
 *   await lab.destroy();                                        // kills what it spawned, deletes all
 *
 * Names: namespaces `<prefix>-<id>-<name>`; interfaces (15 characters at most) `<tag><id><n>` with a
 * 3-letter tag derived from the prefix, so stale interfaces of the same prefix can be found as well.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export type Netns = string;
export const ROOT: Netns = 'root';

function ip(args: readonly string[], allowFail = false): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** Whether this process may create network namespaces (root and iproute2 present). */
export function netnsSupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (`ip`) is not installed (scripts/setup.sh installs it)';
  }
  return undefined;
}

function listNamespaces(): string[] {
  return ip(['netns', 'list'], true).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

function pidsIn(ns: string): number[] {
  return ip(['netns', 'pids', ns], true).split('\n').map((l) => Number(l.trim())).filter((n) => Number.isInteger(n) && n > 0);
}

function tagOf(prefix: string): string {
  let h = 0;
  for (const c of prefix) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `t${(h % 1296).toString(36).padStart(2, '0')}`;
}

export interface LinkSpec {
  readonly a: Netns;
  readonly b: Netns;
  /** CIDR on a's end, e.g. `10.99.1.1/24`. */
  readonly aAddr: string;
  readonly bAddr: string;
}

export class NetnsLab {
  readonly prefix: string;
  readonly #id: string;
  readonly #tag: string;
  readonly #namespaces: string[] = [];
  readonly #rootLinks: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #links = 0;

  private constructor(prefix: string) {
    this.prefix = prefix;
    this.#id = randomBytes(3).toString('hex').slice(0, 5);
    this.#tag = tagOf(prefix);
  }

  /** Deletes namespaces and root-side interfaces left by earlier runs with the same prefix, then starts a lab. */
  static async create(prefix: string): Promise<NetnsLab> {
    const why = netnsSupported();
    if (why !== undefined) throw new Error(why);
    await NetnsLab.cleanupStale(prefix);
    return new NetnsLab(prefix);
  }

  /** Removes every `<prefix>-*` namespace (killing what still runs in it) and `<tag>*` root interfaces. */
  static async cleanupStale(prefix: string): Promise<void> {
    for (const ns of listNamespaces().filter((n) => n.startsWith(`${prefix}-`))) await deleteNamespace(ns);
    const tag = tagOf(prefix);
    for (const line of ip(['-o', 'link', 'show', 'type', 'veth'], true).split('\n')) {
      const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
      if (name?.startsWith(tag) && name.length === tag.length + 6) ip(['link', 'delete', name], true);
    }
  }

  /** Creates namespace `<prefix>-<id>-<name>` with `lo` up. */
  namespace(name: string): Netns {
    const ns = `${this.prefix}-${this.#id}-${name}`;
    ip(['netns', 'add', ns]);
    this.#namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  #ipIn(ns: Netns, args: readonly string[]): string {
    return ns === ROOT ? ip(args) : ip(['-n', ns, ...args]);
  }

  /** A veth pair between two namespaces (either may be ROOT), addressed and up. Returns the interface names. */
  link(spec: LinkSpec): { a: string; b: string } {
    const n = this.#links++;
    const a = `${this.#tag}${this.#id}${n}`;
    const b = `${this.#tag}${this.#id.slice(0, 4)}${n}p`;
    ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
    if (spec.a === ROOT) this.#rootLinks.push(a);
    else ip(['link', 'set', a, 'netns', spec.a]);
    if (spec.b === ROOT) this.#rootLinks.push(b);
    else ip(['link', 'set', b, 'netns', spec.b]);
    this.#ipIn(spec.a, ['addr', 'add', spec.aAddr, 'dev', a]);
    this.#ipIn(spec.b, ['addr', 'add', spec.bAddr, 'dev', b]);
    this.#ipIn(spec.a, ['link', 'set', a, 'up']);
    this.#ipIn(spec.b, ['link', 'set', b, 'up']);
    return { a, b };
  }

  addAddress(ns: Netns, dev: string, cidr: string): void {
    this.#ipIn(ns, ['addr', 'add', cidr, 'dev', dev]);
  }

  deleteAddress(ns: Netns, dev: string, cidr: string): void {
    this.#ipIn(ns, ['addr', 'del', cidr, 'dev', dev]);
  }

  route(ns: Netns, dst: string, via: string): void {
    this.#ipIn(ns, ['route', 'add', dst, 'via', via]);
  }

  /** Spawns a process inside `ns` (`ip netns exec`); it is killed by `destroy()` if still running. */
  spawn(ns: Netns, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = ns === ROOT ? spawn(cmd, args, opts) : spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts);
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Kills what `spawn` started (by pid), then deletes the namespaces and root-side interfaces. */
  async destroy(): Promise<void> {
    await Promise.all([...this.#children].map((c) => stopChild(c)));
    for (const ns of this.#namespaces.splice(0)) await deleteNamespace(ns);
    for (const l of this.#rootLinks.splice(0)) ip(['link', 'delete', l], true);
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => { r(); }));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

async function deleteNamespace(ns: string): Promise<void> {
  // Processes left inside a namespace keep it (and its veths) alive after `ip netns delete`.
  for (const pid of pidsIn(ns)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (let i = 0; i < 20 && pidsIn(ns).length > 0; i++) await sleep(50);
  ip(['netns', 'delete', ns], true);
}
