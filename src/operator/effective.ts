/**
 * The resolved install settings: every default applied, every name computed, so the renderers
 * are simple functions of this object. Pure.
 */
import { DEFAULT_PROXY_HUB, DEFAULT_PROXY_TAG } from '../inject/config.ts';
import { VERSION } from '../version.ts';
import type { ProfileName } from './iop-schema.ts';
import { isObject, type Json, type JsonObject, type MergedIop } from './iop.ts';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Json;
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly targetPort: number | string;
  readonly protocol: string;
  readonly nodePort?: number;
}

export interface GatewayDef {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: readonly EnvVar[];
  readonly serviceType: string;
  readonly ports: readonly ServicePort[];
  readonly replicas: number;
  /** Istio's proxy image (`<hub>/proxyv2:<tag>`), which runs `pilot-agent proxy router`. */
  readonly image: string;
  readonly k8s: JsonObject;
}

export interface Effective {
  /** IstioOperator metadata.name: the owner recorded on every rendered object. */
  readonly name: string;
  readonly profile: ProfileName;
  readonly revision: string;
  readonly namespace: string;
  readonly image: string;
  readonly imagePullPolicy: string | undefined;
  readonly clusterName: string;
  readonly network: string;
  readonly meshID: string;
  readonly remotePilotAddress: string;
  readonly externalIstiod: boolean | undefined;
  readonly configCluster: boolean;
  readonly base: boolean;
  readonly pilot: boolean;
  /** Pilot renders support objects only (no Deployment): the remote profile. */
  readonly istiodRemote: boolean;
  readonly configMap: boolean;
  readonly readerRBAC: boolean;
  readonly readerServiceAccount: string;
  readonly injectionPath: string;
  readonly injectionURL: string;
  readonly injectionCABundle: string;
  readonly pilotEnv: readonly EnvVar[];
  readonly pilotReplicas: number;
  readonly pilotK8s: JsonObject;
  readonly meshConfig: JsonObject;
  readonly gateways: readonly GatewayDef[];
  /** The sidecar injector's settings (render/injector.ts). */
  readonly injector: InjectorSettings;
}

export interface InjectorSettings {
  /** values.global.hub / tag as given (empty: the injector's defaults for Istio's proxy image). */
  readonly hub: string;
  readonly tag: string;
  /** values.global.proxy.image (default proxyv2). */
  readonly proxyImage: string;
  readonly caAddress: string;
  /** values.global.omitSidecarInjectorConfigMap. */
  readonly omitConfigMap: boolean;
  /** values.sidecarInjectorWebhook.templates: name → template text (Isthmus's format). */
  readonly templates: Readonly<Record<string, Json>>;
}

function at(o: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = o;
  for (const k of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[k];
  }
  return cur ?? undefined;
}
const s = (o: Json | undefined, path: string): string | undefined => {
  const v = at(o, path);
  return v === undefined || v === null ? undefined : typeof v === 'object' ? undefined : String(v);
};
const b = (o: Json | undefined, path: string): boolean | undefined => {
  const v = at(o, path);
  return typeof v === 'boolean' ? v : undefined;
};
const n = (o: Json | undefined, path: string): number | undefined => {
  const v = at(o, path);
  return typeof v === 'number' ? v : undefined;
};
const obj = (o: Json | undefined, path: string): JsonObject => {
  const v = at(o, path);
  return isObject(v) ? v : {};
};

/** A validated scalar as text (objects never reach here after validation, but stay printable). */
function text(v: Json | undefined): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function imageRef(hub: string, name: string, tag: string): string {
  return name.includes('/') ? name : `${hub}/${name}:${tag}`;
}

