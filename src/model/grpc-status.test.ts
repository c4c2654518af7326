import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ErrorCodes, IsthmusError, type ErrorCode } from './errors.ts';
import { GrpcStatus, grpcStatusForCode, grpcStatusName, grpcStatusOf, isGrpcStatusCode, RelayedStatusError } from './grpc-status.ts';

test('the numeric codes are gRPC\'s (as @grpc/grpc-js numbers them)', () => {
  for (const [name, code] of Object.entries(GrpcStatus)) assert.equal(code, status[name as keyof typeof status], name);
  assert.equal(Object.keys(GrpcStatus).length, 17);
  assert.equal(grpcStatusName(14), 'UNAVAILABLE');
  assert.equal(grpcStatusName(99), 'status 99');
  assert.ok(isGrpcStatusCode(16) && !isGrpcStatusCode(17) && !isGrpcStatusCode(1.5) && !isGrpcStatusCode('3'));
});

test('each error code a caller can act on has the status the ADS server, the CA and the xds-proxy send', () => {
  const expected: [ErrorCode, number][] = [
    [ErrorCodes.XdsRequestInvalid, status.INVALID_ARGUMENT],
    [ErrorCodes.InvalidId, status.INVALID_ARGUMENT],
    [ErrorCodes.ProtoCodec, status.INVALID_ARGUMENT],
    [ErrorCodes.CsrInvalid, status.INVALID_ARGUMENT],
    [ErrorCodes.CertTtlInvalid, status.INVALID_ARGUMENT],
    [ErrorCodes.AuthenticationFailed, status.UNAUTHENTICATED],
    [ErrorCodes.CsrIdentityMismatch, status.PERMISSION_DENIED],
    [ErrorCodes.PermissionDenied, status.PERMISSION_DENIED],
    [ErrorCodes.RateLimited, status.RESOURCE_EXHAUSTED],
    [ErrorCodes.LimitExceeded, status.RESOURCE_EXHAUSTED],
    [ErrorCodes.StreamStalled, status.DEADLINE_EXCEEDED],
    [ErrorCodes.NotServed, status.UNIMPLEMENTED],
    [ErrorCodes.ProxyNotConnected, status.NOT_FOUND],
    [ErrorCodes.NotReady, status.UNAVAILABLE],
    [ErrorCodes.NoControlPlane, status.UNAVAILABLE],
    [ErrorCodes.XdsFailed, status.UNAVAILABLE],
    // The server's own failures: the caller cannot fix them.
    [ErrorCodes.Internal, status.INTERNAL],
    [ErrorCodes.CaKeyMaterial, status.INTERNAL],
    [ErrorCodes.KubeUnreachable, status.INTERNAL],
  ];
  for (const [code, want] of expected) {
    console.log(`${code} -> ${grpcStatusName(grpcStatusForCode(code))}`);
    assert.equal(grpcStatusForCode(code), want, code);
    assert.equal(grpcStatusOf(new IsthmusError(code, 'x')), want, code);
  }
  for (const code of Object.values(ErrorCodes)) assert.ok(isGrpcStatusCode(grpcStatusForCode(code)), code);
});

test('anything else is INTERNAL; a relayed status is passed on as received', () => {
  assert.equal(grpcStatusOf(new Error('boom')), status.INTERNAL);
  assert.equal(grpcStatusOf('a string'), status.INTERNAL);
  assert.equal(grpcStatusOf(new RelayedStatusError(ErrorCodes.XdsFailed, 'replicas said so', GrpcStatus.PERMISSION_DENIED)), status.PERMISSION_DENIED);
});
