/**
 * What `isthmus check` gathers (facts: plain data read from the API servers and the control
 * plane's debug endpoints) and what it reports (findings). The rules are pure functions from facts
 * to findings, so each one is tested without a cluster.
 */

export type Severity = 'error' | 'warning';

/** Where a finding is: the kubeconfig context of the cluster, the object and the field. */
export interface Where {
  /** Kubeconfig context name, or `control-plane` for what only the debug endpoint shows. */
  readonly cluster: string;
  readonly namespace?: string;
  /** `Kind/name`, e.g. `Secret/istio-remote-secret-cluster2`. */
  readonly object?: string;
  /** Path of the field in the object, e.g. `metadata.labels["topology.istio.io/network"]`. */
  readonly field?: string;
}

export interface Finding {
  readonly severity: Severity;
  /** Stable rule id, e.g. `cluster-id-mismatch`; scripts match on it. */
  readonly rule: string;
  /** What is wrong. */
  readonly message: string;
  readonly where: Where;
  /** The symptom a user would see. */
  readonly why: string;
  /** A command that fixes it. */
  readonly fix: string;
}

export interface EnvVar { readonly name: string; readonly value?: string }

export interface NamespaceFacts {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface WebhookFacts {
  /** MutatingWebhookConfiguration name. */
  readonly config: string;
  readonly revision?: string;
  readonly webhook: string;
  readonly index: number;
  readonly path?: string;
  readonly url?: string;
  /** base64 of PEM, as in the object ('' if absent). */
  readonly caBundle: string;
}

export interface ServicePortFacts { readonly name?: string; readonly port: number }

export interface GatewayServiceFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly type: string;
  readonly ports: readonly ServicePortFacts[];
  /** status.loadBalancer.ingress ip/hostname and spec.externalIPs. */
  readonly addresses: readonly string[];
}

export interface RootCertFacts { readonly namespace: string; readonly pem: string }

export interface EndpointFacts {
  readonly address: string;
  /** `namespace/name` of the pod behind it, if the slice says. */
  readonly pod?: string;
}

export interface ServiceEndpointsFacts {
  readonly namespace: string;
  readonly name: string;
  readonly endpoints: readonly EndpointFacts[];
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip?: string;
}

export interface RemoteSecretKeyFacts {
  readonly secret: string;
  readonly namespace: string;
  readonly key: string;
  /** The server of the kubeconfig in the key ('' if it could not be parsed). */
  readonly server: string;
  /** The kubeconfig was refused before any call (not YAML, exec plugin, file path...). */
  readonly invalid?: string;
  /** The bearer token's `exp` claim, seconds since the epoch, if the token is a JWT with one. */
  readonly tokenExp?: number;
  /** Result of calling the remote API server with these credentials. */
  readonly auth: 'ok' | 'unauthorized' | 'unreachable' | 'skipped';
  readonly authError?: string;
  /** `verb resource` pairs the credentials may not do (SelfSubjectAccessReview). */
  readonly denied: readonly string[];
}

/** Everything read from one cluster (one kubeconfig context). */
export interface ClusterFacts {
  readonly context: string;
  readonly server: string;
  /** Set when the API server could not be read at all; nothing else is then meaningful. */
  readonly unreachable?: string;
  /** Reads the context's credentials were not allowed to do (403): those checks were skipped. */
  readonly forbidden?: readonly string[];
  readonly systemNamespace: string;
  readonly istioSystem?: NamespaceFacts;
  /** Env of the istiod Deployment's discovery container, when the cluster runs the control plane. */
  readonly istiodEnv?: readonly EnvVar[];
  /** `values.global.multiCluster.clusterName` from the injector ConfigMap's `values`. */
  readonly injectorClusterName?: string;
  readonly webhooks: readonly WebhookFacts[];
  readonly gateways: readonly GatewayServiceFacts[];
  readonly rootCerts: readonly RootCertFacts[];
  /** The control plane's root bundle as stored here (`cacerts` root-cert.pem, else `istio-ca-secret` ca-cert.pem). */
  readonly caRoot?: { readonly secret: string; readonly pem: string };
  readonly remoteSecrets: readonly RemoteSecretKeyFacts[];
  readonly services: readonly ServiceEndpointsFacts[];
  readonly pods: readonly PodFacts[];
}

export interface ClusterzFacts {
  readonly id: string;
  readonly secretName?: string;
  readonly syncStatus?: string;
  readonly lastError?: string;
  readonly shouldLead?: boolean;
}

export interface ProxySyncFacts {
  /** `pod.namespace`. */
  readonly proxy: string;
  readonly clusterId: string;
  readonly types: Readonly<Record<string, { readonly status: string; readonly error?: string }>>;
}

export interface DebugFacts {
  readonly address: string;
  /** Set when the debug endpoint could not be read. */
  readonly unreachable?: string;
  readonly clusters: readonly ClusterzFacts[];
  readonly proxies: readonly ProxySyncFacts[];
}

export interface MeshFacts {
  readonly clusters: readonly ClusterFacts[];
  readonly debug?: DebugFacts;
  /** Seconds since the epoch, for token expiry. */
  readonly now: number;
}
