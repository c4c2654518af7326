/**
 * Label and annotation keys, and well-known ports, that Istio defines and Isthmus reads or writes
 * (reference: docs/istio-compat.md §4, §8, §13). One place, so a typo cannot split behaviour.
 */

/** Label on the system namespace (cluster default), a pod (override) or a gateway Service (docs/istio-compat.md §4). */
export const LABEL_TOPOLOGY_NETWORK = 'topology.istio.io/network';
/** Virtual label carrying an endpoint's cluster id; a real pod label of this name is overridden (docs/istio-compat.md §4). */
export const LABEL_TOPOLOGY_CLUSTER = 'topology.istio.io/cluster';
/** Locality subzone (Istio reads it from the Node). */
export const LABEL_TOPOLOGY_SUBZONE = 'topology.istio.io/subzone';
/** Kubernetes' well-known region and zone labels (Istio reads them from the Node). */
export const LABEL_TOPOLOGY_REGION = 'topology.kubernetes.io/region';
export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
/** Node name label that Istio adds to an endpoint's label set. */
export const LABEL_KUBE_HOSTNAME = 'kubernetes.io/hostname';
/** Pod label `<region>.<zone>.<subzone>` that overrides node-derived locality. */
export const LABEL_ISTIO_LOCALITY = 'istio-locality';
/** Pod label set by the injector: `istio` when the pod has a sidecar that accepts Istio mTLS. */
export const LABEL_TLS_MODE = 'security.istio.io/tlsMode';
/** Label on a gateway Service overriding the mTLS gateway port 15443 (docs/istio-compat.md §4, §8). */
export const LABEL_GATEWAY_PORT = 'networking.istio.io/gatewayPort';

/** Service annotation: visibility (`*`, `.`, `~`, namespace list) (docs/istio-compat.md §4). */
export const ANNOTATION_EXPORT_TO = 'networking.istio.io/exportTo';
/** Service annotation: comma-separated identities, used as-is. */
export const ANNOTATION_CANONICAL_SERVICE_ACCOUNTS = 'alpha.istio.io/canonical-serviceaccounts';
/** Service annotation: comma-separated Kubernetes service-account names of the service's namespace. */
export const ANNOTATION_KUBERNETES_SERVICE_ACCOUNTS = 'alpha.istio.io/kubernetes-serviceaccounts';

/** EndpointSlice label naming the Service it belongs to. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** EndpointSlice label of MCS-derived slices, which Istio's kube registry ignores. */
export const LABEL_MCS_SERVICE_NAME = 'multicluster.kubernetes.io/service-name';

/** Default mTLS (AUTO_PASSTHROUGH) port of an east-west gateway (docs/istio-compat.md §13). */
export const DEFAULT_GATEWAY_PORT = 15443;
/** HBONE port of an east-west gateway (docs/istio-compat.md §13). */
export const DEFAULT_GATEWAY_HBONE_PORT = 15008;
