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

/** Writes `n` as a varint at `pos`; answers the position after it. */
export function putVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) { buf[pos++] = (n & 0x7f) | 0x80; n = Math.floor(n / 128); }
  buf[pos++] = n;
  return pos;
}

/** A length-delimited field of one-byte tag holding `len` bytes: its encoded size. */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** The tag and length of one resource (field 2) of `len` bytes: its encoded size without the bytes. */
export function resourceHeaderSize(len: number): number {
  return 1 + varintSize(len);
}

/** Byte lengths of a response's own string fields, 0 where absent. */
export interface OwnLengths {
  readonly version: number;
  readonly typeUrl: number;
  readonly nonce: number;
  readonly cp: number;
  /** control_plane's body (its identifier field), 0 when it is empty or absent. */
  readonly cpBody: number;
}

export function ownLengths(r: PreparedResponse): OwnLengths {
  const cp = r.controlPlane ? Buffer.byteLength(r.controlPlane) : 0;
  return {
    version: r.versionInfo ? Buffer.byteLength(r.versionInfo) : 0,
    typeUrl: r.typeUrl ? Buffer.byteLength(r.typeUrl) : 0,
    nonce: r.nonce ? Buffer.byteLength(r.nonce) : 0,
    cp,
    cpBody: cp > 0 ? fieldSize(cp) : 0,
  };
}

/** Encoded size of the response's own fields: version_info, type_url, nonce, control_plane. */
export function ownFieldsSize(r: PreparedResponse, l: OwnLengths): number {
  return (l.version > 0 ? fieldSize(l.version) : 0) + (l.typeUrl > 0 ? fieldSize(l.typeUrl) : 0) + (l.nonce > 0 ? fieldSize(l.nonce) : 0)
    + (r.controlPlane !== undefined ? fieldSize(l.cpBody) : 0);
}

function putString(buf: Buffer, pos: number, tag: number, s: string, len: number): number {
  buf[pos++] = tag;
  pos = putVarint(buf, pos, len);
  return pos + buf.write(s, pos, len, 'utf8');
}

/** Writes version_info (field 1) if set. */
export function putVersion(buf: Buffer, pos: number, r: PreparedResponse, l: OwnLengths): number {
  return l.version > 0 ? putString(buf, pos, 0x0a, r.versionInfo, l.version) : pos;
}

/** Writes type_url (4), nonce (5) and control_plane (6), those that are set. */
export function putTypeNonceControlPlane(buf: Buffer, pos: number, r: PreparedResponse, l: OwnLengths): number {
  if (l.typeUrl > 0) pos = putString(buf, pos, 0x22, r.typeUrl, l.typeUrl);
  if (l.nonce > 0) pos = putString(buf, pos, 0x2a, r.nonce, l.nonce);
  if (r.controlPlane !== undefined) {
    buf[pos++] = 0x32;
    pos = putVarint(buf, pos, l.cpBody);
    if (l.cp > 0) pos = putString(buf, pos, 0x0a, r.controlPlane, l.cp);
  }
  return pos;
}

/** Encoded size of every resource as field 2. */
export function resourcesFieldSize(resources: readonly PreparedResource[]): number {
  let size = 0;
  for (const res of resources) size += fieldSize(res.any.byteLength);
  return size;
}

/** Writes every resource as field 2 (tag, length, its `Any` bytes). */
export function putResources(buf: Uint8Array, pos: number, resources: readonly PreparedResource[]): number {
  for (const res of resources) {
    buf[pos++] = 0x12;
    pos = putVarint(buf, pos, res.any.byteLength);
    buf.set(res.any, pos);
    pos += res.any.byteLength;
  }
  return pos;
}

/**
 * The DiscoveryResponse bytes, written straight into one buffer of the exact size (the same bytes
 * protobufjs writes for these fields; response.test.ts compares them). Responses go out this way
 * only where grpc-js's call cannot take them in parts (response-parts.ts).
 */
export function encodeResponse(r: PreparedResponse): Buffer {
  const l = ownLengths(r);
  const size = ownFieldsSize(r, l) + resourcesFieldSize(r.resources);
  const buf = Buffer.allocUnsafe(size);
  let pos = putVersion(buf, 0, r, l);
  pos = putResources(buf, pos, r.resources);
  pos = putTypeNonceControlPlane(buf, pos, r, l);
  if (pos !== size) throw new Error(`DiscoveryResponse encoding wrote ${pos} of ${size} bytes`);
  return buf;
}

/** Total encoded size of the resources, for size limits and metrics. */
export function resourcesSize(resources: readonly PreparedResource[]): number {
  let n = 0;
  for (const r of resources) n += r.any.byteLength;
  return n;
}
