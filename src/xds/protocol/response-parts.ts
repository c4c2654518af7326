/**
 * A DiscoveryResponse as two pieces of wire bytes: a small head that is this stream's own
 * (version_info = 1, type_url = 4, nonce = 5, control_plane = 6) and the resources (field 2, each a
 * `google.protobuf.Any`), encoded once per resource list and shared by every stream that sends that
 * list (a single resource's own bytes are that chunk, its tag and length closing the head). Protobuf
 * parsers accept fields in any order, so head + resources is the same message as the one response.ts
 * writes with the resources first; written as two chunks, a push to a thousand proxies copies its
 * megabytes of resources no time at all instead of twice per proxy.
 */
import {
  ownFieldsSize, ownLengths, putResources, putTypeNonceControlPlane, putVarint, putVersion, resourceHeaderSize, resourcesFieldSize,
  type PreparedResource, type PreparedResponse,
} from './response.ts';

export interface ResponseParts {
  /** The stream's own fields. */
  readonly head: Buffer;
  /** Every resource as field 2, shared (never written to). */
  readonly resources: Uint8Array;
  /** head + resources. */
  readonly length: number;
}

interface Blob { readonly bytes: Uint8Array; readonly count: number; readonly first: Uint8Array | undefined; readonly last: Uint8Array | undefined }

const EMPTY = new Uint8Array(0);

/** The encoded resources of each list, for as long as the list lives (the resource cache holds it). */
const blobs = new WeakMap<readonly PreparedResource[], Blob>();

function encodeResources(resources: readonly PreparedResource[]): Uint8Array {
  const out = Buffer.allocUnsafe(resourcesFieldSize(resources));
  putResources(out, 0, resources);
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

/** The response as its stream's head and the shared resource bytes. */
export function responseParts(r: PreparedResponse): ResponseParts {
  const l = ownLengths(r);
  // One resource (a route configuration, a load assignment): its own bytes are the shared chunk, the head ends with its tag and length.
  const only = r.resources.length === 1 ? r.resources[0]?.any : undefined;
  const head = Buffer.allocUnsafe(ownFieldsSize(r, l) + (only === undefined ? 0 : resourceHeaderSize(only.byteLength)));
  let pos = putVersion(head, 0, r, l);
  pos = putTypeNonceControlPlane(head, pos, r, l);
  if (only !== undefined) {
    head[pos++] = 0x12;
    putVarint(head, pos, only.byteLength);
    return { head, resources: only, length: head.byteLength + only.byteLength };
  }
  const resources = resourcesBytes(r.resources);
  return { head, resources, length: head.byteLength + resources.byteLength };
}
