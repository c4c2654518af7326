/**
 * Real Envoy's verdict on what Isthmus sends a simulated proxy: Envoy 1.40 (in an empty network
 * namespace of its own) connects over ADS with the proxy's node id and metadata, and once it has
 * applied CDS and LDS its `update_rejected` counters must all be 0. A throw-away self-signed
 * certificate is served over SDS as `default` and `ROOTCA` (clusters and listeners with Istio mTLS
 * wait for their secrets before Envoy asks for the next resource type); nothing dials anything.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UnixBridge } from '../../../src/testing/envoy/bridge.ts';
import { EnvoyProcess } from '../../../src/testing/envoy/process.ts';
import { SdsServer } from '../../../src/testing/envoy/sds.ts';
import type { ProxySpec } from '../scenarios.ts';

export interface EnvoyVerdict {
  readonly role: string;
  /** `<counter>=<value>` of every non-zero `*.update_rejected` counter. */
  readonly rejected: string[];
  readonly ldsUpdates: number;
  readonly cdsUpdates: number;
  /** Envoy's warnings about rejected config, if any. */
  readonly log: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An SDS server on `<dir>/sds.sock` serving a fresh self-signed P-256 certificate (openssl). */
export async function startSds(dir: string): Promise<{ readonly socket: string; readonly server: SdsServer }> {
  const key = join(dir, 'sds-key.pem');
  const cert = join(dir, 'sds-cert.pem');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/O=isthmus-conformance/CN=conformance', '-addext', 'subjectAltName=URI:spiffe://cluster.local/ns/sample/sa/sleep', '-keyout', key, '-out', cert]);
  const pem = readFileSync(cert, 'utf8');
  const socket = join(dir, 'sds.sock');
  return { socket, server: await SdsServer.start(socket, { chainPem: pem, keyPem: readFileSync(key, 'utf8'), rootPem: pem }) };
}

/** Starts Envoy as `proxy` against `xdsAddr` (host:port), waits for CDS and LDS, reads the counters, stops it. */
export async function envoyVerdict(bin: string, dir: string, sdsSocket: string, instance: string, xdsAddr: string, proxy: ProxySpec, timeoutMs = 30_000): Promise<EnvoyVerdict> {
  const [host = '127.0.0.1', port = '0'] = xdsAddr.split(':');
  const bridge = await UnixBridge.open(join(dir, `${instance}-xds.sock`), host, Number(port));
  const ns = typeof proxy.metadata['NAMESPACE'] === 'string' ? proxy.metadata['NAMESPACE'] : 'default';
  let envoy: EnvoyProcess | undefined;
  try {
    envoy = await EnvoyProcess.start({
      bin, dir, instance, nodeId: proxy.id, nodeCluster: `${proxy.role}.${ns}`, metadata: proxy.metadata,
      xdsSocket: bridge.path, apiType: 'GRPC', sdsSocket,
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats = await envoy.stats().catch(() => new Map<string, number>());
      const lds = stats.get('listener_manager.lds.update_success') ?? 0;
      const cds = stats.get('cluster_manager.cds.update_success') ?? 0;
      const rejected = [...stats].filter(([k, v]) => k.endsWith('.update_rejected') && v !== 0).map(([k, v]) => `${k}=${v}`);
      if ((lds > 0 && cds > 0) || rejected.length > 0 || Date.now() > deadline || envoy.exited()) {
        if (lds === 0 && rejected.length === 0) throw new Error(`${proxy.role}: Envoy applied no LDS within ${timeoutMs} ms:\n${envoy.logs(20)}`);
        return { role: proxy.role, rejected, ldsUpdates: lds, cdsUpdates: cds, log: envoy.grep(/rejected|Error adding|invalid/i) };
      }
      await sleep(200);
    }
  } finally {
    await envoy?.stop();
    await bridge.close();
  }
}
