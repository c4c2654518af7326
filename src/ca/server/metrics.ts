/** CA server metrics under istiod's names (`security/pkg/server/ca/monitoring.go`), in a registry the composition root owns. */
import { Counter, type Registry } from 'prom-client';

export interface CaMetrics {
  readonly csrCount: Counter;
  readonly authnFailures: Counter;
  readonly csrParsingErrors: Counter;
  readonly signErrors: Counter<'error_type'>;
  readonly successes: Counter;
  readonly rateLimited: Counter;
  /** TokenReviews sent to a cluster's API server. */
  readonly tokenReviews: Counter<'cluster'>;
  /** Bearer tokens refused without a TokenReview (not a JWT, claims, issuer). */
  readonly tokensRefusedLocally: Counter<'reason'>;
}

export function caMetrics(registry: Registry): CaMetrics {
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  return {
    csrCount: counter('citadel_server_csr_count', 'The number of CSRs received by Citadel server.'),
    authnFailures: counter('citadel_server_authentication_failure_count', 'The number of authentication failures.'),
    csrParsingErrors: counter('citadel_server_csr_parsing_err_count', 'The number of errors occurred when parsing the CSR.'),
    signErrors: new Counter({ name: 'citadel_server_csr_sign_err_count', help: 'The number of errors occurred when signing the CSR.', labelNames: ['error_type'], registers: [registry] }),
    successes: counter('citadel_server_success_cert_issuance_count', 'The number of certificates issuances that have succeeded.'),
    rateLimited: counter('isthmus_ca_rate_limited_count', 'CSRs refused by the CA rate limits.'),
    tokenReviews: new Counter({ name: 'isthmus_token_review_count', help: 'TokenReviews sent to the API server of a cluster.', labelNames: ['cluster'], registers: [registry] }),
    tokensRefusedLocally: new Counter({ name: 'isthmus_token_refused_locally_count', help: 'Bearer tokens refused without asking an API server (not a JWT, expired, wrong audience or issuer).', labelNames: ['reason'], registers: [registry] }),
  };
}
