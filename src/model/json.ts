/** Narrowing helpers for parsed JSON and YAML, shared by every reader of untyped input. */

/** A JSON object (a YAML mapping): not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Base64 text as kubeconfigs and PEM bodies carry it: the standard alphabet, padding and whitespace. */
export function isBase64Text(v: string): boolean {
  return /^[A-Za-z0-9+/=\s]*$/.test(v);
}
