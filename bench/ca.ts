/**
 * CA benchmark (issue 5), printed, not a test:
 *
 *   node_modules/.bin/node bench/ca.ts [--concurrency 1,16,64] [--duration 10] [--sas 200]
 *       [--review-max 5000] [--csrs-per-sa 4] [--channels 4] [--pause 6] [--warmup 3] [--timeout 1800]
 *
 * A real `isthmus discovery` process against one test-bed cluster; the client (this process) calls
 * `istio.v1.auth.IstioCertificateService/CreateCertificate` on its TLS port (15012's role) with
 * `authorization: Bearer <token>`, as istio-agent does, over `--channels` separate TLS connections, each
 * worker bound to one. Every cell runs for `--duration` seconds with `c` calls in flight; signings/s is
 * successful calls over the cell's wall time, latencies are per call (client side, successful calls).
 *
 * Client cost is kept out of the timed part: the service accounts, their tokens (TokenRequest, audience
 * `istio-ca`) and the CSRs (ECDSA P-256 keys, URI SAN = the account's SPIFFE id, as agents send them)
 * are all made up front. CSRs are reused round-robin (`--csrs-per-sa` per account): the server keeps no
 * state per CSR, so every call parses, verifies and signs anew.
 *
 * Modes, each at every concurrency:
 *  - review: token review INCLUDED. The TokenReviewer caches positive results per token (≤ 60 s), so
 *    every call carries a token never sent before (a pool of 3 × `--review-max` tokens minted up front,
 *    round-robin over the `--sas` accounts): each call costs one TokenReview against the test bed's
 *    kube-apiserver. Checked, not assumed: the API server's `apiserver_request_total` for tokenreviews
 *    is read before and after each cell. A cell ends early when it has used `--review-max` tokens.
 *  - cached: token review EXCLUDED. One token per account, each sent once just before the cell (so its
 *    review is cached), then reused; the TokenReview delta of the cell shows 0. Each cached cell gets
 *    its own fresh set of tokens: the cache lifetime (60 s) runs from a token's first review and is not
 *    extended by hits, so reusing a set primed a minute earlier would re-review it mid-cell.
 *  - one-token: the same single token for every call, i.e. one identity. The CA's per-identity rate
 *    limit (default 10/s, burst 50, `DEFAULT_IDENTITY_LIMIT` in src/ca/server/service.ts) caps this at
 *    ~(50 + 10 × duration) / duration signings/s; the rest is refused RESOURCE_EXHAUSTED (counted, with
 *    its own latency). That is the security limit working, reported as such. (Its one token is
 *    re-reviewed once its cache entry is 60 s old: at most one TokenReview per cell.) The CaService limit
 *    options are not plumbed to the discovery process (no flag or env), so the bench cannot and does
 *    not lift them; the review and cached modes spread calls over `--sas` identities, whose combined
 *    limit (sas × 10/s + sas × 50 burst; global 2000/s, burst 4000) is printed and far above what the
 *    server reaches, and RESOURCE_EXHAUSTED counts show whether a limit was hit anyway.
 * Between cells the bench pauses `--pause` seconds so every token bucket is full again (50 / 10 per s
 * = 5 s). The run is bounded by `--timeout` seconds; the test bed and discovery are torn down on
 * success, failure, timeout and SIGINT/SIGTERM.
 */
import { webcrypto, X509Certificate } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, credentials, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { EC_P256_SHA256 } from '../src/pki/keys.ts';
import { x509 } from '../src/pki/x509-lib.ts';
import { DEFAULT_GLOBAL_LIMIT, DEFAULT_IDENTITY_LIMIT } from '../src/ca/server/service.ts';
import { errorMessage } from '../src/model/errors.ts';
import { MAX_POSITIVE_CACHE_MS } from '../src/security/tokenreview.ts';
import { istioCertificateService } from '../src/proto/services.ts';
import type { IstioCertificateRequest, IstioCertificateResponse } from '../src/proto/types.ts';
import { DiscoveryProcess } from '../src/testing/discovery-process.ts';
import { Testbed, type TestbedCluster } from '../src/testing/testbed/testbed.ts';
import { runPool } from './lib/pool.ts';
import { Bench, intOption, load } from './lib/run.ts';
import { cpuSeconds, memory, openSockets } from './lib/proc.ts';
import { fmt, round, summarize, table, type Summary } from './lib/stats.ts';

// ---------------------------------------------------------------------------------------------
// Options

