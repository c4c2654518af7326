/**
 * The built-in injection templates (Isthmus's own text, in the format of template.ts). The install
 * writes them into ConfigMap `istio-sidecar-injector` key `config` so users can change them; the
 * injector falls back to them when the ConfigMap lacks a template. Facts they follow (ports, UID
 * 1337, volume names, token audience, env names) are in docs/istio-compat.md §12 and §13.
 */

/** Env of `istio-proxy` shared by the sidecar and gateway templates. */
const PROXY_ENV = `
      - name: PILOT_CERT_PROVIDER
        value: istiod
      - name: CA_ADDR
        value: "{{ caAddress }}"
      - name: POD_NAME
        valueFrom: { fieldRef: { fieldPath: metadata.name } }
      - name: POD_NAMESPACE
        valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
      - name: INSTANCE_IP
        valueFrom: { fieldRef: { fieldPath: status.podIP } }
      - name: SERVICE_ACCOUNT
        valueFrom: { fieldRef: { fieldPath: spec.serviceAccountName } }
      - name: HOST_IP
        valueFrom: { fieldRef: { fieldPath: status.hostIP } }
      - name: ISTIO_CPU_LIMIT
        valueFrom: { resourceFieldRef: { resource: limits.cpu, divisor: "0" } }
      - name: PROXY_CONFIG
        value: "{{ proxyConfigJson }}"
      - name: ISTIO_META_POD_PORTS
        value: "{{ podPorts }}"
      - name: ISTIO_META_APP_CONTAINERS
        value: "{{ appContainers }}"
      - name: GOMEMLIMIT
        valueFrom: { resourceFieldRef: { resource: limits.memory, divisor: "0" } }
      - name: GOMAXPROCS
        valueFrom: { resourceFieldRef: { resource: limits.cpu, divisor: "0" } }
      - name: ISTIO_META_CLUSTER_ID
        value: "{{ clusterId }}"
      - name: ISTIO_META_NODE_NAME
        valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
      - name: ISTIO_META_INTERCEPTION_MODE
        value: "{{ interceptionMode }}"
      - name: ISTIO_META_WORKLOAD_NAME
        value: "{{ workloadName }}"
      - name: ISTIO_META_OWNER
        value: "{{ owner }}"
      - name: ISTIO_META_MESH_ID
        value: "{{ meshId }}"
      - name: TRUST_DOMAIN
        value: "{{ trustDomain }}"
      - name: ISTIO_META_NETWORK
        value: "{{ network }}"`;

const PROXY_MOUNTS = `
      - { name: workload-socket, mountPath: /var/run/secrets/workload-spiffe-uds }
      - { name: credential-socket, mountPath: /var/run/secrets/credential-uds }
      - { name: workload-certs, mountPath: /var/run/secrets/workload-spiffe-credentials }
      - { name: istiod-ca-cert, mountPath: /var/run/secrets/istio }
      - { name: istio-data, mountPath: /var/lib/istio/data }
      - { name: istio-envoy, mountPath: /etc/istio/proxy }
      - { name: istio-token, mountPath: /var/run/secrets/tokens }
      - { name: istio-podinfo, mountPath: /etc/istio/pod }`;

const VOLUMES = `
    - { name: workload-socket, emptyDir: {} }
    - { name: credential-socket, emptyDir: {} }
    - { name: workload-certs, emptyDir: {} }
    - { name: istio-envoy, emptyDir: { medium: Memory } }
    - { name: istio-data, emptyDir: {} }
    - name: istio-podinfo
      downwardAPI:
        items:
        - { path: labels, fieldRef: { fieldPath: metadata.labels } }
        - { path: annotations, fieldRef: { fieldPath: metadata.annotations } }
    - name: istio-token
      projected:
        sources:
        - serviceAccountToken: { path: istio-token, audience: istio-ca, expirationSeconds: 43200 }
    - name: istiod-ca-cert
      configMap: { name: istio-ca-root-cert }`;

const LABELS = `
  labels:
    security.istio.io/tlsMode: istio
    service.istio.io/canonical-name: "{{ canonicalName }}"
    service.istio.io/canonical-revision: "{{ canonicalRevision }}"
    istio.io/rev: "{{ revision }}"
    topology.istio.io/network: "{{ network? }}"`;

const SIDECAR = `metadata:${LABELS}
  annotations:
    kubectl.kubernetes.io/default-container: "{{ defaultContainer? }}"
    kubectl.kubernetes.io/default-logs-container: "{{ defaultContainer? }}"
    prometheus.io/port: "15020"
    prometheus.io/path: /stats/prometheus
    prometheus.io/scrape: "true"
spec:
  initContainers:
  - name: istio-init
    image: "{{ proxyImage }}"
    imagePullPolicy: "{{ imagePullPolicy }}"
    args:
    - istio-iptables
    - -p
    - "15001"
    - -z
    - "15006"
    - -u
    - "1337"
    - -m
    - "{{ interceptionMode }}"
    - -i
    - "{{ includeOutboundIPRanges }}"
    - -x
    - "{{ excludeOutboundIPRanges }}"
    - -b
    - "{{ includeInboundPorts }}"
    - -d
    - "{{ excludeInboundPorts }}"
    - --log_output_level=default:info
    resources:
      requests: { cpu: 10m, memory: 40Mi }
      limits: { cpu: "2", memory: 1Gi }
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      readOnlyRootFilesystem: false
      runAsNonRoot: false
      runAsUser: 0
      runAsGroup: 0
      capabilities:
        add: [NET_ADMIN, NET_RAW]
        drop: [ALL]
  containers:
  - name: istio-proxy
    image: "{{ proxyImage }}"
    imagePullPolicy: "{{ imagePullPolicy }}"
    args:
    - proxy
    - sidecar
    - --domain
    - $(POD_NAMESPACE).svc.cluster.local
    - --proxyLogLevel=warning
    - --proxyComponentLogLevel=misc:error
    - --log_output_level=default:info
    ports:
    - { name: http-envoy-prom, containerPort: 15090, protocol: TCP }
    env:${PROXY_ENV}
    readinessProbe:
      httpGet: { path: /healthz/ready, port: 15021 }
      initialDelaySeconds: 0
      periodSeconds: 15
      timeoutSeconds: 3
      failureThreshold: 4
    resources:
      requests: { cpu: 100m, memory: 128Mi }
      limits: { cpu: "2", memory: 1Gi }
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      runAsUser: 1337
      runAsGroup: 1337
      capabilities:
        drop: [ALL]
    volumeMounts:${PROXY_MOUNTS}
  volumes:${VOLUMES}
`;

