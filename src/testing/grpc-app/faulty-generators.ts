/**
 * A test-only fault, served by `faulty-discovery.ts`: for proxyless gRPC clients (`GENERATOR=grpc`),
 * the EDS resource of a service whose Kubernetes Service carries the label
 * `isthmus.test/corrupt-xds: duplicate-endpoint` gets its first endpoint repeated, which
 * @grpc/grpc-js-xds rejects ("address is a duplicate of another address"). Every other resource
 * comes unchanged from the real generators.
 *
 * Why a fault injector: no Kubernetes object makes the generators emit a resource grpc-js-xds 1.14
 * rejects (its EDS/CDS/RDS/LDS validators were checked one by one: duplicate addresses are merged,
 * host-name gateways dropped, weights clipped, the only LB policy is ROUND_ROBIN), yet the NACK path
 * (client rejects, control plane records it in syncz, client keeps its last good config) must be
 * exercised with the real client. Flipping the label back makes the resource valid again.
 */
import type { Hostname } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL } from '../../model/type-urls.ts';
import { anyCodec, clusterLoadAssignmentCodec, encodeAnyRaw } from '../../proto/codec.ts';
import { parseClusterName } from '../../model/cluster-names.ts';
import type { PreparedResource } from '../../xds/protocol/response.ts';
import type { GeneratorLookup } from '../../xds/server/types.ts';

export const CORRUPT_LABEL = 'isthmus.test/corrupt-xds';
export const CORRUPT_DUPLICATE_ENDPOINT = 'duplicate-endpoint';

function corrupt(view: MeshView, r: PreparedResource): PreparedResource {
  const key = parseClusterName(r.name);
  if (key === undefined || view.service(key.host as Hostname)?.labels[CORRUPT_LABEL] !== CORRUPT_DUPLICATE_ENDPOINT) return r;
  const any = anyCodec.decode(r.any);
  const cla = clusterLoadAssignmentCodec.decode(any.value ?? new Uint8Array(0));
  const group = cla.endpoints?.[0];
  const first = group?.lbEndpoints?.[0];
  if (group === undefined || first === undefined) return r;
  group.lbEndpoints = [...(group.lbEndpoints ?? []), first];
  return { name: r.name, any: encodeAnyRaw(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, clusterLoadAssignmentCodec.encode(cla)) };
}

/** The real lookup, with grpc EDS resources of labelled services corrupted. */
export function faultyGenerators(inner: GeneratorLookup): GeneratorLookup {
  return (proxy, typeUrl) => {
    const g = inner(proxy, typeUrl);
    if (g === undefined || typeUrl !== CLUSTER_LOAD_ASSIGNMENT_TYPE_URL || proxy.generator !== 'grpc') return g;
    return { typeUrl, cacheKey: (p, v) => g.cacheKey(p, v), generate: (p, v, names) => g.generate(p, v, names).map((r) => corrupt(v, r)) };
  };
}
