/**
 * A stand-in for a workload's sidecar inbound in gateway tests: a TLS server with a workload
 * certificate from the mesh CA that, like an Istio sidecar, requires a client certificate from the
 * mesh root and offers Istio's mTLS ALPNs. Per accepted connection it prints one JSON line with what
 * it saw of the client's handshake (SNI, ALPN, the client's SPIFFE id), then greets the client with
 * the same facts and echoes what it sends.
 *
 *   node tls-backend.ts --addr 198.18.20.5:5000 --cert chain.pem --key key.pem --ca root.pem --name helloworld-0
 */
import { readFileSync } from 'node:fs';
import { createServer, type TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: {
  addr: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' }, name: { type: 'string' },
} });
const m = /^(.*):(\d+)$/.exec(values.addr ?? '');
if (!m?.[1] || !m[2] || !values.cert || !values.key || !values.ca) {
  process.stderr.write('usage: tls-backend.ts --addr host:port --cert F --key F --ca F [--name N]\n');
  process.exit(2);
}

const emit = (event: string, fields: Record<string, unknown>) => { process.stdout.write(`${JSON.stringify({ t: Date.now(), event, ...fields })}\n`); };

/** The URI SAN (SPIFFE id) of the peer certificate, or ''. */
function peerId(s: TLSSocket): string {
  const san = s.getPeerCertificate().subjectaltname ?? '';
  return /URI:([^,\s]+)/.exec(san)?.[1] ?? '';
}

const server = createServer({
  cert: readFileSync(values.cert), key: readFileSync(values.key), ca: readFileSync(values.ca),
  requestCert: true, rejectUnauthorized: true,
  ALPNProtocols: ['istio-peer-exchange', 'istio', 'istio-http/1.1', 'istio-h2'],
}, (s) => {
  const seen = { name: values.name ?? '', sni: typeof s.servername === 'string' ? s.servername : '', alpn: s.alpnProtocol || '', client: peerId(s) };
  emit('conn', seen);
  s.on('error', () => { /* the client went away */ });
  s.write(`${JSON.stringify(seen)}\n`);
  s.pipe(s);
});
server.on('tlsClientError', (err) => { emit('tls-error', { error: err.message }); });
server.listen(Number(m[2]), m[1], () => { emit('listening', { addr: values.addr }); });
process.on('SIGTERM', () => { server.close(); process.exit(0); });
