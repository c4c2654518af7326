/**
 * DiscoveryResponses built from resources that were encoded once: each resource's `Any` bytes are
 * copied into the response as they are, so a resource shared by many proxies is encoded one time
 * and the same bytes go to every stream (docs/architecture.md, "Encoding once").
 *
 * Wire layout of envoy.service.discovery.v3.DiscoveryResponse used here:
 * version_info = 1, resources = 2 (repeated Any), type_url = 4, nonce = 5,
 * control_plane = 6 (ControlPlane { identifier = 1 }).
 */
import protobuf from 'protobufjs';

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

export function encodeResponse(r: PreparedResponse): Buffer {
  const w = protobuf.Writer.create();
  if (r.versionInfo) w.uint32(0x0a).string(r.versionInfo);
  for (const res of r.resources) w.uint32(0x12).bytes(res.any);
  if (r.typeUrl) w.uint32(0x22).string(r.typeUrl);
  if (r.nonce) w.uint32(0x2a).string(r.nonce);
  if (r.controlPlane !== undefined) {
    w.uint32(0x32).fork();
    if (r.controlPlane) w.uint32(0x0a).string(r.controlPlane);
    w.ldelim();
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Total encoded size of the resources, for size limits and metrics. */
export function resourcesSize(resources: readonly PreparedResource[]): number {
  let n = 0;
  for (const r of resources) n += r.any.byteLength;
  return n;
}
