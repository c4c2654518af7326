/**
 * The error catalog of test-only code: the test bed (`npm run testbed`, `npm run demo`), the tools
 * it builds or fetches (istioctl, istiod's programs, Envoy) and the protoc-gen-validate checker.
 * The product's catalog (src/model/errors.ts) does not know these codes. The codes are as stable
 * as the product's, live in the same `ISTHMUS_` namespace (never the same string twice: a unit
 * test checks it) and are explained in docs/errors.md; `TestbedError` has `IsthmusError`'s shape
 * (`code`, `message`, `cause`), so whatever prints one prints the other the same way.
 */

export const TestbedErrorCodes = {
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
  /** A test-bed node (its containerd, kubelet or network) failed to start or never became Ready. */
  NodeStart: 'ISTHMUS_NODE_START',
  /** An image could not be imported into a test-bed node's containerd. */
  ImageImport: 'ISTHMUS_IMAGE_IMPORT',
  /** The test bed's application images (isthmus, proxyv2, samples) could not be built. */
  ImageBuild: 'ISTHMUS_IMAGE_BUILD',
  /** A protobuf message violates a protoc-gen-validate rule of the schema (what Envoy would NACK); raised by the tests' checker. */
  ProtoValidation: 'ISTHMUS_PROTO_VALIDATION',
} as const;

export type TestbedErrorCode = (typeof TestbedErrorCodes)[keyof typeof TestbedErrorCodes];

export class TestbedError extends Error {
  readonly code: TestbedErrorCode;

  constructor(code: TestbedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TestbedError';
    this.code = code;
  }
}

export function isTestbedError(err: unknown, code?: TestbedErrorCode): err is TestbedError {
  return err instanceof TestbedError && (code === undefined || err.code === code);
}
