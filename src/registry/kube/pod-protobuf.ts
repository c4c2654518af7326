/**
 * A Pod read from Kubernetes' protobuf encoding straight into what the registry keeps of it
 * (`podEssentials` in convert.ts): the same object a JSON list gives after `podEssentials`, without
 * decoding the rest. Field numbers are those of k8s.io/api core/v1/generated.proto (Pod: 1 metadata,
 * 2 spec, 3 status; PodSpec: 8 serviceAccountName, 10 nodeName, 11 hostNetwork; PodStatus: 1 phase,
 * 6 podIP, 12 podIPs {1 ip}) and apimachinery meta/v1/generated.proto (ObjectMeta: 1 name,
 * 3 namespace, 5 uid, 6 resourceVersion, 9 deletionTimestamp, 11 labels).
 *
 * The protobuf form writes empty strings and false booleans that the JSON form leaves out
 * (`omitempty`); they are left out here too, so both forms give equal objects.
 */
import { readList, readStringMapEntry, readTime, type ProtobufList, type WireReader } from '../../kube/protobuf.ts';
import type { ObjectMeta } from '../../kube/types.ts';
import type { KubePod } from './types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function readMeta(r: WireReader): ObjectMeta {
  const m: Mutable<ObjectMeta> = { name: '' };
  let labels: Record<string, string> | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1: m.name = r.string(); break;
      case 3: { const v = r.string(); if (v !== '') m.namespace = v; break; }
      case 5: { const v = r.string(); if (v !== '') m.uid = v; break; }
      case 6: { const v = r.string(); if (v !== '') m.resourceVersion = v; break; }
      case 9: m.deletionTimestamp = readTime(r); break;
      case 11: readStringMapEntry(r, labels ??= {}); break;
      default: r.skip();
    }
  }
  if (labels !== undefined) m.labels = labels;
  return m;
}

function readSpec(r: WireReader): NonNullable<KubePod['spec']> {
  const s: Mutable<NonNullable<KubePod['spec']>> = {};
  while (r.next()) {
    switch (r.field) {
      case 8: { const v = r.string(); if (v !== '') s.serviceAccountName = v; break; }
      case 10: { const v = r.string(); if (v !== '') s.nodeName = v; break; }
      case 11: if (r.bool()) s.hostNetwork = true; break;
      default: r.skip();
    }
  }
  return s;
}

function readStatus(r: WireReader): NonNullable<KubePod['status']> {
  const s: Mutable<NonNullable<KubePod['status']>> = {};
  let podIPs: { ip: string }[] | undefined;
  while (r.next()) {
    switch (r.field) {
      case 1: { const v = r.string(); if (v !== '') s.phase = v; break; }
      case 6: { const v = r.string(); if (v !== '') s.podIP = v; break; }
      case 12: {
        const entry = r.message();
        let ip = '';
        while (entry.next()) {
          if (entry.field === 1) ip = entry.string();
          else entry.skip();
        }
        (podIPs ??= []).push({ ip });
        break;
      }
      default: r.skip();
    }
  }
  if (podIPs !== undefined) s.podIPs = podIPs;
  return s;
}

/** One Pod message, as `podEssentials` keeps it. */
export function readPodEssentials(r: WireReader): KubePod {
  let metadata: ObjectMeta = { name: '' };
  let spec: KubePod['spec'] = {};
  let status: KubePod['status'] = {};
  while (r.next()) {
    if (r.field === 1) metadata = readMeta(r.message());
    else if (r.field === 2) spec = readSpec(r.message());
    else if (r.field === 3) status = readStatus(r.message());
    else r.skip();
  }
  return { metadata, spec, status };
}

/** A PodList answer in protobuf (`what` names the request in errors). */
export function readPodList(body: Buffer, what: string): ProtobufList<KubePod> {
  return readList(body, what, readPodEssentials);
}
