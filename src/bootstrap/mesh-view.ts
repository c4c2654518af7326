/** The MeshView generators read, over one registry snapshot, one Istio config snapshot and the mesh settings. */
import type { Endpoint } from '../model/endpoint.ts';
import type { Hostname } from '../model/ids.ts';
import type { IstioConfigSnapshot } from '../config/istio-config.ts';
import type { MeshSettings, MeshView } from '../model/mesh-view.ts';
import type { NetworkGateway } from '../model/network.ts';
import type { Service } from '../model/service.ts';
import type { RegistrySnapshot } from '../registry/shards.ts';

export function meshView(reg: RegistrySnapshot, config: IstioConfigSnapshot, mesh: MeshSettings): MeshView {
  const endpointCache = new Map<Hostname, readonly Endpoint[]>();
  return {
    version: `${reg.version}.${config.version}`,
    mesh,
    services: (): readonly Service[] => reg.services(),
    service: (h) => reg.service(h),
    endpoints: (h) => {
      let eps = endpointCache.get(h);
      if (!eps) { eps = reg.endpoints(h); endpointCache.set(h, eps); }
      return eps;
    },
    gateways: (): readonly NetworkGateway[] => reg.gateways,
    istioGateways: () => config.gateways,
    destinationRules: () => config.destinationRules,
    virtualServices: () => config.virtualServices,
    peerAuthentications: () => config.peerAuthentications,
    sidecars: () => config.sidecars,
  };
}

/**
 * The current view, made once per (registry, config) snapshot so generators' per-view memos hold
 * across proxies; `onNew` sees each new one.
 */
export function cachedMeshView(
  registry: { snapshot(): RegistrySnapshot }, config: { snapshot(): IstioConfigSnapshot }, mesh: MeshSettings, onNew?: (view: MeshView) => void,
): () => MeshView {
  let last: { snapshot: RegistrySnapshot; config: IstioConfigSnapshot; view: MeshView } | undefined;
  return () => {
    const snapshot = registry.snapshot();
    const cfg = config.snapshot();
    if (last?.snapshot !== snapshot || last.config !== cfg) {
      last = { snapshot, config: cfg, view: meshView(snapshot, cfg, mesh) };
      onNew?.(last.view);
    }
    return last.view;
  };
}
