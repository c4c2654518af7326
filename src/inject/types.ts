/**
 * The injector's configuration as the injection code reads it: the parsed `values` and templates of
 * ConfigMap `istio-sidecar-injector` (parsed by config.ts). A module of its own so that config.ts,
 * which renders a sample pod with inject.ts to check the templates, and inject.ts do not import
 * each other.
 */
import type { Template, TemplateValue } from './template.ts';

export interface InjectValues {
  readonly hub: string;
  readonly tag: string;
  /** `proxyv2`, or a full image reference (contains `/`). */
  readonly proxyImage: string;
  readonly imagePullPolicy: string;
  readonly istioNamespace: string;
  readonly revision: string;
  readonly clusterName: string;
  readonly network: string;
  readonly meshID: string;
  /** `global.caAddress`; empty means the discovery address. */
  readonly caAddress: string;
  readonly trustDomain: string;
  /** meshConfig.defaultConfig (discoveryAddress, proxyMetadata, ...). */
  readonly proxyConfig: Readonly<Record<string, TemplateValue>>;
  /** The parsed `values` JSON, for `{{ values.x.y }}`. */
  readonly raw: Readonly<Record<string, TemplateValue>>;
}

export interface InjectorConfig {
  readonly policy: 'enabled' | 'disabled';
  readonly defaultTemplates: readonly string[];
  readonly templates: ReadonlyMap<string, Template>;
  /** Added to every injected pod's annotations. */
  readonly injectedAnnotations: Readonly<Record<string, string>>;
  readonly values: InjectValues;
}
