/**
 * The test backend: a plain grpc-js server (the "pod") answering SayHello with its pod name, over
 * mTLS when given certificate files (client certificates required and verified against the root),
 * else plaintext. Run as a real process, usually inside a network namespace:
 *
 *   ip netns exec <ns> node src/testing/grpc-app/server.ts --addr 10.10.0.5:5000 --pod helloworld-0 \
 *     --cluster cluster1 [--cert cert.pem --key key.pem --ca root.pem]
 *
 * Prints `{"event":"listening","addr":...}` once bound; exits on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { emit, greeterService, parseArgs, required, type HelloReply, type HelloRequest } from './greeter.ts';

const args = parseArgs(process.argv.slice(2));
const addr = required(args, 'addr');
const pod = required(args, 'pod');
const cluster = args.get('cluster') ?? '';
const cert = args.get('cert');
const key = args.get('key');
const ca = args.get('ca');

function sayHello(call: ServerUnaryCall<HelloRequest, HelloReply>, done: sendUnaryData<HelloReply>): void {
  const peerCert = call.getAuthContext().sslPeerCertificate;
  done(null, { pod, cluster, peer: call.getPeer(), clientIdentity: peerCert?.subjectaltname ?? '' });
}

const creds = cert !== undefined && key !== undefined && ca !== undefined
  ? ServerCredentials.createSsl(readFileSync(ca), [{ cert_chain: readFileSync(cert), private_key: readFileSync(key) }], true)
  : ServerCredentials.createInsecure();
const server = new Server();
server.addService(greeterService, { SayHello: sayHello });
server.bindAsync(addr, creds, (err, port) => {
  if (err) {
    emit({ event: 'error', error: err.message });
    process.exit(1);
  }
  emit({ event: 'listening', addr, port, mtls: creds._isSecure() });
});
process.once('SIGTERM', () => { server.forceShutdown(); process.exit(0); });
