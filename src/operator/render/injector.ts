/**
 * ConfigMap `istio-sidecar-injector[-<rev>]`: what the control plane's injection webhook reads
 * (src/inject/config.ts). Key `config` (YAML): policy, default templates and the templates (the
 * built-in `sidecar`, `gateway`, `grpc-agent`, plus `values.sidecarInjectorWebhook.templates`);
 * key `values` (JSON): proxy image, cluster, network, mesh id, CA address and the mesh config.
 * Rendered where a control plane reads it: the primary, or a remote that is a config cluster, unless
 * `values.global.omitSidecarInjectorConfigMap` (Istio's remote profile sets it).
 */
import { stringify } from 'yaml';
import { INJECTOR_CONFIGMAP, parseInjectorConfig } from '../../inject/config.ts';
import { DEFAULT_TEMPLATES } from '../../inject/templates.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../../model/errors.ts';
import { revLabel, type Effective } from '../effective.ts';
import type { JsonObject } from '../iop.ts';
import { meshConfig } from './pilot.ts';
import type { Manifest } from './types.ts';

export function injectorValues(e: Effective): JsonObject {
  return {
    global: {
      ...(e.injector.hub === '' ? {} : { hub: e.injector.hub }),
      ...(e.injector.tag === '' ? {} : { tag: e.injector.tag }),
      proxy: { image: e.injector.proxyImage },
      ...(e.imagePullPolicy === undefined ? {} : { imagePullPolicy: e.imagePullPolicy }),
      istioNamespace: e.namespace,
      meshID: e.meshID,
      network: e.network,
      multiCluster: { clusterName: e.clusterName },
      caAddress: e.injector.caAddress,
    },
    revision: e.revision,
    meshConfig: meshConfig(e),
  };
}

export function injectorConfigMap(e: Effective): Manifest[] {
  if (!e.pilot || e.injector.omitConfigMap || (e.istiodRemote && !e.configCluster)) return [];
  const templates: Record<string, string> = { ...DEFAULT_TEMPLATES };
  for (const [name, t] of Object.entries(e.injector.templates)) {
    if (typeof t !== 'string') throw new IsthmusError(ErrorCodes.OperatorInvalid, `invalid IstioOperator (nothing was applied):\n  spec.values.sidecarInjectorWebhook.templates.${name}: must be template text (a YAML block)`);
    templates[name] = t;
  }
  const data = {
    config: stringify({ policy: 'enabled', defaultTemplates: ['sidecar'], templates }, { lineWidth: 0 }),
    values: JSON.stringify(injectorValues(e), null, 2),
  };
  try {
    parseInjectorConfig(data, { clusterName: e.clusterName, istioNamespace: e.namespace, trustDomain: 'cluster.local' });
  } catch (err) {
    throw new IsthmusError(ErrorCodes.OperatorInvalid, `invalid IstioOperator (nothing was applied):\n  spec.values.sidecarInjectorWebhook.templates: ${errorMessage(err)}`);
  }
  return [{
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: e.revision === '' ? INJECTOR_CONFIGMAP : `${INJECTOR_CONFIGMAP}-${e.revision}`,
      namespace: e.namespace,
      labels: { 'istio.io/rev': revLabel(e), release: 'istio' },
    },
    data,
  }];
}