const USAGE = 'usage: node bench/ca.ts [--concurrency 1,16,64] [--duration 10] [--sas 200] [--review-max 5000] [--csrs-per-sa 4] [--channels 4] [--pause 6] [--warmup 3] [--timeout 1800]';
const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '1,16,64' },
    duration: { type: 'string', default: '10' },
    sas: { type: 'string', default: '200' },
    'review-max': { type: 'string', default: '5000' },
    'csrs-per-sa': { type: 'string', default: '4' },
    channels: { type: 'string', default: '4' },
    pause: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '3' },
    timeout: { type: 'string', default: '1800' },
    help: { type: 'boolean', default: false },
  },
});

if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const CONCURRENCIES = opt.concurrency.split(',').map((s) => intOption('concurrency', s.trim(), 1, 1024, USAGE));
const DURATION_S = intOption('duration', opt.duration, 1, 600, USAGE);
const SAS = intOption('sas', opt.sas, 1, 5000, USAGE);
const REVIEW_MAX = intOption('review-max', opt['review-max'], 1, 100_000, USAGE);
const CSRS_PER_SA = intOption('csrs-per-sa', opt['csrs-per-sa'], 1, 100, USAGE);
const CHANNELS = intOption('channels', opt.channels, 1, 64, USAGE);
const PAUSE_S = intOption('pause', opt.pause, 0, 600, USAGE);
const WARMUP_S = intOption('warmup', opt.warmup, 0, 600, USAGE);
const TIMEOUT_S = intOption('timeout', opt.timeout, 30, 24 * 3600, USAGE);

const CLUSTER = 'cluster1';
const SYSTEM_NS = 'istio-system';
const BENCH_NS = 'bench-ca';
const TRUST_DOMAIN = 'cluster.local';
const SINGLE_SA = 'one-token';
const AUDIENCE = 'istio-ca';
const CALL_DEADLINE_MS = 30_000;
const TOKEN_SECONDS = 3 * 3600;
const SERVER_NAME = 'istiod.istio-system.svc';
/** The TokenReviewer's positive-cache lifetime (MAX_POSITIVE_CACHE_MS), counted from a token's first review. */
const CACHE_SECONDS = MAX_POSITIVE_CACHE_MS / 1000;

// ---------------------------------------------------------------------------------------------
// Output and teardown, whatever happens

const channels: Client[] = [];
const bench = new Bench({ name: 'ca', timeoutS: TIMEOUT_S, teardown: () => { for (const c of channels) c.close(); } });
const { log, dir, res } = bench;

// ---------------------------------------------------------------------------------------------
// Set-up: accounts, tokens, CSRs

const saName = (i: number) => `sa-${String(i).padStart(4, '0')}`;
const spiffeOf = (sa: string) => `spiffe://${TRUST_DOMAIN}/ns/${BENCH_NS}/sa/${sa}`;

/** POST with a few retries (a busy API server); 409 is fine. */
async function post(c: TestbedCluster, path: string, body: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await c.requestOk('POST', path, body, true);
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(250 * attempt);
    }
  }
}

