/**
 * Istio networking config from the config cluster: `networking.istio.io` Gateways, DestinationRules
 * (their subsets), VirtualServices (virtual-service.ts) and Sidecars (sidecar.ts), and `security.istio.io`
 * PeerAuthentications (peer-authentication.ts), converted into the model the generators read. Objects that do not validate are skipped with a message naming the
 * object and field (code ISTHMUS_ISTIO_CONFIG_INVALID); the rest keep working.
 */
import type { KubeClient } from '../kube/client.ts';
import { informerSource, type InformerFactory, type InformerLike } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import { hostname as parseHostname } from '../model/ids.ts';
import { ErrorCodes } from '../model/errors.ts';
import type { DestinationRuleSubsets, IstioGateway, IstioGatewayServer, PeerAuthentication, SidecarConfig, VirtualService } from '../model/mesh-view.ts';
import { convertPeerAuthentication } from './peer-authentication.ts';
import { convertSidecar } from './sidecar.ts';
import { convertTrafficPolicy } from './traffic-policy.ts';
import { convertVirtualService } from './virtual-service.ts';
import type { Logger } from '../observability/log.ts';
import { type Result, isRecord, stringMap } from './fields.ts';

export interface IstioConfigSnapshot {
  readonly version: number;
  readonly gateways: readonly IstioGateway[];
  readonly destinationRules: readonly DestinationRuleSubsets[];
  readonly virtualServices: readonly VirtualService[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  readonly sidecars: readonly SidecarConfig[];
}

export const EMPTY_CONFIG: IstioConfigSnapshot = { version: 0, gateways: [], destinationRules: [], virtualServices: [], peerAuthentications: [], sidecars: [] };

interface IstioObject extends KubeObject { readonly spec?: unknown }

const TLS_MODES = ['PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'] as const;

/** A Gateway's spec, validated. */
export function convertGateway(obj: IstioObject): Result<IstioGateway> {
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) return { ok: false, error: 'spec: want an object' };
  const selector = stringMap(spec['selector'], 'spec.selector');
  if (!selector.ok) return selector;
  const rawServers = spec['servers'] ?? [];
  if (!Array.isArray(rawServers)) return { ok: false, error: 'spec.servers: want a list' };
  const servers: IstioGatewayServer[] = [];
  for (const [i, s] of rawServers.entries()) {
    const at = `spec.servers[${i}]`;
    if (!isRecord(s) || !isRecord(s['port'])) return { ok: false, error: `${at}.port: required` };
    const port = s['port'];
    const number = port['number'];
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) return { ok: false, error: `${at}.port.number: want 1-65535` };
    const hosts = s['hosts'];
    if (!Array.isArray(hosts) || hosts.length === 0 || !hosts.every((h) => typeof h === 'string' && h !== '')) return { ok: false, error: `${at}.hosts: want a non-empty list of host names` };
    const base = {
      port: { number, name: typeof port['name'] === 'string' ? port['name'] : '', protocol: typeof port['protocol'] === 'string' ? port['protocol'].toUpperCase() : '' },
      hosts: hosts as string[],
    };
    if (s['tls'] === undefined) { servers.push(base); continue; }
    const tls = s['tls'];
    const mode = isRecord(tls) ? tls['mode'] ?? 'SIMPLE' : undefined;
    if (typeof mode !== 'string' || !(TLS_MODES as readonly string[]).includes(mode)) return { ok: false, error: `${at}.tls.mode: want one of ${TLS_MODES.join(', ')}` };
    servers.push({ ...base, tls: { mode: mode as (typeof TLS_MODES)[number] } });
  }
  return { ok: true, value: { name: obj.metadata.name, namespace: obj.metadata.namespace ?? '', selector: selector.value, servers } };
}

/**
 * A DestinationRule's host (short names resolve in the rule's namespace), subsets and traffic
 * policies; `notes` collects the parts Isthmus does not apply.
 */
