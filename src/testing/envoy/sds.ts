/**
 * The part of Istio's agent that Envoy needs beside xDS, for tests that run Envoy without
 * pilot-agent: an SDS server on a unix socket (the bootstrap's `sds-grpc` cluster) serving the
 * workload certificate as `default` and the mesh root as `ROOTCA`, and the CSR the agent sends to
 * the control plane's CA (CreateCertificate over 15012 with the pod's token).
 */
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { discoveryRequestCodec, discoveryResponseCodec, packAny, secretCodec } from '../../proto/codec.ts';
import { istioCertificateService, methodDefinition, ServiceNames } from '../../proto/services.ts';
import type { DiscoveryRequest, DiscoveryResponse, IstioCertificateRequest, IstioCertificateResponse, Secret } from '../../proto/types.ts';
import { SECRET_TYPE_URL } from '../../model/type-urls.ts';

export interface WorkloadCertificate {
  readonly chainPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

/** Asks the control plane's CA for a certificate, as pilot-agent does (token in `authorization`). */
export async function requestWorkloadCertificate(address: string, rootPem: string, token: string, clusterId: string): Promise<WorkloadCertificate> {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const Ctor = makeGenericClientConstructor(istioCertificateService, ServiceNames.ca);
  const client = new Ctor(address, credentials.createSsl(Buffer.from(rootPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc', 'grpc.default_authority': 'istiod.istio-system.svc' });
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  md.set('clusterid', clusterId);
  try {
    const resp = await new Promise<IstioCertificateResponse>((resolve, reject) => {
      const fn = (client as unknown as Record<string, (req: IstioCertificateRequest, md: Metadata, cb: (e: ServiceError | null, r?: IstioCertificateResponse) => void) => void>)['CreateCertificate'];
      if (!fn) { reject(new Error('no CreateCertificate method')); return; }
      fn.call(client, { csr: csr.toString('pem'), validityDuration: '3600' }, md, (e, r) => { if (e) reject(e); else if (r) resolve(r); else reject(new Error('empty CreateCertificate response')); });
    });
    const chain = resp.certChain ?? [];
    const key = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { chainPem: chain.slice(0, -1).join(''), keyPem: pem('PRIVATE KEY', key), rootPem: chain[chain.length - 1] ?? rootPem };
  } finally {
    client.close();
  }
}

const sdsService = {
  StreamSecrets: methodDefinition('/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', discoveryRequestCodec, discoveryResponseCodec, true, true),
};

/** Serves `default` and `ROOTCA` over SDS (state of the world) on `unix://<socketPath>`. */
export class SdsServer {
  readonly #server: Server;
  /** Secrets Envoy asked for, by name. */
  readonly requested = new Set<string>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(socketPath: string, cert: WorkloadCertificate): Promise<SdsServer> {
    const secrets = new Map<string, Secret>([
      ['default', { name: 'default', tlsCertificate: { certificateChain: { inlineBytes: Buffer.from(cert.chainPem) }, privateKey: { inlineBytes: Buffer.from(cert.keyPem) } } }],
      ['ROOTCA', { name: 'ROOTCA', validationContext: { trustedCa: { inlineBytes: Buffer.from(cert.rootPem) } } }],
    ]);
    const server = new Server();
    const sds = new SdsServer(server);
    let nonce = 0;
    server.addService(sdsService, {
      StreamSecrets: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        call.on('data', (req: DiscoveryRequest) => {
          if (req.responseNonce) return; // an ACK or NACK: the secrets never change here
          const names = req.resourceNames ?? [];
          for (const n of names) sds.requested.add(n);
          const resources = names.map((n) => secrets.get(n)).filter((s): s is Secret => s !== undefined).map((s) => packAny(secretCodec, s));
          call.write({ versionInfo: '1', typeUrl: SECRET_TYPE_URL, nonce: String(++nonce), resources });
        });
        call.on('end', () => { call.end(); });
        call.on('error', () => undefined);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) => { if (err) reject(err); else resolve(); });
    });
    return sds;
  }

  close(): void {
    this.#server.forceShutdown();
  }
}
