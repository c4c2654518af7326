/**
 * Partial shapes of the TLS messages (`envoy.extensions.transport_sockets.tls.v3`): the SDS
 * `Secret` resource and the Upstream/DownstreamTlsContext packed into transport sockets.
 * Conventions: types-core.ts. Unlisted fields still round-trip through the codec.
 */
import type {
  BoolValue, ConfigSource, DataSource, Duration, OpenEnum, StringMatcher, UInt32Value, WatchedDirectory,
} from './types-core.ts';

// ---- envoy.extensions.transport_sockets.tls.v3 ----

export type TlsProtocol = OpenEnum<'TLS_AUTO' | 'TLSv1_0' | 'TLSv1_1' | 'TLSv1_2' | 'TLSv1_3'>;

export interface TlsParameters {
  tlsMinimumProtocolVersion?: TlsProtocol;
  tlsMaximumProtocolVersion?: TlsProtocol;
  cipherSuites?: string[];
  ecdhCurves?: string[];
  signatureAlgorithms?: string[];
}

export interface TlsCertificate {
  certificateChain?: DataSource;
  privateKey?: DataSource;
  pkcs12?: DataSource;
  watchedDirectory?: WatchedDirectory;
  password?: DataSource;
  ocspStaple?: DataSource;
  signedCertificateTimestamp?: DataSource[];
}

export interface SubjectAltNameMatcher {
  sanType?: OpenEnum<'SAN_TYPE_UNSPECIFIED' | 'EMAIL' | 'DNS' | 'URI' | 'IP_ADDRESS' | 'OTHER_NAME'>;
  matcher?: StringMatcher;
  oid?: string;
}

/** Also names the certificate provider plugin instance proxyless gRPC uses (`file_watcher`). */
export interface CertificateProviderPluginInstance {
  instanceName?: string;
  certificateName?: string;
}

export interface CertificateValidationContext {
  trustedCa?: DataSource;
  caCertificateProviderInstance?: CertificateProviderPluginInstance;
  systemRootCerts?: Record<string, never>;
  watchedDirectory?: WatchedDirectory;
  verifyCertificateSpki?: string[];
  verifyCertificateHash?: string[];
  matchTypedSubjectAltNames?: SubjectAltNameMatcher[];
  /** Deprecated in favour of matchTypedSubjectAltNames. */
  matchSubjectAltNames?: StringMatcher[];
  requireSignedCertificateTimestamp?: BoolValue;
  crl?: DataSource;
  allowExpiredCertificate?: boolean;
  trustChainVerification?: OpenEnum<'VERIFY_TRUST_CHAIN' | 'ACCEPT_UNTRUSTED'>;
  onlyVerifyLeafCertCrl?: boolean;
  maxVerifyDepth?: UInt32Value;
}

export interface SdsSecretConfig {
  name?: string;
  sdsConfig?: ConfigSource;
}

export interface CommonTlsContext {
  tlsParams?: TlsParameters;
  tlsCertificates?: TlsCertificate[];
  tlsCertificateSdsSecretConfigs?: SdsSecretConfig[];
  tlsCertificateProviderInstance?: CertificateProviderPluginInstance;
  validationContext?: CertificateValidationContext;
  validationContextSdsSecretConfig?: SdsSecretConfig;
  combinedValidationContext?: {
    defaultValidationContext?: CertificateValidationContext;
    validationContextSdsSecretConfig?: SdsSecretConfig;
  };
  alpnProtocols?: string[];
}

export interface UpstreamTlsContext {
  commonTlsContext?: CommonTlsContext;
  sni?: string;
  allowRenegotiation?: boolean;
  maxSessionKeys?: UInt32Value;
}

export interface DownstreamTlsContext {
  commonTlsContext?: CommonTlsContext;
  requireClientCertificate?: BoolValue;
  requireSni?: BoolValue;
  disableStatelessSessionResumption?: boolean;
  sessionTimeout?: Duration;
}

/** An SDS resource; set one of the oneof members. */
export interface Secret {
  name?: string;
  tlsCertificate?: TlsCertificate;
  sessionTicketKeys?: { keys?: DataSource[] };
  validationContext?: CertificateValidationContext;
  genericSecret?: { secret?: DataSource };
}
