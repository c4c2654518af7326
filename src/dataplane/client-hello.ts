/**
 * Reads the server name (SNI) and ALPN list from the start of a TLS stream without terminating
 * TLS: what an AUTO_PASSTHROUGH gateway's TLS inspector does (RFC 8446 §4.1.2, RFC 6066 §3,
 * RFC 7301). Pure; callers feed the bytes received so far.
 */

export interface ClientHelloInfo {
  /** `server_name` host_name, '' when the ClientHello has none. */
  readonly serverName: string;
  readonly alpn: readonly string[];
}

export type ParseResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'done'; readonly hello: ClientHelloInfo }
  | { readonly kind: 'error'; readonly error: string };

/** The largest ClientHello accepted (several records of up to 16 KiB each). */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

class Reader {
  #pos = 0;
  readonly #b: Uint8Array;
  constructor(b: Uint8Array) { this.#b = b; }
  get remaining(): number { return this.#b.length - this.#pos; }
  u8(): number { this.#need(1); return this.#b[this.#pos++] ?? 0; }
  u16(): number { return (this.u8() << 8) | this.u8(); }
  u24(): number { return (this.u8() << 16) | this.u16(); }
  bytes(n: number): Uint8Array { this.#need(n); const out = this.#b.subarray(this.#pos, this.#pos + n); this.#pos += n; return out; }
  #need(n: number): void { if (this.#pos + n > this.#b.length) throw new RangeError('truncated'); }
}

/** Joins the payloads of the leading handshake records, or says how the records are malformed. */
function handshakeBytes(data: Uint8Array): { bytes: Uint8Array; complete: boolean } | string {
  const parts: Uint8Array[] = [];
  let pos = 0;
  let total = 0;
  while (pos + 5 <= data.length) {
    if (data[pos] !== RECORD_HANDSHAKE) return parts.length === 0 ? 'not a TLS handshake record' : 'ClientHello interrupted by a non-handshake record';
    const len = ((data[pos + 3] ?? 0) << 8) | (data[pos + 4] ?? 0);
    if (len === 0 || len > 16384 + 2048) return `bad TLS record length ${len}`;
    if (pos + 5 + len > data.length) break;
    parts.push(data.subarray(pos + 5, pos + 5 + len));
    total += len;
    pos += 5 + len;
    const joined = Buffer.concat(parts, total);
    if (joined.length >= 4) {
      const need = 4 + (((joined[1] ?? 0) << 16) | ((joined[2] ?? 0) << 8) | (joined[3] ?? 0));
      if (joined.length >= need) return { bytes: joined.subarray(0, need), complete: true };
    }
  }
  if (data.length >= 1 && data[0] !== RECORD_HANDSHAKE) return 'not a TLS handshake record';
  return { bytes: Buffer.concat(parts, total), complete: false };
}

/** Parses the ClientHello at the start of `data` (all bytes received so far on the connection). */
export function parseClientHello(data: Uint8Array): ParseResult {
  const hs = handshakeBytes(data);
  if (typeof hs === 'string') return { kind: 'error', error: hs };
  if (!hs.complete) return data.length > MAX_CLIENT_HELLO_BYTES ? { kind: 'error', error: 'ClientHello too large' } : { kind: 'more' };
  try {
    const r = new Reader(hs.bytes);
    if (r.u8() !== HANDSHAKE_CLIENT_HELLO) return { kind: 'error', error: 'first handshake message is not a ClientHello' };
    r.u24();
    r.bytes(2 + 32); // legacy_version, random
    r.bytes(r.u8()); // session id
    r.bytes(r.u16()); // cipher suites
    r.bytes(r.u8()); // compression methods
    let serverName = '';
    const alpn: string[] = [];
    if (r.remaining === 0) return { kind: 'done', hello: { serverName, alpn } };
    const ext = new Reader(r.bytes(r.u16()));
    while (ext.remaining > 0) {
      const type = ext.u16();
      const body = new Reader(ext.bytes(ext.u16()));
      if (type === EXT_SERVER_NAME) {
        const list = new Reader(body.bytes(body.u16()));
        while (list.remaining > 0) {
          const nameType = list.u8();
          const name = list.bytes(list.u16());
          if (nameType === 0 && serverName === '') serverName = Buffer.from(name).toString('ascii');
        }
      } else if (type === EXT_ALPN) {
        const list = new Reader(body.bytes(body.u16()));
        while (list.remaining > 0) alpn.push(Buffer.from(list.bytes(list.u8())).toString('ascii'));
      }
    }
    return { kind: 'done', hello: { serverName, alpn } };
  } catch {
    return { kind: 'error', error: 'malformed ClientHello' };
  }
}
