/**
 * The checks istiod makes on an xDS node before serving it (its ParseServiceNodeWithMetadata), plus
 * ours: the id is `<type>~<ip>~<pod>.<namespace>~<domain>`, the type is a proxy type we serve, and every
 * address (metadata `INSTANCE_IPS`, comma separated, when present, else the id's second part) is a
 * valid IP address. We also refuse control characters anywhere in the id and ids longer than 1024.
 *
 * Messages quote the id cut to a few dozen characters with control characters escaped: what a caller
 * sent is never echoed back (gRPC status, logs) at its full length.
 */
import { isIP } from 'node:net';

export const MAX_NODE_ID_CHARS = 1024;
/** How much of a caller's input an error message quotes. */
export const QUOTE_CHARS = 64;

const PROXY_TYPES: readonly string[] = ['sidecar', 'router', 'ztunnel'];

/** `s` quoted as JSON (control characters escaped), cut to `max` characters with the length said. */
export function quoteInput(s: string, max = QUOTE_CHARS): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  const q = JSON.stringify(cut).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > max ? `${q}...(${s.length} chars)` : q;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `s` is an IP address as istiod accepts it (no brackets, no port; IPv6 zones allowed). */
export function isValidIp(s: string): boolean {
  if (s === '') return false;
  const pct = s.indexOf('%');
  const addr = pct >= 0 && s.includes(':') ? s.slice(0, pct) : s;
  return isIP(addr) !== 0;
}

/** Undefined when the node may be served, else why not (bounded, safe to send to the caller and to log). */
export function nodeIdProblem(id: string, instanceIps: unknown): string | undefined {
  if (id.length === 0) return 'node.id is empty';
  if (id.length > MAX_NODE_ID_CHARS) return `node.id is ${id.length} characters long (limit ${MAX_NODE_ID_CHARS}): ${quoteInput(id)}`;
  if (CONTROL.test(id)) return `node.id contains control characters: ${quoteInput(id)}`;
  const parts = id.split('~');
  if (parts.length !== 4) return `node.id ${quoteInput(id)} has ${parts.length} parts, want 4: <type>~<ip>~<pod>.<namespace>~<namespace>.svc.<domain>`;
  const [type = '', ip = '', name = ''] = parts;
  if (!PROXY_TYPES.includes(type)) return `node.id ${quoteInput(id)}: invalid node type ${quoteInput(type, 16)} (want one of ${PROXY_TYPES.join(', ')})`;
  if (name === '') return `node.id ${quoteInput(id)}: the third part (<pod>.<namespace>) is empty`;
  let ips = [ip];
  if (typeof instanceIps === 'string' && instanceIps !== '') ips = instanceIps.split(',');
  else if (instanceIps !== undefined && instanceIps !== '' && typeof instanceIps !== 'string') return 'node.metadata INSTANCE_IPS must be a comma-separated string';
  if (ips.length > 64) return `node.metadata INSTANCE_IPS lists ${ips.length} addresses (limit 64)`;
  for (const a of ips) {
    if (!isValidIp(a)) return `node.id ${quoteInput(id)}: invalid IP address ${quoteInput(a, 48)}`;
  }
  return undefined;
}
