/**
 * The retry policy every mesh route gets when nothing configures one, as istiod's: up to 2 retries
 * on connection failures, refused streams, gRPC `unavailable`/`cancelled` and the status codes the
 * caller names in `x-envoy-retriable-status-codes`, each retry on another host if there is one
 * (5 host picks at most). Virtual hosts also send `x-envoy-attempt-count` upstream.
 */
import { packAny } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { EXT, previousHostsPredicateCodec } from './extra-codecs.ts';

export function defaultRetryPolicy(): T.RetryPolicy {
  return {
    retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    numRetries: { value: 2 },
    retryHostPredicate: [{ name: EXT.previousHosts, typedConfig: packAny(previousHostsPredicateCodec, {}) }],
    hostSelectionRetryMaxAttempts: '5',
  };
}
