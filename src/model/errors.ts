/**
 * Errors that cross a module boundary carry a stable `code`. Callers match on `code`, never on the
 * message. The catalog below is the single list of codes; docs/errors.md explains each one.
 */
export const ErrorCodes = {
  /** An identifier (cluster id, hostname, SPIFFE id, ...) failed to parse. */
  InvalidId: 'ISTHMUS_INVALID_ID',
  /** A protobuf message could not be encoded or decoded. */
  ProtoCodec: 'ISTHMUS_PROTO_CODEC',
  /** A protobuf type name is not in the loaded schema. */
  ProtoUnknownType: 'ISTHMUS_PROTO_UNKNOWN_TYPE',
  /** A required external tool (Go, a test binary) is missing. */
  ToolMissing: 'ISTHMUS_TOOL_MISSING',
  /** Building a test-bed binary failed. */
  BuildFailed: 'ISTHMUS_BUILD_FAILED',
  /** A test-bed cluster with this name is already running. */
  ClusterExists: 'ISTHMUS_CLUSTER_EXISTS',
  /** A test-bed cluster failed to start or become ready. */
  ClusterStart: 'ISTHMUS_CLUSTER_START',
  /** A listen port is already taken. */
  PortBusy: 'ISTHMUS_PORT_BUSY',
  /** A kubeconfig could not be loaded or names no usable cluster. */
  KubeConfig: 'ISTHMUS_KUBECONFIG',
  /** A command-line argument or flag is invalid. */
  Usage: 'ISTHMUS_USAGE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class IsthmusError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IsthmusError';
    this.code = code;
  }
}

export function isIsthmusError(err: unknown, code?: ErrorCode): err is IsthmusError {
  return err instanceof IsthmusError && (code === undefined || err.code === code);
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
