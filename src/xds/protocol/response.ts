/**
 * DiscoveryResponses built from resources that were encoded once: each resource's `Any` bytes are
 * copied into the response as they are, so a resource shared by many proxies is encoded one time
 * and the same bytes go to every stream (docs/architecture.md, "Encoding once").
 *
 * Wire layout of envoy.service.discovery.v3.DiscoveryResponse used here:
 * version_info = 1, resources = 2 (repeated Any), type_url = 4, nonce = 5,
 * control_plane = 6 (ControlPlane { identifier = 1 }).
 */

/** One resource, named, as the bytes of a `google.protobuf.Any`. */
export interface PreparedResource {
  readonly name: string;
  readonly any: Uint8Array;
}

export interface PreparedResponse {
  readonly versionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly PreparedResource[];
  /** `control_plane.identifier`, e.g. istiod's `{"Component":"istiod","ID":...}` JSON. */
  readonly controlPlane?: string;
}

/** Bytes of a varint. */
function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) { n = Math.floor(n / 128); size++; }
  return size;
}

function putVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) { buf[pos++] = (n & 0x7f) | 0x80; n = Math.floor(n / 128); }
  buf[pos++] = n;
  return pos;
}

/** A length-delimited field of one-byte tag `tag` holding `len` bytes: its encoded size. */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/**
 * The DiscoveryResponse bytes, written straight into one buffer of the exact size (the same bytes
 * protobufjs writes for these fields; response.test.ts compares them): a response is encoded for
 * every proxy it goes to, so it allocates nothing but the buffer and the string lengths.
 */
export function encodeResponse(r: PreparedResponse): Buffer {
  const version = r.versionInfo ? Buffer.byteLength(r.versionInfo) : 0;
  const typeUrl = r.typeUrl ? Buffer.byteLength(r.typeUrl) : 0;
  const nonce = r.nonce ? Buffer.byteLength(r.nonce) : 0;
  const cp = r.controlPlane ? Buffer.byteLength(r.controlPlane) : 0;
  const cpBody = r.controlPlane ? fieldSize(cp) : 0;
  let size = (version > 0 ? fieldSize(version) : 0) + (typeUrl > 0 ? fieldSize(typeUrl) : 0) + (nonce > 0 ? fieldSize(nonce) : 0)
    + (r.controlPlane !== undefined ? fieldSize(cpBody) : 0);
  for (const res of r.resources) size += fieldSize(res.any.byteLength);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  const str = (tag: number, s: string, len: number): void => {
    buf[pos++] = tag;
    pos = putVarint(buf, pos, len);
    pos += buf.write(s, pos, len, 'utf8');
  };
  if (version > 0) str(0x0a, r.versionInfo, version);
  for (const res of r.resources) {
    buf[pos++] = 0x12;
    pos = putVarint(buf, pos, res.any.byteLength);
    buf.set(res.any, pos);
    pos += res.any.byteLength;
  }
  if (typeUrl > 0) str(0x22, r.typeUrl, typeUrl);
  if (nonce > 0) str(0x2a, r.nonce, nonce);
  if (r.controlPlane !== undefined) {
    buf[pos++] = 0x32;
    pos = putVarint(buf, pos, cpBody);
    if (cp > 0) str(0x0a, r.controlPlane, cp);
  }
  if (pos !== size) throw new Error(`DiscoveryResponse encoding wrote ${pos} of ${size} bytes`);
  return buf;
}

/** Total encoded size of the resources, for size limits and metrics. */
export function resourcesSize(resources: readonly PreparedResource[]): number {
  let n = 0;
  for (const r of resources) n += r.any.byteLength;
  return n;
}
