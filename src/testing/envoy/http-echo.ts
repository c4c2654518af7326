/**
 * A stand-in for a workload's application behind its sidecar in Envoy tests: a plain HTTP/1.1
 * server that answers every request with a JSON body of what it received (method, path, headers,
 * the peer address) and prints the same as one JSON line per request. A path under `/fail-once/`
 * answers 503 the first time it is asked and 200 after that, so tests can see a retry happen. With
 * `--cert` and `--key` it serves HTTPS instead: an application that does its own TLS.
 *
 *   node http-echo.ts --addr 198.18.40.2:5000 --name helloworld-0 [--cert chain.pem --key key.pem]
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { addr: { type: 'string' }, name: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' } } });
const m = /^(.*):(\d+)$/.exec(values.addr ?? '');
if (!m?.[1] || !m[2]) {
  process.stderr.write('usage: http-echo.ts --addr host:port [--name N]\n');
  process.exit(2);
}

const emit = (event: string, fields: Record<string, unknown>) => { process.stdout.write(`${JSON.stringify({ t: Date.now(), event, ...fields })}\n`); };

const failedOnce = new Set<string>();

const handler: RequestListener = (req, res) => {
  const seen = { name: values.name ?? '', method: req.method ?? '', path: req.url ?? '', headers: req.headers, peer: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}` };
  emit('request', seen);
  req.resume();
  req.on('end', () => {
    const path = req.url ?? '';
    if (path.startsWith('/fail-once/') && !failedOnce.has(path)) {
      failedOnce.add(path);
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...seen, failed: true }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(seen));
  });
};
const server = values.cert !== undefined && values.key !== undefined
  ? createTlsServer({ cert: readFileSync(values.cert), key: readFileSync(values.key) }, handler)
  : createServer(handler);
server.listen(Number(m[2]), m[1], () => { emit('listening', { addr: values.addr }); });
process.on('SIGTERM', () => { server.close(); process.exit(0); });
