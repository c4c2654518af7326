/**
 * A DiscoveryResponse as two pieces of wire bytes: a small head that is this stream's own
 * (version_info = 1, type_url = 4, nonce = 5, control_plane = 6) and the resources (field 2, each a
 * `google.protobuf.Any`), encoded once per resource list and shared by every stream that sends that
 * list (a single resource's own bytes are that chunk, its tag and length closing the head). Protobuf
 * parsers accept fields in any order, so head + resources is the same message as the one response.ts
 * writes with the resources first; written as two chunks, a push to a thousand proxies copies its
 * megabytes of resources no time at all instead of twice per proxy.
 */
import type { PreparedResource, PreparedResponse } from './response.ts';

export interface ResponseParts {
  /** The stream's own fields. */
  readonly head: Buffer;
  /** Every resource as field 2, shared (never written to). */
  readonly resources: Uint8Array;
  /** head + resources. */
  readonly length: number;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) { n = Math.floor(n / 128); size++; }
  return size;
}

function writeVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

interface Blob { readonly bytes: Uint8Array; readonly count: number; readonly first: Uint8Array | undefined; readonly last: Uint8Array | undefined }

const EMPTY = new Uint8Array(0);

/** The encoded resources of each list, for as long as the list lives (the resource cache holds it). */
const blobs = new WeakMap<readonly PreparedResource[], Blob>();


function encodeResources(resources: readonly PreparedResource[]): Uint8Array {
  let size = 0;
  for (const r of resources) size += 1 + varintSize(r.any.byteLength) + r.any.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of resources) {
    out[at++] = 0x12;
    at = writeVarint(out, at, r.any.byteLength);
    out.set(r.any, at);
    at += r.any.byteLength;
  }
  return out;
}

/** Field 2 of every resource, from the shared copy when the same list was encoded before. */
export function resourcesBytes(resources: readonly PreparedResource[]): Uint8Array {
  if (resources.length === 0) return EMPTY;
  const known = blobs.get(resources);
  // A list is never changed once cached; the checks make a list that was reused for other contents re-encode.
  if (known !== undefined && known.count === resources.length && known.first === resources[0]?.any && known.last === resources[resources.length - 1]?.any) {
    return known.bytes;
  }
  const bytes = encodeResources(resources);
  blobs.set(resources, { bytes, count: resources.length, first: resources[0]?.any, last: resources[resources.length - 1]?.any });
  return bytes;
}

function stringField(tag: number, s: string): { readonly tag: number; readonly s: string; readonly len: number } {
  return { tag, s, len: Buffer.byteLength(s) };
}

/** The response as its stream's head and the shared resource bytes. */
export function responseParts(r: PreparedResponse): ResponseParts {
  const fields = [];
  if (r.versionInfo) fields.push(stringField(0x0a, r.versionInfo));
  if (r.typeUrl) fields.push(stringField(0x22, r.typeUrl));
  if (r.nonce) fields.push(stringField(0x2a, r.nonce));
  let size = 0;
  for (const f of fields) size += 1 + varintSize(f.len) + f.len;
  const cp = r.controlPlane === undefined ? undefined : stringField(0x0a, r.controlPlane);
  const cpInner = cp === undefined || cp.len === 0 ? 0 : 1 + varintSize(cp.len) + cp.len;
  if (cp !== undefined) size += 1 + varintSize(cpInner) + cpInner;
  // One resource (a route configuration, a load assignment): its own bytes are the shared chunk, the head ends with its tag and length.
  const only = r.resources.length === 1 ? r.resources[0]?.any : undefined;
  if (only !== undefined) size += 1 + varintSize(only.byteLength);
  const head = Buffer.allocUnsafe(size);
  let at = 0;
  for (const f of fields) {
    head[at++] = f.tag;
    at = writeVarint(head, at, f.len);
    at += head.write(f.s, at, 'utf8');
  }
  if (cp !== undefined) {
    head[at++] = 0x32;
    at = writeVarint(head, at, cpInner);
    if (cp.len > 0) {
      head[at++] = cp.tag;
      at = writeVarint(head, at, cp.len);
      at += head.write(cp.s, at, 'utf8');
    }
  }
  if (only !== undefined) {
    head[at++] = 0x12;
    writeVarint(head, at, only.byteLength);
    return { head, resources: only, length: head.byteLength + only.byteLength };
  }
  const resources = resourcesBytes(r.resources);
  return { head, resources, length: head.byteLength + resources.byteLength };
}
