/**
 * Strict PEM handling for the CA. Go's `encoding/pem` (what Istio uses) tolerates text around blocks;
 * we tolerate whitespace only, so a truncated or pasted-over file is reported instead of half-read.
 */
import { isBase64Text } from '../model/json.ts';

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/**
 * Decodes every PEM block in `text`. Returns a reason string instead of throwing so that each caller
 * can raise its own error code and name the offending input.
 */
export function decodePem(text: string): PemBlock[] | string {
  const blocks: PemBlock[] = [];
  let last = 0;
  for (const m of text.matchAll(BLOCK)) {
    const [whole, label = '', body = '', endLabel = ''] = m;
    if (text.slice(last, m.index).trim() !== '') return `unexpected text before "-----BEGIN ${label}-----"`;
    if (label !== endLabel) return `PEM block "BEGIN ${label}" ends with "END ${endLabel}"`;
    if (/^[A-Za-z-]+:/m.test(body)) return `PEM block "${label}" has headers (encrypted or legacy PEM is not supported)`;
    if (!isBase64Text(body)) return `PEM block "${label}" contains characters outside base64`;
    const compact = body.replace(/\s+/g, '');
    if (compact.length === 0 || compact.length % 4 !== 0) return `PEM block "${label}" has a truncated base64 body`;
    blocks.push({ label, der: Buffer.from(compact, 'base64') });
    last = m.index + whole.length;
  }
  if (text.slice(last).trim() !== '') {
    return blocks.length === 0 ? 'no PEM block found' : 'unexpected text after the last PEM block';
  }
  if (blocks.length === 0) return 'no PEM block found';
  return blocks;
}

/** Canonical PEM: 64-column base64, trailing newline. */
export function encodePem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Decodes a PEM text that must hold only CERTIFICATE blocks (at least one). */
export function decodeCertificates(text: string): Buffer[] | string {
  const blocks = decodePem(text);
  if (typeof blocks === 'string') return blocks;
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) return `expected only CERTIFICATE blocks, found "${other.label}"`;
  return blocks.map((b) => b.der);
}
