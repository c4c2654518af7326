/**
 * A unix-socket door to a loopback TCP server, for processes that run in a network namespace of
 * their own (no interfaces to reach the host's loopback) but share the file system: each connection
 * to the socket is piped to `host:port`. When the server goes away the piped connections close,
 * and the next connection reaches whatever listens on that port then (a restarted control plane).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

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
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = connect({ host, port });
      sockets.add(inbound);
      sockets.add(outbound);
      const done = () => { inbound.destroy(); outbound.destroy(); sockets.delete(inbound); sockets.delete(outbound); };
      inbound.on('error', done).on('close', done);
      outbound.on('error', done).on('close', done);
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, () => { resolve(); }); });
    return new UnixBridge(path, server, sockets);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve(); }); });
  }
}
