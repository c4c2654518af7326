/** Errors that end an xDS stream with a chosen gRPC status (the message goes to the caller). */
import type { status } from '@grpc/grpc-js';

/** An error that ends the stream with a specific gRPC status. */
export class XdsStatusError extends Error {
  readonly grpcCode: status;
  constructor(grpcCode: status, message: string) {
    super(message);
    this.name = 'XdsStatusError';
    this.grpcCode = grpcCode;
  }
}
