/**
 * Asking "the control plane" the way istioctl's multixds does (docs/istio-compat.md §14.3):
 *
 * - with an xDS address: one exchange with that address (an istiod, a load balancer, or our
 *   aggregating xds-proxy);
 * - without: list the Running control plane pods (`--xds-label`, default `app=istiod`) in the
 *   istio namespace through the kube API and ask each one. istioctl reaches each pod through a
 *   Kubernetes port-forward; isthmus dials the pod IP at `--xds-port` directly (no port-forward
 *   yet), so this works from inside the cluster network or wherever pod IPs route.
 *
 * `all` asks every pod and keeps the answers of those that replied (the others become warnings);
 * `first` tries pods in turn until one answers without "Proxy not connected" (config_dump).
 */
import { KubeClient } from '../../kube/client.ts';
import { listControlPlanePods } from '../../kube/control-plane-pods.ts';
import { ErrorCodes, IsthmusError, errorMessage, isIsthmusError } from '../../model/errors.ts';
import type { DiscoveryRequest, DiscoveryResponse } from '../../proto/types.ts';
import { XdsChannel, istioctlNode } from '../../xds/client/exchange.ts';
import { expectedAuthority, type XdsClientConfig } from './options.ts';
import { TokenSource } from './token.ts';
import { transportFor } from '../../xds/client/transport.ts';

export interface SourcedResponse {
  /** The pod name, or the xDS address when one was given. */
  readonly source: string;
  readonly response: DiscoveryResponse;
}

export interface GatherResult {
  readonly responses: readonly SourcedResponse[];
  /** One line per control plane pod that did not answer. */
  readonly warnings: readonly string[];
}

export interface GatherDeps {
  /** Injected kube client (tests); default: KubeClient.load from the config's kubeconfig/context. */
  readonly kube?: () => KubeClient;
}

const NOT_CONNECTED = /not connected/i;

function kubeOf(cfg: XdsClientConfig, deps: GatherDeps): KubeClient {
  return deps.kube ? deps.kube() : KubeClient.load({ kubeconfig: cfg.kubeconfig, context: cfg.context });
}

async function tokenFor(cfg: XdsClientConfig, deps: GatherDeps, needed: boolean): Promise<string | undefined> {
  if (!needed) return undefined;
  let client: KubeClient;
  try {
    client = kubeOf(cfg, deps);
  } catch (err) {
    throw new IsthmusError(ErrorCodes.AuthenticationFailed, `no token: the xDS server needs a bearer token minted from a kube context, and ${errorMessage(err)} (use --plaintext or --cert-dir for servers that need none)`, { cause: err });
  }
  return new TokenSource(client, cfg.istioNamespace).token();
}

function requestOf(cfg: XdsClientConfig, typeUrl: string, resourceNames: readonly string[]): DiscoveryRequest {
  // adsc fills response_nonce with a timestamp on every send; istiod treats it as an initial request.
  return { node: istioctlNode(cfg.istioNamespace), typeUrl, resourceNames: [...resourceNames], responseNonce: new Date().toISOString() };
}

async function ask(cfg: XdsClientConfig, address: string, req: DiscoveryRequest, token: string | undefined): Promise<DiscoveryResponse> {
  const channel = new XdsChannel(address, transportFor({ ...cfg, fallbackServerName: expectedAuthority(cfg) }, address));
  try {
    return await channel.exchange(req, { timeoutMs: cfg.timeoutMs, token });
  } finally {
    channel.close();
  }
}

function podAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export async function gather(cfg: XdsClientConfig, typeUrl: string, resourceNames: readonly string[], mode: 'all' | 'first', deps: GatherDeps = {}): Promise<GatherResult> {
  const req = requestOf(cfg, typeUrl, resourceNames);
  const needsToken = !cfg.plaintext && cfg.certDir === ''; // as transportFor: only TLS without a client certificate

  if (cfg.xdsAddress !== '') {
    const token = await tokenFor(cfg, deps, needsToken);
    return { responses: [{ source: cfg.xdsAddress, response: await ask(cfg, cfg.xdsAddress, req, token) }], warnings: [] };
  }
  const client = kubeOf(cfg, deps);
  const pods = await listControlPlanePods(client, cfg.istioNamespace, cfg.xdsLabel);
  if (pods.length === 0) {
    throw new IsthmusError(ErrorCodes.NoControlPlane, `no running Istio pods in ${JSON.stringify(cfg.istioNamespace)} (selector ${cfg.xdsLabel}, context ${JSON.stringify(client.contextName)}); set ISTIOCTL_XDS_ADDRESS/--xds-address to reach a control plane outside this cluster`);
  }
  const token = await tokenFor(cfg, { kube: () => client }, needsToken);
  const describe = (p: { name: string; ip: string }, err: unknown) => {
    const unreachable = isIsthmusError(err, ErrorCodes.XdsUnreachable)
      ? ' (isthmus dials pod IPs directly, it does not port-forward through the API server as istioctl does: run where pod IPs route, or use --xds-address)'
      : '';
    return `control plane pod ${p.name} (${podAddress(p.ip, cfg.xdsPort)}) did not answer: ${errorMessage(err)}${unreachable}`;
  };
  if (mode === 'first') {
    const errors: string[] = [];
    for (const p of pods) {
      try {
        return { responses: [{ source: p.name, response: await ask(cfg, podAddress(p.ip, cfg.xdsPort), req, token) }], warnings: [] };
      } catch (err) {
        if (!NOT_CONNECTED.test(errorMessage(err))) errors.push(describe(p, err));
      }
    }
    throw new IsthmusError(ErrorCodes.XdsFailed, `no control plane pod in ${cfg.istioNamespace} holds ${resourceNames.join(', ')}${errors.length ? `; ${errors.join('; ')}` : ''}`);
  }
  const settled = await Promise.allSettled(pods.map((p) => ask(cfg, podAddress(p.ip, cfg.xdsPort), req, token)));
  const responses: SourcedResponse[] = [];
  const warnings: string[] = [];
  let firstError: unknown;
  settled.forEach((s, i) => {
    const pod = pods[i];
    if (!pod) return;
    if (s.status === 'fulfilled') responses.push({ source: pod.name, response: s.value });
    else { firstError ??= s.reason; warnings.push(describe(pod, s.reason)); }
  });
  if (responses.length === 0) {
    if (isIsthmusError(firstError)) throw new IsthmusError(firstError.code, warnings.join('; '), { cause: firstError });
    throw new IsthmusError(ErrorCodes.XdsFailed, warnings.join('; '));
  }
  return { responses, warnings };
}
