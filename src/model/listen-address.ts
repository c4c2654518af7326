/** istiod's listen-address flags (`--grpcAddr :15010`, `--httpAddr 127.0.0.1:8080`): parsed once for every server. Pure. */

/** `host:port`, `[v6]:port`, `:port` or `port` (a host needs its colon); an empty host becomes `defaultHost`. */
export function parseListenAddress(address: string, defaultHost = '0.0.0.0'): { host: string; port: number } {
  const m = /^(?:(?:\[([^\]]+)\]|([^:]*)):)?(\d+)$/.exec(address.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid listen address ${JSON.stringify(address)}: want host:port, :port or port`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? defaultHost : host, port };
}
