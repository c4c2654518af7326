/**
 * The bearer token istioctl sends to the control plane (docs/istio-compat.md §14.4): minted through the
 * TokenRequest API of the current kube context for service account `default` of the istio
 * namespace, audience `istio-ca`, one hour, renewed when less than a minute is left.
 */
import { KubeApiError, type KubeClient } from '../../kube/client.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';

export const TOKEN_AUDIENCE = 'istio-ca';
export const TOKEN_SERVICE_ACCOUNT = 'default';
export const TOKEN_SECONDS = 3600;
const RENEW_BEFORE_MS = 60_000;

interface TokenRequestStatus {
  readonly status?: { readonly token?: string; readonly expirationTimestamp?: string };
}

export class TokenSource {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #serviceAccount: string;
  #token: { value: string; expires: number } | undefined;

  constructor(client: KubeClient, namespace: string, serviceAccount = TOKEN_SERVICE_ACCOUNT) {
    this.#client = client;
    this.#namespace = namespace;
    this.#serviceAccount = serviceAccount;
  }

  async token(now = Date.now()): Promise<string> {
    if (this.#token && this.#token.expires - now > RENEW_BEFORE_MS) return this.#token.value;
    const path = `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/serviceaccounts/${encodeURIComponent(this.#serviceAccount)}/token`;
    const what = `a token for service account ${this.#namespace}/${this.#serviceAccount} (audience ${TOKEN_AUDIENCE}) from context ${JSON.stringify(this.#client.contextName)} (${this.#client.server})`;
    let res: TokenRequestStatus;
    try {
      res = await this.#client.request<TokenRequestStatus>('POST', path, {
        apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
        spec: { audiences: [TOKEN_AUDIENCE], expirationSeconds: TOKEN_SECONDS },
      });
    } catch (err) {
      const hint = err instanceof KubeApiError && err.status === 404
        ? `; does namespace ${this.#namespace} exist? set ISTIOCTL_ISTIONAMESPACE or -i to the control plane's namespace`
        : '';
      throw new IsthmusError(ErrorCodes.AuthenticationFailed, `cannot get ${what}: ${errorMessage(err)}${hint}`, { cause: err });
    }
    const value = res.status?.token;
    if (!value) throw new IsthmusError(ErrorCodes.AuthenticationFailed, `cannot get ${what}: the TokenRequest answer has no token`);
    const exp = Date.parse(res.status?.expirationTimestamp ?? '');
    this.#token = { value, expires: Number.isFinite(exp) ? exp : now + TOKEN_SECONDS * 1000 };
    return value;
  }
}
