/** Who a caller is, once authentication has verified its credentials; shared by the CA, authentication and the xDS server. */

/** A caller whose credentials were verified (token review or client certificate). */
export interface Identity {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The cluster whose API server verified the token. */
  readonly cluster: string;
  /** e.g. `spiffe://cluster.local/ns/sample/sa/sleep`. */
  readonly spiffe: string;
}
