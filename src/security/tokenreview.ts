/**
 * Service-account token verification through the Kubernetes TokenReview API (authentication.k8s.io/v1),
 * as istiod's KubeJWTAuthenticator does it (docs/istio-compat.md §11.3): the API server that issued the token
 * says whether it is valid for the audiences we accept (default `istio-ca`), and who it belongs to. We
 * require `status.authenticated`, the group `system:serviceaccounts` and a username
 * `system:serviceaccount:<ns>:<sa>`.
 *
 * Positive results are cached, keyed by a hash of (cluster, token), for at most 60 s and never past the
 * token's own `exp`; definitive refusals are cached briefly (default 2 s) so a caller retrying a bad token
 * cannot make us hammer the API server; transport failures are never cached. Concurrent reviews of the
 * same token share one API call.
 *
 * Before any API call, tokens that cannot be valid are refused locally (jwt-precheck.ts: not a JWT, no
 * issuer, expired or not yet valid by their own claims, none of our audiences, an issuer the cluster's
 * API server does not use (issuers.ts)): junk costs the API server nothing. These checks only refuse;
 * only the TokenReview grants.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from '../kube/client.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { IssuerBook } from './issuers.ts';
import { claimsProblem, unverifiedClaims } from './jwt-precheck.ts';
import { systemClock, type Clock } from '../model/clock.ts';
import type { Logger } from '../observability/log.ts';

/** istiod's `TOKEN_AUDIENCES` default. */
export const DEFAULT_TOKEN_AUDIENCES: readonly string[] = ['istio-ca'];
/** Upper bound of the positive cache lifetime. */
export const MAX_POSITIVE_CACHE_MS = 60_000;
/** Upper bound of the negative cache lifetime. */
export const MAX_NEGATIVE_CACHE_MS = 5_000;
/** Tokens longer than this are refused without asking the API server. */
export const MAX_TOKEN_BYTES = 16 * 1024;

const SA_GROUP = 'system:serviceaccounts';
const SA_PREFIX = 'system:serviceaccount:';
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
const POD_UID_EXTRA = 'authentication.kubernetes.io/pod-uid';

/** Who a verified token belongs to. */
export interface ReviewedToken {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly podName?: string;
  readonly podUid?: string;
}

export interface TokenReviewStatus {
  readonly authenticated?: boolean;
  readonly error?: string;
  readonly audiences?: readonly string[];
  readonly user?: {
    readonly username?: string;
    readonly uid?: string;
    readonly groups?: readonly string[];
    readonly extra?: Readonly<Record<string, readonly string[]>>;
  };
}

export interface TokenReviewerOptions {
  /** `spec.audiences` of every review (istiod's TOKEN_AUDIENCES); default `['istio-ca']`. */
  readonly audiences?: readonly string[];
  /** Milliseconds since the epoch; injected for tests. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Lifetime of a positive cache entry, capped at 60 s and at the token's `exp`; 0 disables. */
  readonly positiveTtlMs?: number;
  /** Lifetime of a negative cache entry, capped at 5 s; 0 disables. */
  readonly negativeTtlMs?: number;
  /** Cache entries kept at most (oldest evicted first). */
  readonly maxEntries?: number;
  /** Where the issuers of each cluster are learned (default: a book of its own, logging to `log`). */
  readonly issuers?: IssuerBook;
  readonly log?: Logger;
  /** Counts a token refused without asking the API server (`reason`: jwt, claims, issuer). */
  readonly onRefusedLocally?: (reason: 'jwt' | 'claims' | 'issuer') => void;
  /** Counts a TokenReview sent to the API server. */
  readonly onReview?: (cluster: string) => void;
}

function fail(message: string, cause?: unknown): IsthmusError {
  return new IsthmusError(ErrorCodes.AuthenticationFailed, message, cause === undefined ? undefined : { cause });
}

/**
 * Checks a TokenReview status and extracts the service account. Pure; throws `AuthenticationFailed`
 * with the precise reason (for logs, never for callers).
 */
export function identityFromReview(status: TokenReviewStatus | undefined): ReviewedToken {
  if (!status) throw fail('the TokenReview has no status');
  if (status.authenticated !== true) {
    throw fail(`the token is not authenticated${status.error ? `: ${status.error}` : ''}`);
  }
  const user = status.user ?? {};
  const groups = user.groups ?? [];
  if (!groups.includes(SA_GROUP)) throw fail(`the token's user is not in group ${SA_GROUP} (groups: ${groups.join(', ') || 'none'})`);
  const username = user.username ?? '';
  if (!username.startsWith(SA_PREFIX)) throw fail(`the token's user ${JSON.stringify(username)} is not a service account`);
  const parts = username.slice(SA_PREFIX.length).split(':');
  const [namespace, serviceAccount] = parts;
  if (parts.length !== 2 || !namespace || !serviceAccount) throw fail(`malformed service-account username ${JSON.stringify(username)}`);
  const podName = user.extra?.[POD_NAME_EXTRA]?.[0];
  const podUid = user.extra?.[POD_UID_EXTRA]?.[0];
  return { namespace, serviceAccount, ...(podName ? { podName } : {}), ...(podUid ? { podUid } : {}) };
}

/**
 * The `exp` claim of a JWT in milliseconds, read WITHOUT verifying the signature: only used to bound how
 * long a result the API server vouched for is cached. Undefined when absent or unreadable.
 */
