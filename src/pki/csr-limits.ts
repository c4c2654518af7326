/** Largest CSR accepted, in characters of PEM (a P-256 CSR is ~500, an RSA-4096 one ~1,700). */
export const MAX_CSR_BYTES = 64 * 1024;