const DEFAULT_INGRESS_PORTS: readonly ServicePort[] = [
  { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
  { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
  { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
];

function envList(list: Json | undefined): EnvVar[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((e) => {
    const name = text(e['name']);
    if (e['valueFrom'] !== undefined && e['valueFrom'] !== null) return { name, valueFrom: e['valueFrom'] };
    const v = e['value'];
    return { name, value: text(v) };
  });
}

/**
 * The gateways' proxy image: the component's hub/tag, else values.global.hub/tag, else Istio's
 * (the same defaults the injector uses); values.global.proxy.image names the image or replaces it whole.
 */
function gatewayDefs(spec: JsonObject, namespace: string, hub: string, tag: string, proxyImage: string): GatewayDef[] {
  const list = at(spec, 'components.ingressGateways');
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).filter((g) => g['enabled'] === true).map((g) => {
    const name = s(g, 'name') ?? 'istio-ingressgateway';
    const k8s = obj(g, 'k8s');
    const ports = at(k8s, 'service.ports');
    const labels: Record<string, string> = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
    for (const [k, v] of Object.entries(obj(g, 'label'))) labels[k] = text(v);
    return {
      name,
      namespace: s(g, 'namespace') ?? namespace,
      labels,
      env: envList(k8s['env']),
      serviceType: s(k8s, 'service.type') ?? 'LoadBalancer',
      ports: Array.isArray(ports)
        ? ports.filter(isObject).map((p) => ({
          name: text(p['name']),
          port: Number(p['port']),
          targetPort: typeof p['targetPort'] === 'number' || typeof p['targetPort'] === 'string' ? p['targetPort'] : Number(p['port']),
          protocol: s(p, 'protocol') ?? 'TCP',
          ...(typeof p['nodePort'] === 'number' ? { nodePort: p['nodePort'] } : {}),
        }))
        : DEFAULT_INGRESS_PORTS,
      replicas: n(k8s, 'replicaCount') ?? 1,
      image: imageRef(s(g, 'hub') ?? hub, proxyImage, s(g, 'tag') ?? tag),
      k8s,
    };
  });
}

export function resolve(iop: MergedIop): Effective {
  const spec = iop.spec;
  const v = obj(spec, 'values');
  const namespace = s(v, 'global.istioNamespace') ?? s(spec, 'namespace') ?? 'istio-system';
  const hub = s(spec, 'components.pilot.hub') ?? s(v, 'global.hub') ?? s(spec, 'hub') ?? 'isthmus';
  const tag = s(spec, 'components.pilot.tag') ?? s(v, 'global.tag') ?? s(spec, 'tag') ?? VERSION;
  const istiodRemote = b(v, 'istiodRemote.enabled') ?? false;
  const configCluster = b(v, 'global.configCluster') ?? false;
  const pilotEnv = Object.entries(obj(v, 'pilot.env')).map(([name, val]) => ({ name, value: text(val) }));
  return {
    name: iop.name,
    profile: iop.profile,
    revision: s(spec, 'revision') ?? s(v, 'revision') ?? '',
    namespace,
    image: imageRef(hub, s(v, 'pilot.image') ?? 'isthmus', tag),
    imagePullPolicy: s(v, 'global.imagePullPolicy'),
    clusterName: s(v, 'global.multiCluster.clusterName') ?? 'Kubernetes',
    network: s(v, 'global.network') ?? '',
    meshID: s(v, 'global.meshID') ?? '',
    remotePilotAddress: s(v, 'global.remotePilotAddress') ?? '',
    externalIstiod: b(v, 'global.externalIstiod'),
    configCluster,
    base: b(spec, 'components.base.enabled') ?? false,
    pilot: (b(spec, 'components.pilot.enabled') ?? false) && (b(v, 'pilot.enabled') ?? true),
    istiodRemote,
    configMap: b(v, 'pilot.configMap') ?? (!istiodRemote || configCluster),
    readerRBAC: b(v, 'global.enableReaderRBAC') ?? true,
    readerServiceAccount: s(v, 'global.readerServiceAccount') ?? 'istio-reader-service-account',
    injectionPath: s(v, 'istiodRemote.injectionPath') ?? '/inject',
    injectionURL: s(v, 'istiodRemote.injectionURL') ?? '',
    injectionCABundle: s(v, 'istiodRemote.injectionCABundle') ?? '',
    pilotEnv,
    pilotReplicas: n(v, 'pilot.replicaCount') ?? 1,
    pilotK8s: obj(spec, 'components.pilot.k8s'),
    meshConfig: obj(spec, 'meshConfig'),
    injector: {
      hub: s(v, 'global.hub') ?? s(spec, 'hub') ?? '',
      tag: s(v, 'global.tag') ?? s(spec, 'tag') ?? '',
      proxyImage: s(v, 'global.proxy.image') ?? 'proxyv2',
      caAddress: s(v, 'global.caAddress') ?? '',
      omitConfigMap: b(v, 'global.omitSidecarInjectorConfigMap') ?? false,
      templates: obj(v, 'sidecarInjectorWebhook.templates'),
    },
    gateways: gatewayDefs(spec, namespace, s(v, 'global.hub') ?? s(spec, 'hub') ?? DEFAULT_PROXY_HUB, s(v, 'global.tag') ?? s(spec, 'tag') ?? DEFAULT_PROXY_TAG, s(v, 'global.proxy.image') ?? 'proxyv2'),
  };
}

/** `istiod` or `istiod-<rev>`. */
export function istiodName(e: Pick<Effective, 'revision'>): string {
  return e.revision === '' ? 'istiod' : `istiod-${e.revision}`;
}

/** The revision label value: `default` for the default revision. */
export function revLabel(e: Pick<Effective, 'revision'>): string {
  return e.revision === '' ? 'default' : e.revision;
}
