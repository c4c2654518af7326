/**
 * The east-west gateway artefacts of Istio's `samples/multicluster`: the IstioOperator that
 * `gen-eastwest-gateway.sh` prints, and the Gateway / VirtualService objects of
 * `expose-services.yaml` and `expose-istiod.yaml` (docs/istio-compat.md §3). Pure.
 */
import { stringify } from 'yaml';
import type { Manifest } from './render/types.ts';

export interface EastWestOptions {
  readonly network?: string | undefined;
  readonly revision?: string | undefined;
  readonly singleCluster?: boolean | undefined;
  /**
   * Written into values.global.multiCluster.clusterName / meshID when given. The current script
   * ignores them (Istio injects the gateway, which supplies them); Isthmus renders the gateway's
   * proxy environment itself, so the cluster ID must be in the install values.
   */
  readonly cluster?: string | undefined;
  readonly mesh?: string | undefined;
}

export function eastWestGateway(o: EastWestOptions): Manifest {
  const multiNetwork = o.singleCluster !== true;
  const network = o.network ?? '';
  const label: Record<string, string> = { istio: 'eastwestgateway', app: 'istio-eastwestgateway' };
  if (multiNetwork) label['topology.istio.io/network'] = network;
  const global: Record<string, unknown> = {};
  if (multiNetwork) global['network'] = network;
  if (o.mesh !== undefined && o.mesh !== '') global['meshID'] = o.mesh;
  if (o.cluster !== undefined && o.cluster !== '') global['multiCluster'] = { clusterName: o.cluster };
  return {
    apiVersion: 'install.istio.io/v1alpha1',
    kind: 'IstioOperator',
    metadata: { name: 'eastwest' },
    spec: {
      revision: o.revision ?? '',
      profile: 'empty',
      components: {
        ingressGateways: [{
          name: 'istio-eastwestgateway',
          label,
          enabled: true,
          k8s: {
            ...(multiNetwork ? { env: [{ name: 'ISTIO_META_REQUESTED_NETWORK_VIEW', value: network }] } : {}),
            service: {
              ports: [
                { name: 'status-port', port: 15021, targetPort: 15021 },
                { name: 'tls', port: 15443, targetPort: 15443 },
                { name: 'tls-istiod', port: 15012, targetPort: 15012 },
                { name: 'tls-webhook', port: 15017, targetPort: 15017 },
              ],
            },
          },
        }],
      },
      values: {
        gateways: { 'istio-ingressgateway': { injectionTemplate: 'gateway' } },
        ...(Object.keys(global).length > 0 ? { global } : {}),
      },
    },
  };
}

/** `cross-network-gateway`: mTLS passthrough on 15443 for every `*.local` service. */
export function exposeServices(): Manifest[] {
  return [{
    apiVersion: 'networking.istio.io/v1',
    kind: 'Gateway',
    metadata: { name: 'cross-network-gateway' },
    spec: {
      selector: { istio: 'eastwestgateway' },
      servers: [{ port: { number: 15443, name: 'tls', protocol: 'TLS' }, tls: { mode: 'AUTO_PASSTHROUGH' }, hosts: ['*.local'] }],
    },
  }];
}

/** `istiod-gateway` + VirtualService: TLS passthrough of 15012 (xDS, CA) and 15017 (webhooks) to istiod. */
export function exposeIstiod(opts: { readonly revision?: string | undefined; readonly namespace?: string | undefined } = {}): Manifest[] {
  const ns = opts.namespace ?? 'istio-system';
  const rev = opts.revision ?? '';
  const name = rev === '' ? 'istiod' : `istiod-${rev}`;
  const host = `${name}.${ns}.svc.cluster.local`;
  const sni = rev === '' ? ['*'] : [`${name}.${ns}.svc`, host];
  const route = (match: number, to: number) => ({ match: [{ port: match, sniHosts: sni }], route: [{ destination: { host, port: { number: to } } }] });
  return [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Gateway',
      metadata: { name: 'istiod-gateway' },
      spec: {
        selector: { istio: 'eastwestgateway' },
        servers: [
          { port: { name: 'tls-istiod', number: 15012, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
          { port: { name: 'tls-istiodwebhook', number: 15017, protocol: 'tls' }, tls: { mode: 'PASSTHROUGH' }, hosts: ['*'] },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: rev === '' ? 'istiod-vs' : `istiod-vs-${rev}` },
      spec: { hosts: ['*'], gateways: ['istiod-gateway'], tls: [route(15012, 15012), route(15017, 443)] },
    },
  ];
}

export function documents(objects: readonly Manifest[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join('');
}
