/**
 * TLS settings for Istio mTLS, for Envoy (secrets over SDS) and proxyless gRPC (certificate
 * provider instances from its bootstrap), and the subject alternative names a client checks.
 *
 * Envoy: Istio's agent serves the secrets `default` (workload key and certificate) and `ROOTCA`
 * (trust bundle) to its Envoy over SDS on the bootstrap cluster `sds-grpc`; the workload private key
 * never leaves the pod, so the control plane cannot serve these secrets over ADS itself.
 */
import { spiffeId, type SpiffeId } from '../../model/ids.ts';
import type { MeshView } from '../../model/mesh-view.ts';
import type { Service } from '../../model/service.ts';
import { packAny, upstreamTlsContextCodec, downstreamTlsContextCodec } from '../../proto/codec.ts';
import type * as T from '../../proto/types.ts';
import { EXT, rawBufferCodec } from './extra-codecs.ts';
import { ALPN_IN_MESH, SDS_DEFAULT_SECRET, SDS_ROOT_SECRET } from './names.ts';

/** Istio's bootstrap cluster for the agent's SDS server. */
export const SDS_CLUSTER = 'sds-grpc';

/** The SDS config source Istio writes for `default` / `ROOTCA`. */
export const SDS_CONFIG: T.ConfigSource = {
  apiConfigSource: {
    apiType: 'GRPC',
    transportApiVersion: 'V3',
    grpcServices: [{ envoyGrpc: { clusterName: SDS_CLUSTER } }],
    setNodeOnFirstMessageOnly: true,
  },
  initialFetchTimeout: { seconds: '0' },
  resourceApiVersion: 'V3',
};

/** xDS resources referenced from other resources come over the same ADS stream. */
export const ADS_CONFIG: T.ConfigSource = { ads: {}, initialFetchTimeout: { seconds: '0' }, resourceApiVersion: 'V3' };

const TLS_PARAMS: T.TlsParameters = { tlsMinimumProtocolVersion: 'TLSv1_2', tlsMaximumProtocolVersion: 'TLSv1_3' };

/**
 * The identities allowed to serve a service: its declared accounts plus the SPIFFE id of every
 * endpoint's service account (in the pod's namespace, else the service's), sorted and unique.
 */
export function serviceIdentities(view: MeshView, svc: Service): string[] {
  const out = new Set<string>(svc.serviceAccounts);
  for (const ep of view.endpoints(svc.hostname)) {
    const namespace = ep.pod?.namespace ?? svc.namespace;
    if (ep.serviceAccount === '' || ep.serviceAccount.includes('/') || namespace === '') continue;
    const id: SpiffeId = spiffeId({ trustDomain: view.mesh.trustDomain, namespace, serviceAccount: ep.serviceAccount });
    out.add(id);
  }
  return [...out].sort();
}

/** Envoy client side of ISTIO_MUTUAL: SDS cert + root, SAN check, SNI for AUTO_PASSTHROUGH gateways. */
export function istioMutualUpstream(sni: string, sans: readonly string[], http2: boolean): T.UpstreamTlsContext {
  const defaultValidationContext: T.CertificateValidationContext = sans.length > 0
    ? { matchTypedSubjectAltNames: sans.map((s) => ({ sanType: 'URI', matcher: { exact: s } })) }
    : {};
  return {
    commonTlsContext: {
      tlsParams: TLS_PARAMS,
      tlsCertificateSdsSecretConfigs: [{ name: SDS_DEFAULT_SECRET, sdsConfig: SDS_CONFIG }],
      combinedValidationContext: {
        defaultValidationContext,
        validationContextSdsSecretConfig: { name: SDS_ROOT_SECRET, sdsConfig: SDS_CONFIG },
      },
      alpnProtocols: http2 ? [...ALPN_IN_MESH, 'h2'] : [...ALPN_IN_MESH],
    },
    sni,
  };
}

/**
 * TLS 1.2 suites a sidecar accepts on inbound mTLS (istiod's list: ECDHE or plain AES-GCM only, no
 * CBC, no ChaCha20); TLS 1.3 suites are not configurable.
 */