export function convertDestinationRule(obj: IstioObject, domainSuffix = 'cluster.local', notes: string[] = []): Result<DestinationRuleSubsets> {
  const spec = obj.spec ?? {};
  if (!isRecord(spec)) return { ok: false, error: 'spec: want an object' };
  const host = spec['host'];
  if (typeof host !== 'string' || host === '') return { ok: false, error: 'spec.host: required' };
  const ns = obj.metadata.namespace ?? '';
  const fqdn = host.includes('.') ? host : `${host}.${ns}.svc.${domainSuffix}`;
  let parsed;
  try { parsed = parseHostname(fqdn); } catch { return { ok: false, error: `spec.host: ${JSON.stringify(host)} is not a host name` }; }
  const raw = spec['subsets'] ?? [];
  if (!Array.isArray(raw)) return { ok: false, error: 'spec.subsets: want a list' };
  const subsets: DestinationRuleSubsets['subsets'][number][] = [];
  for (const [i, s] of raw.entries()) {
    if (!isRecord(s) || typeof s['name'] !== 'string' || s['name'] === '') return { ok: false, error: `spec.subsets[${i}].name: required` };
    const labels = stringMap(s['labels'], `spec.subsets[${i}].labels`);
    if (!labels.ok) return labels;
    const policy = convertTrafficPolicy(s['trafficPolicy'], `spec.subsets[${i}].trafficPolicy`, notes);
    if (!policy.ok) return policy;
    subsets.push({ name: s['name'], labels: labels.value, ...(policy.value ? { trafficPolicy: policy.value } : {}) });
  }
  const policy = convertTrafficPolicy(spec['trafficPolicy'], 'spec.trafficPolicy', notes);
  if (!policy.ok) return policy;
  return { ok: true, value: { host: parsed, namespace: ns, subsets, ...(policy.value ? { trafficPolicy: policy.value } : {}) } };
}

/** The collections the watcher lists and watches. */
export const ISTIO_CONFIG_PATHS = {
  gateways: '/apis/networking.istio.io/v1/gateways',
  destinationrules: '/apis/networking.istio.io/v1/destinationrules',
  virtualservices: '/apis/networking.istio.io/v1/virtualservices',
  peerauthentications: '/apis/security.istio.io/v1/peerauthentications',
  sidecars: '/apis/networking.istio.io/v1/sidecars',
} as const;

/**
 * Watches Gateways, DestinationRules, VirtualServices, Sidecars and PeerAuthentications in every namespace of
 * the config cluster. `security.istio.io/v1` also serves objects written as v1beta1 (one storage).
 */
export class IstioConfigWatcher {
  readonly #gateways: InformerLike<IstioObject>;
  readonly #rules: InformerLike<IstioObject>;
  readonly #virtualServices: InformerLike<IstioObject>;
  readonly #peerAuthentications: InformerLike<IstioObject>;
  readonly #sidecars: InformerLike<IstioObject>;
  readonly #domainSuffix: string;
  readonly #rootNamespace: string;
  readonly #onChange: () => void;
  readonly #log: Logger;
  #version = 0;
  #snapshot: IstioConfigSnapshot = EMPTY_CONFIG;
  #dirty = true;

