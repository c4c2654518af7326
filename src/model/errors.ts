/**
 * Errors that cross a module boundary carry a stable `code`. Callers match on `code`, never on the
 * message. The catalog below is the single list of the product's codes; docs/errors.md explains each
 * one. Test-only code (the test bed, the tools it builds, the protoc-gen-validate checker) has its own
 * catalog, src/testing/testbed/errors.ts, which the product never imports.
 */
export const ErrorCodes = {
  /** An identifier (cluster id, hostname, SPIFFE id, ...) failed to parse. */
  InvalidId: 'ISTHMUS_INVALID_ID',
  /** A protobuf message could not be encoded or decoded. */
  ProtoCodec: 'ISTHMUS_PROTO_CODEC',
  /** A protobuf type name is not in the loaded schema. */
  ProtoUnknownType: 'ISTHMUS_PROTO_UNKNOWN_TYPE',
  /** A kubeconfig could not be loaded or names no usable cluster. */
  KubeConfig: 'ISTHMUS_KUBECONFIG',
  /** A command-line argument or flag is invalid. */
  Usage: 'ISTHMUS_USAGE',
  /** A certificate signing request is malformed, badly signed, too large or uses an unsupported key. */
  CsrInvalid: 'ISTHMUS_CSR_INVALID',
  /** A CSR asks for an identity other than the one the caller authenticated as. */
  CsrIdentityMismatch: 'ISTHMUS_CSR_IDENTITY_MISMATCH',
  /** A requested certificate lifetime is invalid or above the allowed maximum. */
  CertTtlInvalid: 'ISTHMUS_CERT_TTL_INVALID',
  /** CA key material (ca-cert.pem, ca-key.pem, cert-chain.pem, root-cert.pem) is missing, malformed, mismatched or expired. */
  CaKeyMaterial: 'ISTHMUS_CA_KEY_MATERIAL',
  /** An IstioOperator file or a --set override is invalid (unknown field, bad value); nothing was applied. */
  OperatorInvalid: 'ISTHMUS_OPERATOR_INVALID',
  /** Applying rendered manifests to a cluster failed part-way (or before anything was applied). */
  ApplyFailed: 'ISTHMUS_APPLY_FAILED',
  /** A Kubernetes API server could not be reached (connection refused, timeout, TLS failure). */
  KubeUnreachable: 'ISTHMUS_KUBE_UNREACHABLE',
  /** The Kubernetes API server refused the caller's credentials (401) or their permissions (403). */
  KubeForbidden: 'ISTHMUS_KUBE_FORBIDDEN',
  /** Something waited for did not happen within its timeout (readiness, a token being populated). */
  WaitTimeout: 'ISTHMUS_WAIT_TIMEOUT',
  /** A caller's credentials (token, client certificate, cluster id) could not be verified. */
  AuthenticationFailed: 'ISTHMUS_AUTHENTICATION_FAILED',
  /** A caller sent more requests than its rate limit allows. */
  RateLimited: 'ISTHMUS_RATE_LIMITED',
  /** An xDS server (control plane replica or aggregating proxy) could not be reached. */
  XdsUnreachable: 'ISTHMUS_XDS_UNREACHABLE',
  /** The TLS handshake with an xDS server failed (certificate not trusted, wrong name, not TLS). */
  XdsTls: 'ISTHMUS_XDS_TLS',
  /** An xDS server refused the caller (UNAUTHENTICATED or PERMISSION_DENIED). */
  XdsRefused: 'ISTHMUS_XDS_REFUSED',
  /** An xDS exchange failed for another reason (stream error, timeout, unexpected answer). */
  XdsFailed: 'ISTHMUS_XDS_FAILED',
  /** No control plane replica was found (no running pods, no address). */
  NoControlPlane: 'ISTHMUS_NO_CONTROL_PLANE',
  /** The sidecar injector's ConfigMap (`istio-sidecar-injector`: keys `config`, `values`) or one of its templates is invalid. */
  InjectConfigInvalid: 'ISTHMUS_INJECT_CONFIG_INVALID',
  /** An AdmissionReview sent to the injection webhook is malformed, too large, or for an object the webhook does not inject. */
  InjectBadRequest: 'ISTHMUS_INJECT_BAD_REQUEST',
  /** Injecting a pod failed (a template could not be rendered for it); the pod is refused with this message. */
  InjectFailed: 'ISTHMUS_INJECT_FAILED',
  /** A remote secret's kubeconfig uses a field outside the allow list (files, programs, proxies, ...); the cluster is refused. */
  RemoteKubeconfigRefused: 'ISTHMUS_REMOTE_KUBECONFIG_REFUSED',
  /** A Kubernetes API response, watch event or object count exceeded the bound one cluster may cost. */
  KubeResponseTooLarge: 'ISTHMUS_KUBE_RESPONSE_TOO_LARGE',
  /** A Kubernetes API answer in protobuf (a Pod list) does not decode; the message names the request and the byte. */
  KubeProtobufMalformed: 'ISTHMUS_KUBE_PROTOBUF_MALFORMED',
  /** A remote cluster's API server stopped answering its liveness probe; its last state is kept. */
  RemoteClusterUnhealthy: 'ISTHMUS_REMOTE_CLUSTER_UNHEALTHY',
  /** `isthmus check` found at least one error-severity problem (the report lists them). */
  CheckFailed: 'ISTHMUS_CHECK_FAILED',
  /** An Istio networking object (Gateway, DestinationRule, VirtualService) does not validate and is ignored; the message names object and field. */
  IstioConfigInvalid: 'ISTHMUS_ISTIO_CONFIG_INVALID',
  /** A discovery request is malformed or beyond a per-request limit (no node.id, too many names or types, a type URL this server does not generate). */
  XdsRequestInvalid: 'ISTHMUS_XDS_REQUEST_INVALID',
  /** The server is not ready to answer yet (registries still syncing, a part not wired). */
  NotReady: 'ISTHMUS_NOT_READY',
  /** A server capacity limit was reached (connections, streams, requests in flight, request or response size). */
  LimitExceeded: 'ISTHMUS_LIMIT_EXCEEDED',
  /** An authenticated caller asked for something its identity does not allow (another namespace's proxy, a foreign trust domain). */
  PermissionDenied: 'ISTHMUS_PERMISSION_DENIED',
  /** A request names an RPC or type URL this server does not serve. */
  NotServed: 'ISTHMUS_NOT_SERVED',
  /** A debug request names a proxy that is not connected to this server (or to any replica). */
  ProxyNotConnected: 'ISTHMUS_PROXY_NOT_CONNECTED',
  /** A client did not read what the server sent within the send timeout; its stream was ended. */
  StreamStalled: 'ISTHMUS_STREAM_STALLED',
  /** A server failed in a way the caller cannot fix (a bug, an unexpected state); the server's log has the detail. */
  Internal: 'ISTHMUS_INTERNAL',
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

/**
 * The message of anything thrown, for logs, with the messages of its causes appended (fetch
 * failures say only "fetch failed"; the reason, e.g. a certificate error, is in `cause`).
 */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let msg = err.message;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < 4; depth++) {
    const m = cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : '';
    if (m && !msg.includes(m)) msg += `: ${m}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return msg;
}