async function mint(c: TestbedCluster, sa: string): Promise<string> {
  const r = await post(c, `/api/v1/namespaces/${BENCH_NS}/serviceaccounts/${sa}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [AUDIENCE], expirationSeconds: TOKEN_SECONDS },
  }) as { status?: { token?: string } } | undefined;
  const token = r?.status?.token;
  if (!token) throw new Error(`TokenRequest for ${sa} answered no token`);
  return token;
}

/** `count` tokens, token k for account k % SAS (so consecutive calls rotate over the identities). */
async function mintPool(c: TestbedCluster, count: number): Promise<string[]> {
  const tokens = new Array<string>(count).fill('');
  await runPool(Array.from({ length: count }, (_, k) => async () => { tokens[k] = await mint(c, saName(k % SAS)); }), 16, (done) => {
    if (done % 2000 === 0) log(`  ${done}/${count} tokens`);
  });
  return tokens;
}

async function makeCsr(sa: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey(EC_P256_SHA256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: EC_P256_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeOf(sa) }])],
  });
  return csr.toString('pem');
}

// ---------------------------------------------------------------------------------------------
// Calls

const CREATE = istioCertificateService.CreateCertificate;

function createCertificate(client: Client, req: IstioCertificateRequest, token: string): Promise<IstioCertificateResponse> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(CREATE.path, CREATE.requestSerialize, CREATE.responseDeserialize, req, md, { deadline: Date.now() + CALL_DEADLINE_MS },
      (err: ServiceError | null, r?: IstioCertificateResponse) => {
        if (err) reject(err);
        else if (r) resolve(r);
        else reject(new Error('no response'));
      });
  });
}

function grpcCode(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' ? err.code : undefined;
}

/** One call to make: the token, the account it belongs to, and that account's CSR to send. */
interface Job { readonly token: string; readonly sa: string; readonly csr: string }
type Mode = 'review' | 'cached' | 'one-token';

interface Cell {
  readonly mode: Mode;
  readonly concurrency: number;
  readonly seconds: number;
  readonly ok: number;
  readonly rate: number;
  readonly latency: Summary;
  readonly refused: number;
  readonly refusedLatency: Summary;
  readonly errors: Readonly<Record<string, number>>;
  /** TokenReviews the API server served during the cell. */
  readonly reviews: number;
  readonly discCpu: number;
  readonly apiCpu: number;
  readonly clientCpu: number;
  /** Sockets the discovery process holds at the cell's end (API server connections included). */
  readonly discSockets: number;
  readonly load: string;
}

interface Env {
  readonly c1: TestbedCluster;
  readonly disc: DiscoveryProcess;
  readonly apiPid: number;
  readonly channels: readonly Client[];
  readonly rootPem: string;
}

async function tokenReviewsServed(c: TestbedCluster): Promise<number> {
  const r = await c.request('GET', '/metrics');
  if (r.status !== 200) throw new Error(`API server /metrics: ${r.status}`);
  let n = 0;
  for (const line of r.body.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('resource="tokenreviews"')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** Checks a response fully: chain length, leaf identity, leaf signed by the chain up to the root. */
function verifyChain(resp: IstioCertificateResponse, sa: string, rootPem: string): void {
  const chain = resp.certChain ?? [];
  if (chain.length < 2) throw new Error(`chain of ${chain.length} certificates`);
  const leaf = new X509Certificate(chain[0] ?? '');
  if (leaf.subjectAltName !== `URI:${spiffeOf(sa)}`) throw new Error(`leaf SAN ${leaf.subjectAltName ?? 'none'}, want ${spiffeOf(sa)}`);
  const root = new X509Certificate(rootPem);
  if ((chain[chain.length - 1] ?? '').trim() !== rootPem.trim()) throw new Error('root last: not the published root');
  const issuer = new X509Certificate(chain[1] ?? '');
  if (!leaf.verify(issuer.publicKey) || !issuer.verify(root.publicKey)) throw new Error('chain does not verify to the root');
}

/**
 * Runs `concurrency` workers for DURATION_S seconds (or until `next` has no job); worker w uses
 * channel w % CHANNELS. Every call is checked (chain length; the first one fully).
 */
async function cell(env: Env, mode: Mode, concurrency: number, next: () => Job | undefined, record = true): Promise<Cell> {
  const okLat: number[] = [];
  const refusedLat: number[] = [];
  const errors: Record<string, number> = {};
  let verified = false;
  const reviews0 = record ? await tokenReviewsServed(env.c1) : 0;
  const load0 = load();
  const disc0 = cpuSeconds(env.disc.pid ?? 0);
  const api0 = cpuSeconds(env.apiPid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + DURATION_S * 1000;
  const worker = async (w: number) => {
    const ch = env.channels[w % env.channels.length];
    if (!ch) throw new Error('no channel');
    while (performance.now() < deadline) {
      const job = next();
      if (!job) return;
      const a = performance.now();
      try {
        const resp = await createCertificate(ch, { csr: job.csr, validityDuration: '86400' }, job.token);
        const ms = performance.now() - a;
        if ((resp.certChain ?? []).length < 2) throw new Error('short chain');
        if (!verified) { verifyChain(resp, job.sa, env.rootPem); verified = true; }
        okLat.push(ms);
      } catch (err) {
        const ms = performance.now() - a;
        const code = grpcCode(err);
        if (code === status.RESOURCE_EXHAUSTED) refusedLat.push(ms);
        else {
          const key = code === undefined ? errorMessage(err).slice(0, 60) : status[code] ?? String(code);
          errors[key] = (errors[key] ?? 0) + 1;
          if (code === undefined) throw err; // a verification failure: the benchmark is wrong, stop
        }
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(client0);
  const out: Cell = {
    mode, concurrency, seconds, ok: okLat.length, rate: okLat.length / seconds, latency: summarize(okLat),
    refused: refusedLat.length, refusedLatency: summarize(refusedLat), errors,
    reviews: record ? (await tokenReviewsServed(env.c1)) - reviews0 : 0,
    discCpu: cpuSeconds(env.disc.pid ?? 0) - disc0, apiCpu: cpuSeconds(env.apiPid) - api0,
    clientCpu: (cpu.user + cpu.system) / 1e6, discSockets: openSockets(env.disc.pid ?? 0), load: load0,
  };
  if (record) {
    const errs = Object.entries(errors).map(([k, v]) => `${k} ${v}`).join(', ');
    log(`  ${mode.padEnd(9)} c=${String(concurrency).padEnd(3)} ${fmt(out.rate, 1).padStart(7)} signings/s  p50 ${fmt(out.latency.p50, 1)} ms  p99 ${fmt(out.latency.p99, 1)} ms  `
      + `(n=${out.ok} in ${fmt(seconds, 1)} s; refused ${out.refused}; TokenReviews ${out.reviews}; CPU disc ${fmt(out.discCpu, 1)} s, apiserver ${fmt(out.apiCpu, 1)} s, client ${fmt(out.clientCpu, 1)} s; discovery sockets ${out.discSockets}`
      + `${errs ? `; errors ${errs}` : ''}; load ${load0})`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const loadStart = load();
  log(`ca bench: concurrency ${CONCURRENCIES.join(',')}, ${DURATION_S} s per cell, ${SAS} service accounts, ${CHANNELS} TLS connections; `
    + `${availableParallelism()} CPUs, load average ${loadStart}`);
  log(`CA rate limits (defaults, not changeable on the discovery process): global ${DEFAULT_GLOBAL_LIMIT.ratePerSecond}/s burst ${DEFAULT_GLOBAL_LIMIT.burst}; `
    + `per identity ${DEFAULT_IDENTITY_LIMIT.ratePerSecond}/s burst ${DEFAULT_IDENTITY_LIMIT.burst} `
    + `(spread over ${SAS} identities: ${SAS * DEFAULT_IDENTITY_LIMIT.ratePerSecond}/s + ${SAS * DEFAULT_IDENTITY_LIMIT.burst} burst)`);

  const bedUp = Testbed.up({ dir, clusters: [CLUSTER], log: (l) => { log(`  ${l}`); } });
  res.bedUp = bedUp;
  const bed = await bedUp;
  const c1 = bed.cluster(CLUSTER);
  await c1.ensureNamespace(SYSTEM_NS);
  await c1.ensureNamespace(BENCH_NS);

  log(`creating ${SAS + 1} service accounts`);
  const sas = [...Array.from({ length: SAS }, (_, i) => saName(i)), SINGLE_SA];
  await runPool(sas.map((sa) => async () => {
    await post(c1, `/api/v1/namespaces/${BENCH_NS}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } });
  }), 16);

  const reviewCells = CONCURRENCIES.length;
  const poolSize = reviewCells * REVIEW_MAX;
  log(`minting ${poolSize} review tokens + ${CONCURRENCIES.length + (WARMUP_S > 0 ? 1 : 0)} × ${SAS} + 1 cached ones (TokenRequest, audience ${AUDIENCE}, ${TOKEN_SECONDS} s)`);
  const m0 = performance.now();
  const reviewTokens = await mintPool(c1, poolSize);
  const cachedSets = CONCURRENCIES.length + (WARMUP_S > 0 ? 1 : 0);
  const cachedTokens = await mintPool(c1, cachedSets * SAS);
  const singleToken = await mint(c1, SINGLE_SA);
  const mintS = (performance.now() - m0) / 1000;
  log(`  minted in ${fmt(mintS, 1)} s (${fmt((poolSize + cachedTokens.length + 1) / mintS, 0)}/s)`);

  log(`generating ${sas.length * CSRS_PER_SA} CSRs (ECDSA P-256, URI SAN = the account's SPIFFE id), client-side, untimed`);
  const g0 = performance.now();
  const csrs = new Map<string, string[]>();
  for (const sa of sas) {
    const list: string[] = [];
    for (let k = 0; k < CSRS_PER_SA; k++) list.push(await makeCsr(sa));
    csrs.set(sa, list);
  }
  log(`  generated in ${fmt((performance.now() - g0) / 1000, 1)} s`);
  const csrUse = new Map<string, number>();
  const csrFor = (sa: string): string => {
    const list = csrs.get(sa) ?? [];
    const k = csrUse.get(sa) ?? 0;
    csrUse.set(sa, k + 1);
    const pem = list[k % list.length];
    if (pem === undefined) throw new Error(`no CSR for ${sa}`);
    return pem;
  };

  log('starting isthmus discovery');
  const disc = await DiscoveryProcess.start({ kubeconfig: c1.kubeconfigPath, clusterId: CLUSTER, env: { POD_NAMESPACE: SYSTEM_NS } });
  res.disc = disc;
  await disc.ready(60_000);
  let rootPem = '';
  const rootDeadline = Date.now() + 60_000;
  while (!rootPem) {
    const r = await c1.request('GET', `/api/v1/namespaces/${BENCH_NS}/configmaps/istio-ca-root-cert`);
    if (r.status === 200) rootPem = (JSON.parse(r.body) as { data?: Record<string, string> }).data?.['root-cert.pem'] ?? '';
    if (!rootPem) {
      if (Date.now() > rootDeadline) throw new Error('istio-ca-root-cert never appeared');
      await sleep(100);
    }
  }
  const tls: ChannelCredentials = credentials.createSsl(Buffer.from(rootPem));
  for (let i = 0; i < CHANNELS; i++) {
    // A local subchannel pool: every Client its own TLS connection, as separate agents would have.
    channels.push(new Client(disc.secureGrpcAddr, tls, {
      'grpc.ssl_target_name_override': SERVER_NAME, 'grpc.default_authority': SERVER_NAME, 'grpc.use_local_subchannel_pool': 1,
    }));
  }
  const pid = disc.pid ?? 0;
  const env: Env = { c1, disc, apiPid: c1.record.pids.apiserver, channels, rootPem };
  log(`discovery ready (pid ${pid}); root from istio-ca-root-cert; CPU so far ${fmt(cpuSeconds(pid), 2)} s; load average ${load()}`);

  // Cached: one token per account, each reviewed (and so cached) just before a cell; a fresh set each time.
  let cachedSet = -1;
  let primedAt = 0;
  const cachedJob = (i: number): Job => { const sa = saName(i); return { token: cachedTokens[cachedSet * SAS + i] ?? '', sa, csr: csrFor(sa) }; };
  const cachedJobs = () => {
    let k = 0;
    return (): Job => cachedJob(k++ % SAS);
  };
  const prime = async () => {
    cachedSet++;
    primedAt = performance.now();
    let k = 0;
    const nextOnce = (): Job | undefined => (k >= SAS ? undefined : cachedJob(k++));
    const c = await cell(env, 'cached', 16, nextOnce, false);
    if (c.ok !== SAS) throw new Error(`priming: ${c.ok}/${SAS} signed (${JSON.stringify(c.errors)}, refused ${c.refused})`);
    const ch = env.channels[0];
    if (!ch) throw new Error('no channel');
    const one = await createCertificate(ch, { csr: csrFor(SINGLE_SA), validityDuration: '86400' }, singleToken);
    verifyChain(one, SINGLE_SA, rootPem);
  };

  if (WARMUP_S > 0) {
    log(`warm-up: cached tokens, c=16, ${WARMUP_S} s (not recorded)`);
    await prime();
    const t = performance.now();
    const next = cachedJobs();
    await cell(env, 'cached', 16, () => (performance.now() - t < WARMUP_S * 1000 ? next() : undefined), false);
  }
  const rest = async () => { if (PAUSE_S > 0) await sleep(PAUSE_S * 1000); };

  const cells: Cell[] = [];
  const discCpu0 = cpuSeconds(pid);
  log(`review included (a fresh token per call, ≤ ${REVIEW_MAX} per cell)`);
  let cursor = 0;
  for (const c of CONCURRENCIES) {
    await rest();
    const stop = cursor + REVIEW_MAX;
    cells.push(await cell(env, 'review', c, () => {
      if (cursor >= stop) return undefined;
      const k = cursor++;
      const sa = saName(k % SAS);
      return { token: reviewTokens[k] ?? '', sa, csr: csrFor(sa) };
    }));
    cursor = stop;
  }
  log(`review excluded (cached: ${SAS} tokens, one per account, reviewed just before each cell, cache ≤ ${CACHE_SECONDS} s)`);
  for (const c of CONCURRENCIES) {
    await prime();
    await rest();
    cells.push(await cell(env, 'cached', c, cachedJobs()));
    const age = (performance.now() - primedAt) / 1000;
    if (age >= CACHE_SECONDS) log(`  warning: the cell ended ${fmt(age, 0)} s after priming, past the ${CACHE_SECONDS} s cache lifetime: some calls were reviewed`);
  }
  log('one token, one identity (cached review; the per-identity rate limit applies)');
  for (const c of CONCURRENCIES) {
    await rest();
    cells.push(await cell(env, 'one-token', c, () => ({ token: singleToken, sa: SINGLE_SA, csr: csrFor(SINGLE_SA) })));
  }
  const discCpuBench = cpuSeconds(pid) - discCpu0;
  const discCpuTotal = cpuSeconds(pid);
  const mem = memory(pid);
  const loadEnd = load();

  const get = (mode: Mode, c: number) => cells.find((x) => x.mode === mode && x.concurrency === c);
  const ms = (v: number | undefined) => (v === undefined ? '-' : fmt(v, 1));
  const rows: string[][] = [[
    'c', 'review: sign/s', 'p50 ms', 'p99 ms', 'reviews', 'cached: sign/s', 'p50 ms', 'p99 ms', 'reviews', 'one token: ok/s', 'refused/s', 'p50 ok ms', 'p50 refused ms',
  ]];
  for (const c of CONCURRENCIES) {
    const r = get('review', c);
    const k = get('cached', c);
    const o = get('one-token', c);
    rows.push([
      String(c),
      fmt(r?.rate ?? Number.NaN, 1), ms(r?.latency.p50), ms(r?.latency.p99), String(r?.reviews ?? '-'),
      fmt(k?.rate ?? Number.NaN, 1), ms(k?.latency.p50), ms(k?.latency.p99), String(k?.reviews ?? '-'),
      fmt(o?.rate ?? Number.NaN, 1), fmt(o ? o.refused / o.seconds : Number.NaN, 1), ms(o?.latency.p50), ms(o?.refusedLatency.p50),
    ]);
  }
  console.log(`\n${table(rows)}\n`);
  const cpuRows: string[][] = [['cell', 'n ok', 'refused', 'errors', 'seconds', 'discovery CPU s', 'disc. CPU ms per call', 'apiserver CPU s', 'client CPU s', 'disc. sockets at end', 'load (1/5/15) at start']];
  for (const x of cells) {
    const errs = Object.entries(x.errors).map(([k, v]) => `${k}:${v}`).join(' ') || '0';
    const calls = x.ok + x.refused + Object.values(x.errors).reduce((a, b) => a + b, 0);
    cpuRows.push([`${x.mode} c=${x.concurrency}`, String(x.ok), String(x.refused), errs, fmt(x.seconds, 1), fmt(x.discCpu, 2),
      fmt(calls > 0 ? (x.discCpu * 1000) / calls : Number.NaN, 2), fmt(x.apiCpu, 2), fmt(x.clientCpu, 2), String(x.discSockets), x.load]);
  }
  console.log(`${table(cpuRows)}\n`);
  console.log(`discovery CPU: ${fmt(discCpuBench, 2)} s during the measured cells (incl. pauses, priming), ${fmt(discCpuTotal, 2)} s since spawn; RSS ${fmt(mem.rssMb, 0)} MiB (peak ${fmt(mem.hwmMb, 0)} MiB)`);
  console.log(`load average: start ${loadStart}, end ${loadEnd}; ${availableParallelism()} CPUs shared with the test bed's API server, etcd and this client\n`);
  console.log(JSON.stringify({
    bench: 'ca', durationS: DURATION_S, serviceAccounts: SAS, channels: CHANNELS, csrsPregenerated: sas.length * CSRS_PER_SA,
    limits: { global: DEFAULT_GLOBAL_LIMIT, perIdentity: DEFAULT_IDENTITY_LIMIT },
    cells: cells.map((x) => ({
      mode: x.mode, c: x.concurrency, n: x.ok, perS: round(x.rate, 1), p50: round(x.latency.p50, 1), p99: round(x.latency.p99, 1),
      refused: x.refused, errors: Object.values(x.errors).reduce((a, b) => a + b, 0), reviews: x.reviews, discCpuS: round(x.discCpu, 2), apiCpuS: round(x.apiCpu, 2), discSockets: x.discSockets,
    })),
    discCpuS: round(discCpuBench, 2), discCpuTotalS: round(discCpuTotal, 2), rssMb: round(mem.rssMb, 0),
    loadavg: { start: loadStart, end: loadEnd }, cpus: availableParallelism(),
  }));
}

await bench.run(main);
