/**
 * DeltaDiscoveryResponses built from resources that were encoded once (as response.ts does for the
 * state of the world): each resource's `Any` bytes are copied into its `Resource` as they are.
 *
 * Wire layout of envoy.service.discovery.v3.DeltaDiscoveryResponse used here:
 * system_version_info = 1, resources = 2 (repeated Resource), type_url = 4, nonce = 5,
 * removed_resources = 6 (repeated string), control_plane = 7 (ControlPlane { identifier = 1 }).
 * Resource: version = 1, resource = 2 (Any), name = 3.
 */
import protobuf from 'protobufjs';
import type { VersionedResource } from './delta.ts';

export interface PreparedDeltaResponse {
  readonly systemVersionInfo: string;
  readonly typeUrl: string;
  readonly nonce: string;
  readonly resources: readonly VersionedResource[];
  readonly removedResources: readonly string[];
  readonly controlPlane?: string;
}

export function encodeDeltaResponse(r: PreparedDeltaResponse): Buffer {
  const w = protobuf.Writer.create();
  if (r.systemVersionInfo) w.uint32(0x0a).string(r.systemVersionInfo);
  for (const res of r.resources) {
    w.uint32(0x12).fork();
    if (res.version) w.uint32(0x0a).string(res.version);
    w.uint32(0x12).bytes(res.any);
    if (res.name) w.uint32(0x1a).string(res.name);
    w.ldelim();
  }
  if (r.typeUrl) w.uint32(0x22).string(r.typeUrl);
  if (r.nonce) w.uint32(0x2a).string(r.nonce);
  for (const name of r.removedResources) w.uint32(0x32).string(name);
  if (r.controlPlane !== undefined) {
    w.uint32(0x3a).fork();
    if (r.controlPlane) w.uint32(0x0a).string(r.controlPlane);
    w.ldelim();
  }
  const bytes = w.finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
