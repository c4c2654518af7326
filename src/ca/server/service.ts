/**
 * `istio.v1.auth.IstioCertificateService/CreateCertificate` (docs/istio-compat.md §11): transport and
 * policy only; signing is behind `CertificateAuthority`, authentication behind an injected function.
 *
 * Order of checks: global rate limit, size, authentication (opaque `Unauthenticated` "request
 * authenticate failure" to the caller, the reason in the log), per-identity rate limit, impersonation
 * (not supported: refused as istiod refuses it without a node authorizer), CSR parsing (InvalidArgument),
 * requested identities (a CSR asking for any identity but the caller's is refused: PermissionDenied),
 * TTL (istiod's rules: default when <= 0, refused above the maximum), signing. The certificate carries
 * only the SPIFFE id of the verified caller, in the configured trust domain.
 *
 * Refusals are counted in metrics (istiod's names: `citadel_server_authentication_failure_count`, ...)
 * and logged aggregated (observability/log-limiter.ts): the first of a kind per interval with its
 * details, then one line with how many followed. Anyone can send CreateCertificate calls; they must
 * not be able to flood the log.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ErrorCodes, errorMessage, IsthmusError, isIsthmusError, type ErrorCode } from '../../model/errors.ts';
import { grpcStatusForCode, type GrpcStatusCode, type GrpcStatusReply } from '../../model/grpc-status.ts';
import { parseSpiffeId, type SpiffeId } from '../../model/ids.ts';
import type { Logger } from '../../observability/log.ts';
import { AggregatedLog } from '../../observability/log-limiter.ts';
// Requests arrive decoded: the __Output shape (64-bit integers as decimal strings).
import type { IstioCertificateRequest__Output as IstioCertificateRequest, IstioCertificateResponse } from '../../proto/types.ts';
import { structToJson } from '../../proto/wkt.ts';
import type { AuthCall } from '../../security/authenticate.ts';
import type { Identity } from '../../model/identity.ts';
import { MAX_CSR_BYTES } from '../../pki/csr-limits.ts';
import type * as CsrModule from '../../pki/csr.ts';
import type { CertificateAuthority } from './authority.ts';
import type { CaMetrics } from './metrics.ts';
import { KeyedRateLimiter, TokenBucket, type BucketConfig } from './ratelimit.ts';
import { systemClock, type Clock } from '../../model/clock.ts';

export const AUTHN_FAILURE = 'request authenticate failure';
export const IMPERSONATION_FAILURE = 'request impersonation authentication failure';

/** Defaults: generous for agents (one CSR per workload every ~12 h) yet bounded. */
export const DEFAULT_GLOBAL_LIMIT: BucketConfig = { ratePerSecond: 2000, burst: 4000 };
export const DEFAULT_IDENTITY_LIMIT: BucketConfig = { ratePerSecond: 10, burst: 50 };
/** Largest request accepted: the CSR limit plus room for metadata. */
export const DEFAULT_MAX_REQUEST_BYTES = MAX_CSR_BYTES + 16 * 1024;

let csrLoading: Promise<typeof CsrModule> | undefined;
const csrModule = (): Promise<typeof CsrModule> => (csrLoading ??= import('../../pki/csr.ts'));

/** A refusal: `message` goes to the caller with the gRPC status of its code; `detail` goes to the log only. */
export class CaCallError extends IsthmusError {
  readonly detail: string;

  constructor(code: ErrorCode, message: string, detail = message) {
    super(code, message);
    this.name = 'CaCallError';
    this.detail = detail;
  }

  /** The status the caller sees (src/model/grpc-status.ts). */
  get grpcCode(): GrpcStatusCode {
    return grpcStatusForCode(this.code);
  }
}

export interface CaServiceOptions {
  /** Resolves the caller's identity or throws why not (e.g. `AuthenticatorChain.authenticate`). */
  readonly authenticate: (call: AuthCall) => Promise<Identity>;
  readonly authority: CertificateAuthority;
  readonly log: Logger;
  /** Trust domains a signed identity may have (ours first). */
  readonly trustDomains: readonly string[];
  readonly clock?: Pick<Clock, 'now'>;
  /** null disables. */
  readonly globalLimit?: BucketConfig | null;
  /** null disables. */
  readonly identityLimit?: BucketConfig | null;
  readonly maxRequestBytes?: number;
  /** Refuse CSRs whose URI SANs name anybody but the caller (default true; istiod does not refuse). */
  readonly refuseForeignIdentities?: boolean;
  readonly metrics?: CaMetrics;
  /** Interval of the aggregated refusal log (default 10 s). */
  readonly refusalLogIntervalMs?: number;
}

function ttlOf(req: IstioCertificateRequest): number {
  const raw = req.validityDuration ?? '0';
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new CaCallError(ErrorCodes.CertTtlInvalid, `validity_duration ${raw} is not a number of seconds`);
  return n;
}

/** Approximate encoded size, without re-encoding: the CSR plus the metadata as JSON. */
function requestSize(req: IstioCertificateRequest): number {
  return (req.csr?.length ?? 0) + (req.metadata ? JSON.stringify(req.metadata).length : 0);
}

export class CaService {
  readonly #opts: CaServiceOptions;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #global: TokenBucket | undefined;
  readonly #perIdentity: KeyedRateLimiter | undefined;
  readonly #refusals: AggregatedLog;

  constructor(opts: CaServiceOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#refusals = new AggregatedLog(opts.log, { clock: this.#clock, ...(opts.refusalLogIntervalMs === undefined ? {} : { intervalMs: opts.refusalLogIntervalMs }) });
    const g = opts.globalLimit === undefined ? DEFAULT_GLOBAL_LIMIT : opts.globalLimit;
    const i = opts.identityLimit === undefined ? DEFAULT_IDENTITY_LIMIT : opts.identityLimit;
    this.#global = g ? new TokenBucket(g, this.#clock) : undefined;
    this.#perIdentity = i ? new KeyedRateLimiter(i, this.#clock) : undefined;
  }

