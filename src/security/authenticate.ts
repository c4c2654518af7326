/**
 * Who is calling a gRPC method on 15012 (CA and secure xDS): istiod's authenticator chain
 * (docs/istio-compat.md §11.3), tried in order, first success wins:
 *
 * 1. `ClientCertAuthenticator`: a TLS client certificate that the server verified against our root
 *    bundle, carrying one SPIFFE URI SAN: certificate-based renewal;
 * 2. `KubeJwtAuthenticator`: a bearer token from `authorization`, reviewed by the API server of the
 *    cluster named in the `clusterid` header (empty or our own id: the local cluster).
 *
 * Every failure carries a precise reason for logs; callers of the gRPC services only ever see an opaque
 * "request authenticate failure".
 */
import { X509Certificate } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { KubeClient } from '../kube/client.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { parseSpiffeId, spiffeId } from '../model/ids.ts';
import type { Identity } from '../model/identity.ts';
import { uriSans as certUriSans } from '../pki/cert-extensions.ts';
import { decodeCertificates } from '../pki/pem.ts';
import type { TokenReviewer } from './tokenreview.ts';

/** The per-cluster API clients the authenticator may ask (the lead implements it from the secret controller). */
export interface ClusterClients {
  readonly localClusterId: string;
  client(clusterId: string): KubeClient | undefined;
  clusterIds(): string[];
}

/** The part of a grpc-js server call an authenticator reads (unary calls and streams both fit). */
export interface AuthCall {
  readonly metadata: Metadata;
  getAuthContext(): { readonly sslPeerCertificate?: PeerCertificate | undefined } | null;
  getPeer(): string;
}

/** Returns the identity, undefined when the call carries no credential of this kind, or throws why not. */
export interface Authenticator {
  readonly kind: string;
  authenticate(call: AuthCall): Promise<Identity | undefined>;
}

function fail(message: string): IsthmusError {
  return new IsthmusError(ErrorCodes.AuthenticationFailed, message);
}