export const INBOUND_CIPHER_SUITES = [
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'AES256-GCM-SHA384', 'AES128-GCM-SHA256',
] as const;

/**
 * Envoy server side of Istio mTLS on the inbound listener: a client certificate from the mesh root
 * is required, and its URI SAN must be a SPIFFE id of `trustDomain`.
 */
export function istioMutualDownstream(alpn: readonly string[], trustDomain: string): T.DownstreamTlsContext {
  return {
    commonTlsContext: {
      tlsParams: { ...TLS_PARAMS, cipherSuites: [...INBOUND_CIPHER_SUITES] },
      tlsCertificateSdsSecretConfigs: [{ name: SDS_DEFAULT_SECRET, sdsConfig: SDS_CONFIG }],
      combinedValidationContext: {
        // The deprecated matcher, as istiod writes it: a prefix on URI (and other) SANs.
        defaultValidationContext: { matchSubjectAltNames: [{ prefix: `spiffe://${trustDomain}/` }] },
        validationContextSdsSecretConfig: { name: SDS_ROOT_SECRET, sdsConfig: SDS_CONFIG },
      },
      ...(alpn.length > 0 ? { alpnProtocols: [...alpn] } : {}),
    },
    requireClientCertificate: { value: true },
  };
}

export function tlsTransportSocket(ctx: T.UpstreamTlsContext): T.TransportSocket {
  return { name: EXT.tlsTransportSocket, typedConfig: packAny(upstreamTlsContextCodec, ctx) };
}

export function downstreamTlsTransportSocket(ctx: T.DownstreamTlsContext): T.TransportSocket {
  return { name: EXT.tlsTransportSocket, typedConfig: packAny(downstreamTlsContextCodec, ctx) };
}

export function rawBufferTransportSocket(): T.TransportSocket {
  return { name: EXT.rawBufferTransportSocket, typedConfig: packAny(rawBufferCodec, {}) };
}

/** The certificate provider instance name a proxyless gRPC bootstrap declares (plugin `file_watcher`). */
export const GRPC_CERT_PROVIDER_INSTANCE = 'default';

/**
 * Proxyless gRPC client side of Istio mTLS, as istiod writes it and @grpc/grpc-js-xds 1.14.1 accepts
 * (cluster-resource-type.js validateTransportSocket): identity from `tls_certificate_provider_instance`
 * (and its deprecated twin for older gRPC clients), roots from
 * `combined_validation_context.default_validation_context.ca_certificate_provider_instance` (grpc-js-xds
 * rejects `validation_context_sds_secret_config`, SDS certificate configs and `tls_params`), and SANs
 * from the deprecated `match_subject_alt_names`, the only SAN field gRPC reads (exact URI SANs).
 */
export function grpcMutualUpstream(sans: readonly string[]): T.UpstreamTlsContext {
  const identity = { instanceName: GRPC_CERT_PROVIDER_INSTANCE, certificateName: SDS_DEFAULT_SECRET };
  const roots = { instanceName: GRPC_CERT_PROVIDER_INSTANCE, certificateName: SDS_ROOT_SECRET };
  return {
    commonTlsContext: {
      tlsCertificateProviderInstance: identity,
      tlsCertificateCertificateProviderInstance: identity,
      combinedValidationContext: {
        defaultValidationContext: { caCertificateProviderInstance: roots, ...(sans.length > 0 ? { matchSubjectAltNames: sans.map((s) => ({ exact: s })) } : {}) },
        validationContextCertificateProviderInstance: roots,
      },
    },
  };
}

/** Proxyless gRPC server side: same provider instances, client certificate required. */
export function grpcMutualDownstream(): T.DownstreamTlsContext {
  return {
    commonTlsContext: {
      tlsCertificateProviderInstance: { instanceName: GRPC_CERT_PROVIDER_INSTANCE, certificateName: SDS_DEFAULT_SECRET },
      validationContext: {
        caCertificateProviderInstance: { instanceName: GRPC_CERT_PROVIDER_INSTANCE, certificateName: SDS_ROOT_SECRET },
      },
    },
    requireClientCertificate: { value: true },
  };
}
