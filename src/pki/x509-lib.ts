/**
 * `@peculiar/x509`, set up once: it needs `reflect-metadata` loaded first and a WebCrypto provider.
 * Only what runs on demand imports it (generating a root, parsing a CSR, the aggregator's
 * self-signed certificate): loading it and its ASN.1 stack costs a start 0.07-0.19 s of CPU, and a
 * control plane that loads its CA from a Secret never needs it to start.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