export function unverifiedExpiryMs(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

interface CacheEntry {
  readonly expiresAt: number;
  readonly result: ReviewedToken | IsthmusError;
}

export class TokenReviewer {
  readonly #audiences: readonly string[];
  readonly #clock: Pick<Clock, 'now'>;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #maxEntries: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<ReviewedToken>>();
  readonly #issuers: IssuerBook;
  readonly #onRefused: (reason: 'jwt' | 'claims' | 'issuer') => void;
  readonly #onReview: (cluster: string) => void;
  #apiCalls = 0;
  #refusedLocally = 0;

  constructor(opts: TokenReviewerOptions = {}) {
    this.#audiences = opts.audiences && opts.audiences.length > 0 ? [...opts.audiences] : DEFAULT_TOKEN_AUDIENCES;
    this.#clock = opts.clock ?? systemClock;
    this.#positiveTtlMs = Math.max(0, Math.min(opts.positiveTtlMs ?? MAX_POSITIVE_CACHE_MS, MAX_POSITIVE_CACHE_MS));
    this.#negativeTtlMs = Math.max(0, Math.min(opts.negativeTtlMs ?? 2_000, MAX_NEGATIVE_CACHE_MS));
    this.#maxEntries = Math.max(1, opts.maxEntries ?? 10_000);
    this.#issuers = opts.issuers ?? new IssuerBook({ clock: this.#clock, ...(opts.log ? { log: opts.log } : {}) });
    this.#onRefused = opts.onRefusedLocally ?? (() => undefined);
    this.#onReview = opts.onReview ?? (() => undefined);
  }

  /** Tokens refused without an API call so far. */
  get refusedLocally(): number {
    return this.#refusedLocally;
  }

  #refuseLocally(reason: 'jwt' | 'claims' | 'issuer', cluster: string, why: string): IsthmusError {
    this.#refusedLocally++;
    this.#onRefused(reason);
    return fail(`cluster ${cluster}: ${why} (refused without a TokenReview)`);
  }

  get audiences(): readonly string[] {
    return this.#audiences;
  }

  /** TokenReview calls made so far (for tests and benchmarks). */
  get apiCalls(): number {
    return this.#apiCalls;
  }

  /**
   * Verifies `token` with the API server behind `client`; `cluster` scopes the cache (the same token
   * means nothing to another cluster). Throws `AuthenticationFailed`.
   */
  async review(client: KubeClient, cluster: string, token: string): Promise<ReviewedToken> {
    if (token === '') throw fail('empty bearer token');
    if (token.length > MAX_TOKEN_BYTES) throw fail(`bearer token of ${token.length} bytes exceeds ${MAX_TOKEN_BYTES}`);
    const now = this.#clock.now();
    const claims = unverifiedClaims(token);
    if (typeof claims === 'string') throw this.#refuseLocally('jwt', cluster, claims);
    const problem = claimsProblem(claims, now, this.#audiences);
    if (problem !== undefined) throw this.#refuseLocally('claims', cluster, problem);
    const key = createHash('sha256').update(cluster).update('\0').update(token).digest('base64');
    const hit = this.#cache.get(key);
    if (hit) {
      if (hit.expiresAt > now) {
        if (hit.result instanceof IsthmusError) throw hit.result;
        return hit.result;
      }
      this.#cache.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const iss = claims.iss ?? '';
    const known = await this.#issuers.issuers(client, cluster);
    if (known.size > 0 && !known.has(iss) && !this.#issuers.tryProbe(client)) {
      throw this.#refuseLocally('issuer', cluster, `issuer ${JSON.stringify(iss.slice(0, 128))} is not one this cluster's API server uses (${[...known].join(', ')})`);
    }
    const again = this.#inflight.get(key);
    if (again) return again;
    const p = this.#call(client, cluster, token, key, iss).finally(() => { this.#inflight.delete(key); });
    this.#inflight.set(key, p);
    return p;
  }

  async #call(client: KubeClient, cluster: string, token: string, key: string, iss: string): Promise<ReviewedToken> {
    let status: TokenReviewStatus | undefined;
    try {
      this.#apiCalls++;
      this.#onReview(cluster);
      const res = await client.request<{ status?: TokenReviewStatus }>('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, audiences: this.#audiences },
      });
      status = res.status;
    } catch (err) {
      // Not the token's fault, or not provably: never cached.
      throw fail(`TokenReview on cluster ${cluster} failed: ${errorMessage(err)}`, err);
    }
    const now = this.#clock.now();
    try {
      const who = identityFromReview(status);
      // The API server vouched for this token, so its issuer is one the cluster uses.
      this.#issuers.learn(client, iss);
      const exp = unverifiedExpiryMs(token);
      const ttl = Math.min(this.#positiveTtlMs, exp === undefined ? Infinity : exp - now);
      if (ttl > 0) this.#remember(key, { expiresAt: now + ttl, result: who });
      return who;
    } catch (err) {
      const e = err instanceof IsthmusError ? fail(`cluster ${cluster}: ${err.message}`) : fail(errorMessage(err));
      if (this.#negativeTtlMs > 0) this.#remember(key, { expiresAt: now + this.#negativeTtlMs, result: e });
      throw e;
    }
  }

  #remember(key: string, entry: CacheEntry): void {
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (oldest.done === true) break;
      this.#cache.delete(oldest.value);
    }
  }

  /** Forgets every cached result. */
  clear(): void {
    this.#cache.clear();
  }
}
