/**
 * The control plane's own serving certificate for 15012 (xDS + CA over TLS), signed by the mesh CA with
 * the names Istio's agents check (docs/istio-compat.md §2.3: `istiod.<ns>.svc`, `istiod-remote.<ns>.svc`,
 * `istio-pilot.<ns>.svc`, `istiod-<rev>.<ns>.svc`, custom hosts) plus `localhost` and `127.0.0.1` by
 * default, so local clients and tests can connect by address.
 *
 * `ServingCertificate` is a grpc-js CertificateProvider: `credentials()` gives ServerCredentials that
 * present the certificate, REQUEST a client certificate without requiring one (token callers connect
 * without one; certificate-based renewal sends one) and verify it against the root bundle. `update(ca)`
 * re-issues after a CA change and the running server picks the new material up for new connections.
 */
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { CaBundle } from '../../pki/bundle.ts';
import { istiodDnsNames, signServer, type ServerCert } from '../../pki/sign.ts';

export const DEFAULT_EXTRA_SERVING_NAMES: readonly string[] = ['localhost', '127.0.0.1'];

export interface ServingCertOptions {
  /** The system namespace. */
  readonly namespace: string;
  readonly revision?: string;
  /** ISTIOD_CUSTOM_HOST entries. */
  readonly customHosts?: readonly string[];
  /** Added after istiod's names; default `localhost`, `127.0.0.1`. */
  readonly extraNames?: readonly string[];
  readonly ttlSeconds?: number;
}

/** Every SubjectAltName of the serving certificate. */
export function servingNames(opts: ServingCertOptions): string[] {
  const names = istiodDnsNames({
    namespace: opts.namespace,
    ...(opts.revision === undefined ? {} : { revision: opts.revision }),
    ...(opts.customHosts === undefined ? {} : { customHosts: opts.customHosts }),
  });
  for (const n of opts.extraNames ?? DEFAULT_EXTRA_SERVING_NAMES) if (!names.includes(n)) names.push(n);
  return names;
}

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

export class ServingCertificate implements experimental.CertificateProvider {
  readonly #opts: ServingCertOptions;
  readonly #caListeners = new Set<CaListener>();
  readonly #idListeners = new Set<IdentityListener>();
  #cert: ServerCert;
  #rootCertPem: string;

  private constructor(opts: ServingCertOptions, cert: ServerCert, rootCertPem: string) {
    this.#opts = opts;
    this.#cert = cert;
    this.#rootCertPem = rootCertPem;
  }

  static async create(ca: CaBundle, opts: ServingCertOptions): Promise<ServingCertificate> {
    return new ServingCertificate(opts, await ServingCertificate.#issue(ca, opts), ca.rootCertPem);
  }

  static #issue(ca: CaBundle, opts: ServingCertOptions): Promise<ServerCert> {
    return signServer({ ca, dnsNames: servingNames(opts), ...(opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds }) });
  }

  /** Re-issues from a new CA bundle and hands the new material to running servers. */
  async update(ca: CaBundle): Promise<void> {
    this.#cert = await ServingCertificate.#issue(ca, this.#opts);
    this.#rootCertPem = ca.rootCertPem;
    for (const l of this.#idListeners) l(this.#identityUpdate());
    for (const l of this.#caListeners) l(this.#caUpdate());
  }

  /** Certificate followed by the CA's intermediates. */
  get certChainPem(): string { return this.#cert.certChainPem; }
  get keyPem(): string { return this.#cert.keyPem; }
  /** What clients should trust to verify us (and what client certificates are checked against). */
  get rootCertPem(): string { return this.#rootCertPem; }
  get notAfter(): Date { return this.#cert.notAfter; }

  /** grpc-js credentials for 15012: TLS, client certificate requested but optional. */
  credentials(): ServerCredentials {
    return experimental.createCertificateProviderServerCredentials(this, this, false);
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(this.#cert.certChainPem), privateKey: Buffer.from(this.#cert.keyPem) };
  }

  #caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.#rootCertPem) };
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Asynchronously: grpc-js registers its watcher only after adding the listeners.
    queueMicrotask(() => { if (this.#caListeners.has(listener)) listener(this.#caUpdate()); });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#idListeners.add(listener);
    queueMicrotask(() => { if (this.#idListeners.has(listener)) listener(this.#identityUpdate()); });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#idListeners.delete(listener);
  }
}
