/**
 * The signing side of the CA service, behind a small interface (istiod's `CertificateAuthority`:
 * Sign / SignWithCertChain / GetCAKeyCertBundle) so that transport and policy never touch key material.
 */
import type { SpiffeId } from '../../model/ids.ts';
import type { CaBundle } from '../../pki/bundle.ts';
import { responseCertChain } from '../../pki/chain.ts';
import { signLeaf } from '../../pki/sign.ts';
import { systemClock, type Clock } from '../../model/clock.ts';

export interface SignRequest {
  /** SubjectPublicKeyInfo (DER) from the verified CSR. */
  readonly publicKey: Uint8Array;
  /** The authenticated identities: the only SANs the certificate gets. */
  readonly identities: readonly SpiffeId[];
  /** Requested lifetime (seconds); <= 0 means the default. */
  readonly ttlSeconds: number;
}

export interface CertificateAuthority {
  /** `cert_chain` of the response: leaf first, root bundle last. Throws `CertTtlInvalid`, `CaKeyMaterial`. */
  signWithCertChain(req: SignRequest): string[];
  /** The root bundle PEM. */
  rootCertPem(): string;
}

export interface BundleAuthorityOptions {
  readonly defaultTtlSeconds?: number;
  readonly maxTtlSeconds?: number;
  readonly clock?: Pick<Clock, 'now'>;
}

/** A CertificateAuthority over whatever bundle `source` returns now (e.g. `() => caStore.current()`). */
export function bundleAuthority(source: () => CaBundle, opts: BundleAuthorityOptions = {}): CertificateAuthority {
  return {
    signWithCertChain(req) {
      const ca = source();
      const leaf = signLeaf({
        ca,
        publicKey: req.publicKey,
        identities: req.identities,
        ttlSeconds: req.ttlSeconds,
        ...(opts.defaultTtlSeconds === undefined ? {} : { defaultTtlSeconds: opts.defaultTtlSeconds }),
        ...(opts.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: opts.maxTtlSeconds }),
        now: new Date((opts.clock ?? systemClock).now()),
      });
      return responseCertChain(ca, leaf.certPem);
    },
    rootCertPem: () => source().rootCertPem,
  };
}