  /** For `server.addService(istioCertificateService, caService.implementation())`. */
  implementation(): UntypedServiceImplementation {
    return {
      CreateCertificate: (call: ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, callback: sendUnaryData<IstioCertificateResponse>) => {
        this.createCertificate(call, call.request).then(
          (res) => { callback(null, res); },
          (err: unknown) => {
            const e = err instanceof CaCallError ? err : new CaCallError(ErrorCodes.Internal, 'internal error', errorMessage(err));
            const reply: GrpcStatusReply = { code: e.grpcCode, details: e.message };
            callback(reply);
          },
        );
      },
    };
  }

  /** The whole RPC minus transport; throws CaCallError. */
  async createCertificate(call: AuthCall, req: IstioCertificateRequest): Promise<IstioCertificateResponse> {
    const m = this.#opts.metrics;
    const log = this.#refusals;
    m?.csrCount.inc();
    const peer = call.getPeer();
    if (this.#global && !this.#global.tryTake()) {
      m?.rateLimited.inc();
      log.warn('CSR refused: global rate limit', { peer });
      throw new CaCallError(ErrorCodes.RateLimited, 'rate limit exceeded');
    }
    const max = this.#opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    if (requestSize(req) > max) {
      log.warn('CSR refused: request too large', { peer, bytes: requestSize(req) });
      throw new CaCallError(ErrorCodes.LimitExceeded, `request larger than ${max} bytes`);
    }

    let identity: Identity;
    try {
      identity = await this.#opts.authenticate(call);
    } catch (err) {
      m?.authnFailures.inc();
      log.warn('CSR refused: authentication failed', { peer, reason: errorMessage(err) });
      throw new CaCallError(ErrorCodes.AuthenticationFailed, AUTHN_FAILURE, errorMessage(err));
    }
    const who = identity.spiffe;
    if (this.#perIdentity && !this.#perIdentity.tryTake(`${identity.cluster}/${who}`)) {
      m?.rateLimited.inc();
      log.warn('CSR refused: per-identity rate limit', { peer, identity: who, cluster: identity.cluster });
      throw new CaCallError(ErrorCodes.RateLimited, 'rate limit exceeded');
    }
    const meta = req.metadata ? structToJson(req.metadata) : {};
    if (typeof meta['ImpersonatedIdentity'] === 'string' && meta['ImpersonatedIdentity'] !== '') {
      m?.authnFailures.inc();
      log.warn('CSR refused: impersonation is not supported', { peer, identity: who, impersonated: meta['ImpersonatedIdentity'] });
      throw new CaCallError(ErrorCodes.AuthenticationFailed, IMPERSONATION_FAILURE);
    }

    const identities = this.#identities(identity);
    const ttlSeconds = ttlOf(req);
    // The CSR parser (and the X.509 library under it) loads with the first request, not at start.
    const { checkRequestedIdentities, parseCsr } = await csrModule();
    let csr;
    try {
      csr = parseCsr(req.csr ?? '');
    } catch (err) {
      m?.csrParsingErrors.inc();
      log.warn('CSR refused: malformed', { peer, identity: who, reason: errorMessage(err) });
      throw new CaCallError(ErrorCodes.CsrInvalid, isIsthmusError(err, ErrorCodes.CsrInvalid) ? err.message : 'invalid CSR');
    }
    if (this.#opts.refuseForeignIdentities !== false) {
      try {
        checkRequestedIdentities(csr, identities);
      } catch (err) {
        m?.signErrors.inc({ error_type: 'identity' });
        log.warn('CSR refused: asks for another identity', { peer, reason: errorMessage(err) });
        throw new CaCallError(ErrorCodes.CsrIdentityMismatch, 'the CSR asks for an identity other than the caller\'s', errorMessage(err));
      }
    }
    try {
      const certChain = this.#opts.authority.signWithCertChain({ publicKey: csr.publicKey, identities, ttlSeconds });
      m?.successes.inc();
      this.#opts.log.debug('CSR signed', { peer, identity: who, cluster: identity.cluster, ttlSeconds });
      return { certChain };
    } catch (err) {
      if (isIsthmusError(err, ErrorCodes.CertTtlInvalid)) {
        m?.signErrors.inc({ error_type: 'ttl' });
        log.warn('CSR refused: TTL', { peer, identity: who, reason: err.message });
        throw new CaCallError(ErrorCodes.CertTtlInvalid, err.message);
      }
      m?.signErrors.inc({ error_type: isIsthmusError(err) ? err.code : 'internal' });
      this.#opts.log.error('CSR signing failed', { peer, identity: who, reason: errorMessage(err) });
      throw new CaCallError(ErrorCodes.Internal, 'CSR signing error', errorMessage(err));
    }
  }

  /** The caller's SPIFFE id, checked against our trust domains (the authenticator built it). */
  #identities(identity: Identity): SpiffeId[] {
    let parsed;
    try {
      parsed = parseSpiffeId(identity.spiffe);
    } catch (err) {
      throw new CaCallError(ErrorCodes.Internal, 'internal error', errorMessage(err));
    }
    if (!this.#opts.trustDomains.includes(parsed.trustDomain)) {
      this.#refusals.warn('CSR refused: identity outside our trust domains', { identity: identity.spiffe });
      throw new CaCallError(ErrorCodes.PermissionDenied, 'identity outside the trust domain');
    }
    return [parsed.id];
  }
}
