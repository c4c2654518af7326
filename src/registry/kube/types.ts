/** The fields of core/v1 and discovery/v1 objects the kube registry reads, as they arrive in JSON. */
import type { KubeObject } from '../../kube/types.ts';

export interface KubeServicePort {
  readonly name?: string;
  readonly protocol?: string;
  readonly appProtocol?: string;
  readonly port: number;
  readonly targetPort?: number | string;
  readonly nodePort?: number;
}

export interface KubeService extends KubeObject {
  readonly spec?: {
    readonly type?: string;
    readonly clusterIP?: string;
    readonly clusterIPs?: readonly string[];
    readonly externalIPs?: readonly string[];
    readonly externalName?: string;
    readonly ports?: readonly KubeServicePort[];
    readonly selector?: Readonly<Record<string, string>>;
    readonly publishNotReadyAddresses?: boolean;
  };
  readonly status?: {
    readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] };
  };
  readonly metadata: KubeObject['metadata'] & { readonly creationTimestamp?: string };
}

export interface KubeObjectReference {
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
}

export interface KubeSliceEndpoint {
  readonly addresses: readonly string[];
  readonly conditions?: { readonly ready?: boolean | null; readonly serving?: boolean | null; readonly terminating?: boolean | null };
  readonly hostname?: string;
  readonly targetRef?: KubeObjectReference;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly hints?: { readonly forZones?: readonly { readonly name: string }[] };
}

export interface KubeSlicePort {
  readonly name?: string | null;
  readonly port?: number | null;
  readonly protocol?: string;
  readonly appProtocol?: string;
}

export interface KubeEndpointSlice extends KubeObject {
  readonly addressType: string;
  readonly endpoints?: readonly KubeSliceEndpoint[] | null;
  readonly ports?: readonly KubeSlicePort[] | null;
}

export interface KubePod extends KubeObject {
  readonly spec?: {
    readonly serviceAccountName?: string;
    readonly nodeName?: string;
    readonly hostNetwork?: boolean;
  };
  readonly status?: {
    readonly phase?: string;
    readonly podIP?: string;
    readonly podIPs?: readonly { readonly ip: string }[];
  };
}

export type KubeNamespace = KubeObject;

/** A Node; the registry keeps only its name and locality labels (convert.ts nodeLocalityOnly). */
export type KubeNode = KubeObject;
