/**
 * The one mapping from the stable error codes of errors.ts to the gRPC status a caller sees, used by
 * every gRPC server (ADS, the CA, the xds-proxy). Servers throw an IsthmusError with a code; the
 * status comes from here. Numeric codes as the gRPC spec defines them, so model needs no gRPC library.
 */
import { ErrorCodes, IsthmusError, type ErrorCode } from './errors.ts';

export const GrpcStatus = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

const { INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, RESOURCE_EXHAUSTED, UNAVAILABLE, UNIMPLEMENTED, NOT_FOUND, DEADLINE_EXCEEDED, INTERNAL } = GrpcStatus;

/**
 * Codes a caller can act on. Every other code is the server's own failure (its key material, its
 * Kubernetes access, ...) and maps to INTERNAL: the caller cannot fix it, the log says what happened.
 */
const STATUS_OF: Readonly<Partial<Record<ErrorCode, GrpcStatusCode>>> = {
  // The request itself is wrong.
  [ErrorCodes.InvalidId]: INVALID_ARGUMENT,
  [ErrorCodes.ProtoCodec]: INVALID_ARGUMENT,
  [ErrorCodes.ProtoUnknownType]: INVALID_ARGUMENT,
  [ErrorCodes.Usage]: INVALID_ARGUMENT,
  [ErrorCodes.XdsRequestInvalid]: INVALID_ARGUMENT,
  [ErrorCodes.CsrInvalid]: INVALID_ARGUMENT,
  [ErrorCodes.CertTtlInvalid]: INVALID_ARGUMENT,
  // Who the caller is, and what that allows.
  [ErrorCodes.AuthenticationFailed]: UNAUTHENTICATED,
  [ErrorCodes.CsrIdentityMismatch]: PERMISSION_DENIED,
  [ErrorCodes.PermissionDenied]: PERMISSION_DENIED,
  // Limits.
  [ErrorCodes.RateLimited]: RESOURCE_EXHAUSTED,
  [ErrorCodes.LimitExceeded]: RESOURCE_EXHAUSTED,
  [ErrorCodes.StreamStalled]: DEADLINE_EXCEEDED,
  // What the server serves, and whether it can right now (retry later).
  [ErrorCodes.NotServed]: UNIMPLEMENTED,
  [ErrorCodes.ProxyNotConnected]: NOT_FOUND,
  [ErrorCodes.NotReady]: UNAVAILABLE,
  [ErrorCodes.NoControlPlane]: UNAVAILABLE,
  [ErrorCodes.XdsUnreachable]: UNAVAILABLE,
  [ErrorCodes.XdsTls]: UNAVAILABLE,
  [ErrorCodes.XdsRefused]: UNAVAILABLE,
  [ErrorCodes.XdsFailed]: UNAVAILABLE,
};

/** The gRPC status a caller sees for an error with `code`. */
export function grpcStatusForCode(code: ErrorCode): GrpcStatusCode {
  return STATUS_OF[code] ?? INTERNAL;
}

/**
 * An error that passes on the gRPC status another server ended a call with (the xds-proxy relays
 * its replicas' status when they agree), instead of mapping its code.
 */
export class RelayedStatusError extends IsthmusError {
  readonly grpcStatus: GrpcStatusCode;

  constructor(code: ErrorCode, message: string, grpcStatus: GrpcStatusCode) {
    super(code, message);
    this.name = 'RelayedStatusError';
    this.grpcStatus = grpcStatus;
  }
}

/** The gRPC status for anything a server handler threw: relayed, mapped from its code, or INTERNAL. */
export function grpcStatusOf(err: unknown): GrpcStatusCode {
  if (err instanceof RelayedStatusError) return err.grpcStatus;
  return err instanceof IsthmusError ? grpcStatusForCode(err.code) : INTERNAL;
}

/** Whether `n` is a gRPC status code (a number received from a peer). */
export function isGrpcStatusCode(n: unknown): n is GrpcStatusCode {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 16;
}

const NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([k, v]) => [v, k]));

/** `UNAVAILABLE` for 14: the name gRPC tools print. */
export function grpcStatusName(code: number): string {
  return NAMES.get(code) ?? `status ${code}`;
}

/** What a server ends a call with: the status and the text the caller sees. */
export interface GrpcStatusReply {
  readonly code: GrpcStatusCode;
  readonly details: string;
}