  /**
   * `source`: the config cluster's client, or a factory of informers (tests). `rootNamespace`: where
   * mesh-wide policies live (the control plane's system namespace).
   */
  constructor(source: KubeClient | InformerFactory, opts: { domainSuffix: string; rootNamespace: string; onChange: () => void; log: Logger }) {
    const make = informerSource(source);
    this.#gateways = make<IstioObject>({ path: ISTIO_CONFIG_PATHS.gateways, maxBackoffMs: 30_000 });
    this.#rules = make<IstioObject>({ path: ISTIO_CONFIG_PATHS.destinationrules, maxBackoffMs: 30_000 });
    this.#virtualServices = make<IstioObject>({ path: ISTIO_CONFIG_PATHS.virtualservices, maxBackoffMs: 30_000 });
    this.#peerAuthentications = make<IstioObject>({ path: ISTIO_CONFIG_PATHS.peerauthentications, maxBackoffMs: 30_000 });
    this.#sidecars = make<IstioObject>({ path: ISTIO_CONFIG_PATHS.sidecars, maxBackoffMs: 30_000 });
    this.#domainSuffix = opts.domainSuffix;
    this.#rootNamespace = opts.rootNamespace;
    this.#onChange = opts.onChange;
    this.#log = opts.log;
    const changed = { onAdd: () => { this.#changed(); }, onUpdate: () => { this.#changed(); }, onDelete: () => { this.#changed(); } };
    this.#gateways.on(changed);
    this.#rules.on(changed);
    this.#virtualServices.on(changed);
    this.#peerAuthentications.on(changed);
    this.#sidecars.on(changed);
  }

  start(): void {
    this.#gateways.start();
    this.#rules.start();
    this.#virtualServices.start();
    this.#peerAuthentications.start();
    this.#sidecars.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#gateways.stop(), this.#rules.stop(), this.#virtualServices.stop(), this.#peerAuthentications.stop(), this.#sidecars.stop()]);
  }

  /** Informer health, e.g. to report that the Istio CRDs are not installed. */
  status() {
    return { gateways: this.#gateways.status(), destinationrules: this.#rules.status(), virtualservices: this.#virtualServices.status(), peerauthentications: this.#peerAuthentications.status(), sidecars: this.#sidecars.status() };
  }

  #changed(): void {
    this.#version++;
    this.#dirty = true;
    this.#onChange();
  }

  /** The current config; the same object until something changes. */
  snapshot(): IstioConfigSnapshot {
    if (!this.#dirty) return this.#snapshot;
    const gateways: IstioGateway[] = [];
    for (const g of this.#gateways.list()) {
      const r = convertGateway(g);
      if (r.ok) gateways.push(r.value);
      else this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] Gateway ${g.metadata.namespace ?? ''}/${g.metadata.name} ignored: ${r.error}`);
    }
    const rules: DestinationRuleSubsets[] = [];
    for (const d of this.#rules.list()) {
      const notes: string[] = [];
      const id = `DestinationRule ${d.metadata.namespace ?? ''}/${d.metadata.name}`;
      const r = convertDestinationRule(d, this.#domainSuffix, notes);
      if (!r.ok) { this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] ${id} ignored: ${r.error}`); continue; }
      rules.push(r.value);
      for (const note of notes) this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] ${id}: ${note}`);
    }
    const virtualServices: VirtualService[] = [];
    for (const v of this.#virtualServices.list()) {
      const r = convertVirtualService(v, this.#domainSuffix);
      if (r.ok) virtualServices.push(r.value);
      else this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] VirtualService ${v.metadata.namespace ?? ''}/${v.metadata.name} ignored: ${r.error}`);
    }
    const peerAuthentications: PeerAuthentication[] = [];
    for (const p of this.#peerAuthentications.list()) {
      const r = convertPeerAuthentication(p, this.#rootNamespace);
      if (r.ok) peerAuthentications.push(r.value);
      else this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] PeerAuthentication ${p.metadata.namespace ?? ''}/${p.metadata.name} ignored: ${r.error}`);
    }
    const sidecars: SidecarConfig[] = [];
    for (const o of this.#sidecars.list()) {
      const id = `Sidecar ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      const r = convertSidecar(o, this.#rootNamespace);
      if (!r.ok) { this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] ${id} ignored: ${r.error}`); continue; }
      sidecars.push(r.value);
      for (const note of r.notes) this.#log.warn(`[${ErrorCodes.IstioConfigInvalid}] ${id}: ${note}`);
    }
    const byName = (a: { namespace: string; name?: string; host?: string }, b: { namespace: string; name?: string; host?: string }) =>
      `${a.namespace}/${a.name ?? a.host ?? ''}`.localeCompare(`${b.namespace}/${b.name ?? b.host ?? ''}`);
    this.#snapshot = { version: this.#version, gateways: gateways.sort(byName), destinationRules: rules.sort(byName), virtualServices: virtualServices.sort(byName), peerAuthentications: peerAuthentications.sort(byName), sidecars: sidecars.sort(byName) };
    this.#dirty = false;
    return this.#snapshot;
  }
}
