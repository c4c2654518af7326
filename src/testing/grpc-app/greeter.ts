/**
 * The test service the gRPC apps speak: `/helloworld.Greeter/SayHello` with JSON bodies (no .proto
 * needed; gRPC does not care what the bytes are). The server answers with who it is, so a caller
 * can tell which backend served each call.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';

export interface HelloRequest { readonly name: string }
export interface HelloReply {
  /** The pod that answered. */
  readonly pod: string;
  readonly cluster: string;
  /** The TCP peer the server saw (the gateway's address for calls through it: it does not NAT). */
  readonly peer: string;
  /** URI SANs of the client certificate the server verified ('' without mTLS). */
  readonly clientIdentity: string;
}

const json = <T>() => ({
  serialize: (v: T): Buffer => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): T => JSON.parse(b.toString('utf8')) as T,
});
const req = json<HelloRequest>();
const res = json<HelloReply>();

export const greeterService: ServiceDefinition = {
  SayHello: {
    path: '/helloworld.Greeter/SayHello',
    originalName: 'sayHello',
    requestStream: false,
    responseStream: false,
    requestSerialize: req.serialize,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize,
    responseDeserialize: res.deserialize,
  },
};

/** Parses `--key value` pairs; `--flag` without a value is 'true'. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else { out.set(a.slice(2), next); i++; }
  }
  return out;
}

export function required(args: Map<string, string>, key: string): string {
  const v = args.get(key);
  if (v === undefined) throw new Error(`--${key} is required`);
  return v;
}

/** One JSON object per line on stdout: what tests read. */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...event })}\n`);
}
