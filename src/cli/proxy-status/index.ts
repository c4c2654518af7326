/**
 * `isthmus proxy-status [<pod>[.<ns>]]` (alias `ps`) and `isthmus x proxy-status`: istioctl's
 * xDS-based proxy-status (docs/istio-compat.md §14). Both are the xDS variant (stable since istioctl
 * 1.22), so `ISTIOCTL_PREFER_EXPERIMENTAL`, which makes istioctl mount `x proxy-status` at the top
 * level, changes nothing here: the top-level verb already is the experimental one.
 *
 * The single-proxy form prints that proxy's per-type sync status as the control plane reports it.
 * istioctl additionally diffs the Envoy config from the pod's admin port (15000, through a
 * port-forward) against the control plane's `istio.io/debug/config_dump`; isthmus does not reach
 * Envoy admin ports yet and says so.
 */
import type { Command, CommandUnknownOpts } from '@commander-js/extra-typings';
import { KubeClient } from '../../kube/client.ts';
import { DEBUG_SYNCZ_TYPE_URL } from '../../model/type-urls.ts';
import { ErrorCodes, IsthmusError } from '../../model/errors.ts';
import { gather } from '../xds-client/gather.ts';
import { addXdsFlags, preferExperimental, resolveXdsConfig, type Env, type XdsFlags } from '../xds-client/options.ts';
import { render, singleProxy, type OutputFormat } from './format.ts';
import { parseSyncz } from './status.ts';
import { systemClock, type Clock } from '../../model/clock.ts';

interface ProxyStatusFlags extends XdsFlags {
  readonly output?: string;
  readonly verbosity?: string;
  readonly namespace?: string;
}

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly env: Env;
  readonly clock: Pick<Clock, 'now'>;
}

const defaultIo: Io = {
  out: (s) => { process.stdout.write(s); },
  err: (s) => { process.stderr.write(s); },
  env: process.env,
  clock: systemClock,
};

function outputFormat(v: string | undefined): OutputFormat {
  const o = v ?? 'table';
  if (o === 'table' || o === 'json' || o === 'yaml') return o;
  throw new IsthmusError(ErrorCodes.Usage, `--output ${JSON.stringify(o)}: use json, yaml or leave it unset for a table`);
}

function verbosity(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new IsthmusError(ErrorCodes.Usage, `--verbosity ${JSON.stringify(v)}: want 0 or 1`);
  return n;
}

/** `<pod>` or `<pod>.<ns>` -> `<pod>.<ns>`, the namespace from -n, the kube context, or `default`. */
function proxyName(arg: string, flags: ProxyStatusFlags): string {
  if (arg.includes('.')) return arg;
  if (flags.namespace) return `${arg}.${flags.namespace}`;
  try {
    return `${arg}.${KubeClient.load({ kubeconfig: flags.kubeconfig, context: flags.context }).contextNamespace ?? 'default'}`;
  } catch {
    return `${arg}.default`;
  }
}

export async function runProxyStatus(proxy: string | undefined, flags: ProxyStatusFlags, io: Io = defaultIo): Promise<void> {
  const cfg = resolveXdsConfig(flags, io.env);
  const output = outputFormat(flags.output);
  const verbose = verbosity(flags.verbosity);
  const result = await gather(cfg, DEBUG_SYNCZ_TYPE_URL, [], 'all');
  const parsed = parseSyncz(result.responses.map((r) => r.response));
  for (const w of [...result.warnings, ...parsed.warnings]) io.err(`warning: ${w}\n`);
  const now = io.clock.now();
  if (proxy !== undefined) {
    const name = proxyName(proxy, flags);
    const row = parsed.rows.find((r) => r.name === name);
    if (!row) {
      const asked = result.responses.map((r) => r.source).join(', ');
      throw new IsthmusError(ErrorCodes.XdsFailed, `proxy ${name} is not connected to the control plane (asked ${asked})${parsed.warnings.length + result.warnings.length > 0 ? '; some replicas did not answer, see the warnings above' : ''}`);
    }
    if (output !== 'table') { io.out(render([row], { output, verbosity: verbose, now })); return; }
    io.out(singleProxy(row, now));
    io.err('note: istioctl also compares the proxy\'s own Envoy config (admin port 15000) with the control plane\'s; isthmus does not reach Envoy admin ports yet, so only the control plane\'s sync status per type is shown\n');
    return;
  }
  const rows = flags.namespace ? parsed.rows.filter((r) => r.namespace === flags.namespace) : parsed.rows;
  io.out(render(rows, { output, verbosity: verbose, now }));
}

function addProxyStatus(parent: CommandUnknownOpts, description: string, io: Io): void {
  const cmd = parent
    .command('proxy-status [proxy]')
    .alias('ps')
    .description(description)
    .option('-o, --output <format>', 'json or yaml (default: a table)')
    .option('-v, --verbosity <n>', '1: one column per xDS type')
    .option('-n, --namespace <ns>', 'only proxies of this namespace; namespace of a <pod> given without one');
  addXdsFlags(cmd).action(async (proxy: string | undefined, flags: ProxyStatusFlags) => { await runProxyStatus(proxy, flags, io); });
}

export function register(program: Command, io: Io = defaultIo): void {
  const experimental = preferExperimental(io.env);
  const top = 'retrieve the sync status of each proxy from the control plane over xDS (istio.io/debug/syncz)';
  addProxyStatus(program, experimental ? `${top} (ISTIOCTL_PREFER_EXPERIMENTAL: this is x proxy-status)` : top, io);
  const x = program.commands.find((c) => c.name() === 'x') ?? program.command('x').alias('experimental').description('experimental commands');
  addProxyStatus(x, `${top} (experimental variant; the same as proxy-status)`, io);
}
