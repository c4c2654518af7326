/**
 * What can be told about a bearer token WITHOUT asking the API server, to refuse early the tokens
 * that cannot be valid: not a JWT (three base64url parts, JSON header and payload), no issuer, expired
 * or not yet valid by its own `exp`/`nbf`, or for none of our audiences by its own `aud`.
 *
 * These checks only ever REFUSE. The claims are unverified (anyone can write them), so passing them
 * proves nothing: only a TokenReview grants an identity.
 */

export interface UnverifiedClaims {
  readonly iss: string | undefined;
  /** `aud` as a list (a JWT may carry one string); undefined when absent. */
  readonly aud: readonly string[] | undefined;
  /** Seconds since the epoch. */
  readonly exp: number | undefined;
  readonly nbf: number | undefined;
}

/** Clock skew tolerated on `exp` and `nbf` (seconds), as API servers tolerate some. */
export const CLOCK_SKEW_SECONDS = 60;

const B64URL = /^[A-Za-z0-9_-]+$/;

function part(s: string, what: string): Record<string, unknown> | string {
  if (!B64URL.test(s)) return `its ${what} is not base64url`;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    return `its ${what} is not JSON`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `its ${what} is not a JSON object`;
  return v as Record<string, unknown>;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The unverified claims of a compact JWS, or why the token is not one. Pure. */
export function unverifiedClaims(token: string): UnverifiedClaims | string {
  const parts = token.split('.');
  if (parts.length !== 3) return `not a JWT (${parts.length} dot-separated parts, want 3)`;
  const [h = '', p = '', sig = ''] = parts;
  const header = part(h, 'header');
  if (typeof header === 'string') return `not a JWT: ${header}`;
  const alg = header['alg'];
  if (typeof alg !== 'string' || alg === '' || alg.toLowerCase() === 'none') return 'not a signed JWT (header alg missing or "none")';
  const payload = part(p, 'payload');
  if (typeof payload === 'string') return `not a JWT: ${payload}`;
  if (!B64URL.test(sig)) return 'not a JWT: its signature is not base64url';
  const rawAud = payload['aud'];
  const aud = typeof rawAud === 'string' ? [rawAud]
    : Array.isArray(rawAud) ? rawAud.filter((a): a is string => typeof a === 'string') : undefined;
  const iss = payload['iss'];
  return { iss: typeof iss === 'string' ? iss : undefined, aud, exp: num(payload['exp']), nbf: num(payload['nbf']) };
}

/** Why the claims alone rule the token out (for `audiences` at `nowMs`), or undefined. Pure. */
export function claimsProblem(c: UnverifiedClaims, nowMs: number, audiences: readonly string[]): string | undefined {
  const now = nowMs / 1000;
  if (c.iss === undefined || c.iss === '') return 'the token has no issuer (iss)';
  if (c.exp !== undefined && c.exp + CLOCK_SKEW_SECONDS < now) return `the token expired at ${new Date(c.exp * 1000).toISOString()}`;
  if (c.nbf !== undefined && c.nbf - CLOCK_SKEW_SECONDS > now) return `the token is not valid before ${new Date(c.nbf * 1000).toISOString()}`;
  if (c.aud !== undefined && !c.aud.some((a) => audiences.includes(a))) {
    return `the token's audiences [${c.aud.slice(0, 4).map((a) => JSON.stringify(a.slice(0, 64))).join(', ')}] include none of ours [${audiences.join(', ')}]`;
  }
  return undefined;
}
