/**
 * The injector's configuration: ConfigMap `istio-sidecar-injector` in the system namespace of the
 * config cluster, keys `config` (YAML: policy, default templates, templates) and `values` (JSON:
 * hub, tag, proxy image, cluster, network, mesh config, ...), in the spirit of Istio's. The install
 * renders it (src/operator/render/injector.ts) from the same defaults as `defaultInjectorConfig`.
 * Pure; every error names the key and field.
 */
import { parse } from 'yaml';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import { DEFAULT_TEMPLATES } from './templates.ts';
import { parseTemplate, renderTemplate, type Template, type TemplateValue } from './template.ts';
import { SAMPLE_POD, podVariables } from './inject.ts';

export const INJECTOR_CONFIGMAP = 'istio-sidecar-injector';
/** Istio's proxy image; `values.global.hub` / `tag` / `proxy.image` replace the parts. */
export const DEFAULT_PROXY_HUB = 'docker.io/istio';
export const DEFAULT_PROXY_TAG = '1.28.0';

export type { InjectValues, InjectorConfig } from './types.ts';
import type { InjectValues, InjectorConfig } from './types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function at(o: unknown, path: string): unknown {
  let cur = o;
  for (const k of path.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function str(o: unknown, path: string, fallback: string): string {
  const v = at(o, path);
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: ${path} must be a string, got ${JSON.stringify(v)}`);
}

export interface ValueDefaults {
  readonly clusterName: string;
  readonly istioNamespace: string;
  readonly trustDomain: string;
}

/** `values` JSON (or YAML) text → typed values; absent fields take `defaults`. */
export function parseValues(text: string, defaults: ValueDefaults): InjectValues {
  let raw: unknown;
  try {
    raw = text.trim() === '' ? {} : parse(text, { maxAliasCount: 0 }) as unknown;
  } catch (err) {
    throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: not valid JSON: ${errorMessage(err)}`);
  }
  raw ??= {};
  if (!isObj(raw)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: must be an object`);
  const ns = str(raw, 'global.istioNamespace', defaults.istioNamespace);
  const revision = str(raw, 'revision', '');
  const istiod = revision === '' ? 'istiod' : `istiod-${revision}`;
  const mesh = at(raw, 'meshConfig');
  if (mesh !== undefined && mesh !== null && !isObj(mesh)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: meshConfig must be an object`);
  const dc = at(mesh, 'defaultConfig');
  if (dc !== undefined && dc !== null && !isObj(dc)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: meshConfig.defaultConfig must be an object`);
  const trustDomain = str(mesh, 'trustDomain', defaults.trustDomain);
  const proxyConfig: Record<string, TemplateValue> = { discoveryAddress: `${istiod}.${ns}.svc:15012`, ...(dc as Record<string, TemplateValue> | undefined) };
  const pm = proxyConfig['proxyMetadata'];
  if (pm !== undefined && pm !== null && (!isObj(pm) || Object.values(pm).some((v) => typeof v !== 'string'))) {
    throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key values: meshConfig.defaultConfig.proxyMetadata must map names to strings`);
  }
  const meshID = str(raw, 'global.meshID', typeof proxyConfig['meshId'] === 'string' && proxyConfig['meshId'] !== '' ? proxyConfig['meshId'] : trustDomain);
  return {
    hub: str(raw, 'global.hub', DEFAULT_PROXY_HUB),
    tag: str(raw, 'global.tag', DEFAULT_PROXY_TAG),
    proxyImage: str(raw, 'global.proxy.image', 'proxyv2'),
    imagePullPolicy: str(raw, 'global.imagePullPolicy', 'IfNotPresent'),
    istioNamespace: ns,
    revision,
    clusterName: str(raw, 'global.multiCluster.clusterName', defaults.clusterName),
    network: str(raw, 'global.network', ''),
    meshID,
    caAddress: str(raw, 'global.caAddress', ''),
    trustDomain,
    proxyConfig,
    raw: raw as Record<string, TemplateValue>,
  };
}

const CONFIG_KEYS = new Set(['policy', 'defaultTemplates', 'templates', 'injectedAnnotations']);

/**
 * The whole config from the ConfigMap's data. Missing templates fall back to the built-in ones, so a
 * ConfigMap can override one template only. Each template is test-rendered, so a template that uses an
 * unknown variable is refused when the ConfigMap is read, never when a pod is created.
 */
export function parseInjectorConfig(data: Readonly<Record<string, string>>, defaults: ValueDefaults): InjectorConfig {
  const values = parseValues(data['values'] ?? '', defaults);
  let cfg: unknown;
  try {
    cfg = parse(data['config'] ?? '', { maxAliasCount: 0 }) as unknown;
  } catch (err) {
    throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: not valid YAML: ${errorMessage(err)}`);
  }
  cfg ??= {};
  if (!isObj(cfg)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: must be a mapping`);
  for (const k of Object.keys(cfg)) {
    if (!CONFIG_KEYS.has(k)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: unknown field ${JSON.stringify(k)} (known: ${[...CONFIG_KEYS].join(', ')})`);
  }
  const policy = cfg['policy'] ?? 'enabled';
  if (policy !== 'enabled' && policy !== 'disabled') throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: policy must be enabled or disabled, got ${JSON.stringify(policy)}`);
  const templates = new Map<string, Template>();
  for (const [name, text] of Object.entries(DEFAULT_TEMPLATES)) templates.set(name, parseTemplate(name, text));
  const t = cfg['templates'];
  if (t !== undefined && t !== null) {
    if (!isObj(t)) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: templates must map names to YAML text`);
    for (const [name, text] of Object.entries(t)) {
      if (typeof text !== 'string') throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: templates.${name} must be text (a YAML block)`);
      templates.set(name, parseTemplate(name, text));
    }
  }
  const dt = cfg['defaultTemplates'] ?? ['sidecar'];
  if (!Array.isArray(dt) || dt.length === 0 || dt.some((x) => typeof x !== 'string' || !templates.has(x))) {
    throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: defaultTemplates must list known templates (have ${[...templates.keys()].join(', ')}), got ${JSON.stringify(dt)}`);
  }
  const ia = cfg['injectedAnnotations'] ?? {};
  if (!isObj(ia) || Object.values(ia).some((v) => typeof v !== 'string')) throw new IsthmusError(ErrorCodes.InjectConfigInvalid, `ConfigMap ${INJECTOR_CONFIGMAP} key config: injectedAnnotations must map names to strings`);
  const sampleVars = podVariables(SAMPLE_POD, values, { namespace: 'default', path: { env: [], warnings: [] } });
  for (const tpl of templates.values()) renderTemplate(tpl, sampleVars, values.raw);
  return { policy, defaultTemplates: dt as string[], templates, injectedAnnotations: ia as Record<string, string>, values };
}
