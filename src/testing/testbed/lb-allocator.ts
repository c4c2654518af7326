/**
 * The test bed's LoadBalancer address allocator, one process per cluster with nodes:
 *
 *   node src/testing/testbed/lb-allocator.ts <server> <cluster dir> <pool /24>
 *
 * Every second it gives each Service of type LoadBalancer without an address the one it asked for
 * (`spec.loadBalancerIP`, if in the pool and free) or the first free one, in `status.loadBalancer`.
 * kube-proxy then routes the address on the node; the root namespace routes the pool to the node.
 * MetalLB's controller would do the same job but needs its CRDs, webhook and configuration objects
 * in every cluster; on one machine nothing announces addresses, so this is all there is to do.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../model/errors.ts';
import { adminRequest, type AdminCredentials } from './kubeconfig.ts';
import { poolAddresses } from './node-net.ts';

interface Service {
  metadata: { namespace: string; name: string };
  spec?: { type?: string; loadBalancerIP?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** The address each LoadBalancer Service without one should get (pure: easy to reason about). */
export function assignments(services: readonly Service[], pool: readonly string[]): Map<Service, string> {
  const used = new Set(services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? '')));
  const out = new Map<Service, string>();
  for (const s of services) {
    if (s.spec?.type !== 'LoadBalancer' || (s.status?.loadBalancer?.ingress ?? []).length > 0) continue;
    const wanted = s.spec.loadBalancerIP;
    const ip = wanted && pool.includes(wanted) && !used.has(wanted) ? wanted : pool.find((a) => !used.has(a));
    if (ip === undefined) continue; // pool exhausted: the Service stays pending, as with any allocator
    used.add(ip);
    out.set(s, ip);
  }
  return out;
}

async function main(server: string, dir: string, pool: string): Promise<void> {
  const creds: AdminCredentials = {
    server,
    caCertPem: readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'),
    clientCertPem: readFileSync(join(dir, 'pki', 'admin.crt'), 'utf8'),
    clientKeyPem: readFileSync(join(dir, 'pki', 'admin.key'), 'utf8'),
  };
  const addresses = poolAddresses(pool);
  process.stdout.write(`lb-allocator: handing out ${pool} on ${server}\n`);
  for (;;) {
    try {
      const res = await adminRequest(creds, 'GET', '/api/v1/services');
      const list = JSON.parse(res.body) as { items?: Service[] };
      for (const [svc, ip] of assignments(list.items ?? [], addresses)) {
        const path = `/api/v1/namespaces/${svc.metadata.namespace}/services/${svc.metadata.name}/status`;
        const put = await adminRequest(creds, 'PUT', path, { ...svc, apiVersion: 'v1', kind: 'Service', status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } });
        process.stdout.write(`lb-allocator: ${svc.metadata.namespace}/${svc.metadata.name} -> ${ip} (${put.status})\n`);
      }
    } catch (err) {
      process.stdout.write(`lb-allocator: ${errorMessage(err)}\n`);
    }
    await sleep(1000);
  }
}

if (import.meta.main) {
  const [server, dir, pool] = process.argv.slice(2);
  if (!server || !dir || !pool) {
    process.stderr.write('usage: lb-allocator.ts <server> <cluster dir> <pool /24>\n');
    process.exit(2);
  }
  process.on('SIGTERM', () => { process.exit(0); });
  await main(server, dir, pool);
}
