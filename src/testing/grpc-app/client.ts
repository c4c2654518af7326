/**
 * The proxyless gRPC test client: @grpc/grpc-js-xds, bootstrap from `GRPC_XDS_BOOTSTRAP` (xDS
 * server, node identity and metadata, `file_watcher` certificate providers), channel credentials
 * `XdsChannelCredentials` (mTLS when the control plane's Cluster says so, plaintext fallback).
 * Calls SayHello on `--target` every `--interval` ms and prints one JSON line per call: which pod
 * answered, which address the channel dialled (`peer`: a pod, or a network gateway), the server's
 * certificate SANs. Run as a real process, usually inside a network namespace:
 *
 *   GRPC_XDS_BOOTSTRAP=bootstrap.json ip netns exec <ns> node src/testing/grpc-app/client.ts \
 *     --target xds:///helloworld.sample.svc.cluster.local:5000 [--interval 50] [--sni <name>]
 *
 * `--sni` sets `grpc.ssl_target_name_override` (e.g. Istio's `outbound_.5000_._.<host>`); by default
 * grpc-js sends the target's host name as SNI.
 */
import { credentials, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { emit, greeterService, parseArgs, required, type HelloReply, type HelloRequest } from './greeter.ts';

const args = parseArgs(process.argv.slice(2));
const target = required(args, 'target');
const interval = Number(args.get('interval') ?? '50');
const deadlineMs = Number(args.get('deadline') ?? '3000');
const sni = args.get('sni');

xds.register();
const Greeter = makeGenericClientConstructor(greeterService, 'helloworld.Greeter');
const client = new Greeter(target, new xds.XdsChannelCredentials(credentials.createInsecure()), sni === undefined ? {} : { 'grpc.ssl_target_name_override': sni });

type Unary = (req: HelloRequest, opts: { deadline: number }, cb: (err: ServiceError | null, res?: HelloReply) => void) => {
  getPeer(): string;
  getAuthContext?(): { sslPeerCertificate?: { subjectaltname?: string } } | null;
};
const method = (client as unknown as Record<string, Unary | undefined>)['SayHello'];
if (method === undefined) throw new Error('no SayHello method');
const sayHello: Unary = method;

let seq = 0;
let stopping = false;
async function once(): Promise<void> {
  const n = seq++;
  const start = Date.now();
  await new Promise<void>((resolve) => {
    const call = sayHello.call(client, { name: `call-${n}` }, { deadline: Date.now() + deadlineMs }, (err, res) => {
      const end = Date.now();
      const peer = call.getPeer();
      if (err || res === undefined) {
        emit({ event: 'call', seq: n, start, end, ok: false, peer, code: err?.code, error: err?.details ?? 'no reply' });
      } else {
        const serverIdentity = call.getAuthContext?.()?.sslPeerCertificate?.subjectaltname ?? '';
        emit({ event: 'call', seq: n, start, end, ok: true, peer, pod: res.pod, cluster: res.cluster, serverSawPeer: res.peer, clientIdentity: res.clientIdentity, serverIdentity });
      }
      resolve();
    });
  });
}

async function loop(): Promise<void> {
  emit({ event: 'started', target });
  while (!stopping) {
    const t0 = Date.now();
    await once();
    const wait = interval - (Date.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  client.close();
}

process.once('SIGTERM', () => { stopping = true; });
void loop().then(() => process.exit(0));
