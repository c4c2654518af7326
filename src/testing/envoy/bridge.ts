/**
 * Doors between a loopback TCP server and a unix socket, for processes that run in a network
 * namespace of their own (no interfaces reach the host's loopback) but share the file system.
 * `UnixBridge.open(path, host, port)` (host side): each connection to the socket is piped to
 * `host:port`; when that server goes away the piped connections close, and the next connection
 * reaches whatever listens on the port then (a restarted control plane).
 * `node bridge.ts tcp-to-unix <host:port> <socket>` (inside the namespace): the reverse, so a client
 * that only takes a TCP address (pilot-agent) reaches the host-side socket.
 */
import { connect, createServer, type ListenOptions, type NetConnectOpts, type Server, type Socket } from 'node:net';

export class UnixBridge {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;

  private constructor(path: string, server: Server, sockets: Set<Socket>) {
    this.path = path;
    this.#server = server;
    this.#sockets = sockets;
  }

  static async open(path: string, host: string, port: number): Promise<UnixBridge> {
    const { server, sockets } = await pipeServer({ path }, { host, port });
    return new UnixBridge(path, server, sockets);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve(); }); });
  }
}

/** Listens on `listen` and pipes every connection to a new connection to `target`. */
export async function pipeServer(listen: ListenOptions, target: NetConnectOpts): Promise<{ server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(target);
    sockets.add(inbound);
    sockets.add(outbound);
    const done = () => { inbound.destroy(); outbound.destroy(); sockets.delete(inbound); sockets.delete(outbound); };
    inbound.on('error', done).on('close', done);
    outbound.on('error', done).on('close', done);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(listen, () => { resolve(); }); });
  return { server, sockets };
}

if (import.meta.main) {
  const [mode, addr, path] = process.argv.slice(2);
  const m = /^(.*):(\d+)$/.exec(addr ?? '');
  if (mode !== 'tcp-to-unix' || !m?.[1] || !m[2] || !path) {
    process.stderr.write('usage: bridge.ts tcp-to-unix <host:port> <unix socket>\n');
    process.exit(2);
  }
  await pipeServer({ host: m[1], port: Number(m[2]) }, { path });
}