const GATEWAY = `metadata:${LABELS}
  annotations:
    prometheus.io/port: "15020"
    prometheus.io/path: /stats/prometheus
    prometheus.io/scrape: "true"
spec:
  containers:
  - name: istio-proxy
    image: "{{ proxyImage }}"
    imagePullPolicy: "{{ imagePullPolicy }}"
    args:
    - proxy
    - router
    - --domain
    - $(POD_NAMESPACE).svc.cluster.local
    - --proxyLogLevel=warning
    - --proxyComponentLogLevel=misc:error
    - --log_output_level=default:info
    ports:
    - { name: http-envoy-prom, containerPort: 15090, protocol: TCP }
    env:${PROXY_ENV}
    readinessProbe:
      httpGet: { path: /healthz/ready, port: 15021 }
      initialDelaySeconds: 1
      periodSeconds: 2
      timeoutSeconds: 3
      failureThreshold: 30
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      runAsUser: 1337
      runAsGroup: 1337
      capabilities:
        drop: [ALL]
    volumeMounts:${PROXY_MOUNTS}
  volumes:${VOLUMES}
`;

/** Proxyless gRPC: the agent only (certificates and the gRPC xDS bootstrap), no Envoy, no iptables. */
const GRPC_AGENT = `metadata:
  labels:
    service.istio.io/canonical-name: "{{ canonicalName }}"
    service.istio.io/canonical-revision: "{{ canonicalRevision }}"
    istio.io/rev: "{{ revision }}"
    topology.istio.io/network: "{{ network? }}"
  annotations:
    kubectl.kubernetes.io/default-container: "{{ defaultContainer? }}"
    kubectl.kubernetes.io/default-logs-container: "{{ defaultContainer? }}"
    sidecar.istio.io/rewriteAppHTTPProbers: "false"
spec:
  containers:
  - name: "*"
    env:
    - { name: GRPC_XDS_BOOTSTRAP, value: /etc/istio/proxy/grpc-bootstrap.json }
    - { name: GRPC_XDS_EXPERIMENTAL_SECURITY_SUPPORT, value: "true" }
    volumeMounts:
    - { name: istio-xds, mountPath: /etc/istio/proxy }
    - { name: istio-data, mountPath: /var/lib/istio/data }
  - name: istio-proxy
    image: "{{ proxyImage }}"
    imagePullPolicy: "{{ imagePullPolicy }}"
    args:
    - proxy
    - sidecar
    - --domain
    - $(POD_NAMESPACE).svc.cluster.local
    - --log_output_level=default:info
    env:${PROXY_ENV}
      - { name: ISTIO_META_GENERATOR, value: grpc }
      - { name: OUTPUT_CERTS, value: /var/lib/istio/data }
      - { name: GRPC_XDS_BOOTSTRAP, value: /etc/istio/proxy/grpc-bootstrap.json }
      - { name: DISABLE_ENVOY, value: "true" }
    readinessProbe:
      httpGet: { path: /healthz/ready, port: 15020 }
      initialDelaySeconds: 0
      periodSeconds: 15
      timeoutSeconds: 3
      failureThreshold: 4
    resources:
      requests: { cpu: 10m, memory: 40Mi }
    securityContext:
      allowPrivilegeEscalation: false
      privileged: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      runAsUser: 1337
      runAsGroup: 1337
      capabilities:
        drop: [ALL]
    volumeMounts:
      - { name: workload-socket, mountPath: /var/run/secrets/workload-spiffe-uds }
      - { name: istiod-ca-cert, mountPath: /var/run/secrets/istio }
      - { name: istio-data, mountPath: /var/lib/istio/data }
      - { name: istio-xds, mountPath: /etc/istio/proxy }
      - { name: istio-token, mountPath: /var/run/secrets/tokens }
      - { name: istio-podinfo, mountPath: /etc/istio/pod }
  volumes:
    - { name: workload-socket, emptyDir: {} }
    - { name: istio-xds, emptyDir: {} }
    - { name: istio-data, emptyDir: {} }
    - name: istio-podinfo
      downwardAPI:
        items:
        - { path: labels, fieldRef: { fieldPath: metadata.labels } }
        - { path: annotations, fieldRef: { fieldPath: metadata.annotations } }
    - name: istio-token
      projected:
        sources:
        - serviceAccountToken: { path: istio-token, audience: istio-ca, expirationSeconds: 43200 }
    - name: istiod-ca-cert
      configMap: { name: istio-ca-root-cert }
`;

export const DEFAULT_TEMPLATES: Readonly<Record<string, string>> = {
  sidecar: SIDECAR,
  gateway: GATEWAY,
  'grpc-agent': GRPC_AGENT,
};