/** The single value of a metadata key ('' when absent); several values are refused. */
function single(md: Metadata, key: string): string {
  const values = md.get(key);
  if (values.length > 1) throw fail(`expected at most one ${key} header, got ${values.length}`);
  const v = values[0];
  if (v === undefined) return '';
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** The bearer token of an `authorization` value, or undefined when there is none. */
export function bearerToken(md: Metadata): string | undefined {
  const value = single(md, 'authorization');
  if (value === '') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (!m?.[1]) throw fail('the authorization header is not "Bearer <token>"');
  return m[1];
}

export interface KubeJwtOptions {
  readonly clusters: ClusterClients;
  readonly reviewer: TokenReviewer;
  readonly trustDomain: string;
  /** Other names for cluster ids (istiod's cluster aliases): alias -> id. */
  readonly clusterAliases?: Readonly<Record<string, string>>;
}

/** Chooses the API client for a `clusterid` header, or explains which clusters exist. Pure given `clusters`. */
export function clientForCluster(
  clusters: ClusterClients, claimed: string, aliases: Readonly<Record<string, string>> = {},
): { readonly clusterId: string; readonly client: KubeClient } {
  const id = aliases[claimed] ?? claimed;
  const local = clusters.localClusterId;
  const wanted = id === '' ? local : id;
  const client = clusters.client(wanted);
  if (client) return { clusterId: wanted, client };
  const remotes = clusters.clusterIds().filter((c) => c !== local).sort();
  throw fail(`client claims to be in cluster ${JSON.stringify(claimed)}, but we only know about local cluster ${JSON.stringify(local)} and remote clusters [${remotes.join(', ')}]`);
}

export class KubeJwtAuthenticator implements Authenticator {
  readonly kind = 'kube-jwt';
  readonly #opts: KubeJwtOptions;

  constructor(opts: KubeJwtOptions) {
    this.#opts = opts;
  }

  async authenticate(call: AuthCall): Promise<Identity | undefined> {
    const token = bearerToken(call.metadata);
    if (token === undefined) return undefined;
    const { clusterId, client } = clientForCluster(this.#opts.clusters, single(call.metadata, 'clusterid'), this.#opts.clusterAliases);
    const who = await this.#opts.reviewer.review(client, clusterId, token);
    return {
      namespace: who.namespace,
      serviceAccount: who.serviceAccount,
      cluster: clusterId,
      spiffe: spiffeId({ trustDomain: this.#opts.trustDomain, namespace: who.namespace, serviceAccount: who.serviceAccount }),
    };
  }
}

export interface ClientCertOptions {
  /**
   * PEM certificates that may have issued a workload certificate: the CA's signing certificate and the
   * root bundle (read at every call, so a rotated CA is followed).
   */
  readonly issuers: () => string;
  /** Trust domains accepted in the SPIFFE URI (ours and its aliases). */
  readonly trustDomains: readonly string[];
  readonly localClusterId: string;
  readonly now?: () => number;
}

/** SPIFFE URIs in a certificate's SubjectAltName. */
function uriSans(der: Buffer): string[] {
  return certUriSans(der, ErrorCodes.AuthenticationFailed, 'client certificate');
}

/**
 * Certificate-based authentication: the TLS layer requested and verified the client certificate
 * against the root bundle (grpc-js reports a peer certificate only when `socket.authorized`); we check
 * again that it was issued by one of `issuers()` and is currently valid, then take its one SPIFFE URI.
 * The cluster is not in the certificate: it is the local cluster.
 */
export class ClientCertAuthenticator implements Authenticator {
  readonly kind = 'client-cert';
  readonly #opts: ClientCertOptions;

  constructor(opts: ClientCertOptions) {
    this.#opts = opts;
  }

  authenticate(call: AuthCall): Promise<Identity | undefined> {
    try {
      return Promise.resolve(this.#check(call));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #check(call: AuthCall): Identity | undefined {
    const peer = call.getAuthContext()?.sslPeerCertificate;
    if (!peer?.raw) return undefined;
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(peer.raw);
    } catch (err) {
      throw fail(`client certificate does not parse: ${errorMessage(err)}`);
    }
    const now = this.#opts.now?.() ?? Date.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw fail(`client certificate is not valid now (${cert.validFrom} .. ${cert.validTo})`);
    if (cert.ca) throw fail('client certificate is a CA certificate');
    const issuers = decodeCertificates(this.#opts.issuers());
    if (typeof issuers === 'string') throw fail(`no usable issuer certificates: ${issuers}`);
    const issued = issuers.some((der) => {
      const issuer = new X509Certificate(der);
      return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
    });
    if (!issued) throw fail(`client certificate (issuer ${cert.issuer || '(empty)'}) was not issued by this CA`);
    const uris = uriSans(peer.raw);
    if (uris.length !== 1 || uris[0] === undefined) throw fail(`client certificate must carry exactly one URI SAN, has ${uris.length}`);
    const id = parseSpiffeId(uris[0]);
    if (!this.#opts.trustDomains.includes(id.trustDomain)) throw fail(`client certificate trust domain ${id.trustDomain} is not ours (${this.#opts.trustDomains.join(', ')})`);
    return { namespace: id.namespace, serviceAccount: id.serviceAccount, cluster: this.#opts.localClusterId, spiffe: id.id };
  }
}

/** Tries each authenticator in order; the first identity wins. Throws `AuthenticationFailed` with every reason. */
export class AuthenticatorChain {
  readonly #chain: readonly Authenticator[];

  constructor(chain: readonly Authenticator[]) {
    this.#chain = chain;
  }

  async authenticate(call: AuthCall): Promise<Identity> {
    const reasons: string[] = [];
    for (const a of this.#chain) {
      try {
        const id = await a.authenticate(call);
        if (id) return id;
      } catch (err) {
        reasons.push(`${a.kind}: ${errorMessage(err)}`);
      }
    }
    if (reasons.length === 0) throw fail(`no credentials (tried ${this.#chain.map((a) => a.kind).join(', ')})`);
    throw fail(reasons.join('; '));
  }

  /** The function AdsServer.implementation() takes. */
  forAds(): (call: AuthCall) => Promise<Identity> {
    return (call) => this.authenticate(call);
  }
}
