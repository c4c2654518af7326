/**
 * Every environment variable the control plane reads, with its default and meaning, in one place
 * (istiod's pilot/pkg/features). Parsed once at start-up into a plain object that is passed down;
 * nothing reads process.env at import time.
 */
import { parseDuration } from '../model/duration.ts';
import { ErrorCodes, IsthmusError } from '../model/errors.ts';

type Kind = 'string' | 'bool' | 'duration' | 'int';

interface FeatureSpec<K extends Kind> {
  readonly env: string;
  readonly kind: K;
  readonly default: K extends 'bool' ? boolean : K extends 'string' ? string : number;
  readonly description: string;
}

function f<K extends Kind>(env: string, kind: K, def: FeatureSpec<K>['default'], description: string): FeatureSpec<K> {
  return { env, kind, default: def, description };
}

export const FEATURES = {
  clusterId: f('CLUSTER_ID', 'string', 'Kubernetes', 'id of the cluster the control plane runs in (its config cluster)'),
  podName: f('POD_NAME', 'string', '', 'this replica\'s name; defaults to the host name'),
  podNamespace: f('POD_NAMESPACE', 'string', 'istio-system', 'the system namespace'),
  externalIstiod: f('EXTERNAL_ISTIOD', 'bool', false, 'one control plane serves remote clusters, including their CA and namespace controller'),
  localClusterSecretWatcher: f('LOCAL_CLUSTER_SECRET_WATCHER', 'bool', false, 'with EXTERNAL_ISTIOD, watch remote secrets in the cluster the control plane runs in'),
  remoteClusterTimeout: f('PILOT_REMOTE_CLUSTER_TIMEOUT', 'duration', 30_000, 'how long readiness waits for a remote cluster to sync'),
  debounceAfter: f('PILOT_DEBOUNCE_AFTER', 'duration', 100, 'quiet time before a push'),
  debounceMax: f('PILOT_DEBOUNCE_MAX', 'duration', 10_000, 'longest a push waits for quiet'),
  pushThrottle: f('PILOT_PUSH_THROTTLE', 'int', 100, 'pushes running at once'),
  debugEndpointAuth: f('ENABLE_DEBUG_ENDPOINT_AUTH', 'bool', true, 'debug types over xDS need a verified identity'),
  xdsIdentityCheck: f('PILOT_ENABLE_XDS_IDENTITY_CHECK', 'bool', true, 'a verified identity must match the proxy\'s namespace'),
  trustDomain: f('TRUST_DOMAIN', 'string', 'cluster.local', 'SPIFFE trust domain (mesh config trustDomain)'),
  tokenAudiences: f('TOKEN_AUDIENCES', 'string', 'istio-ca', 'accepted service-account token audiences, comma separated'),
  xdsSendTimeout: f('PILOT_XDS_SEND_TIMEOUT', 'duration', 30_000, 'an xDS stream whose pending responses make no progress (under 4 KiB reach its connection) for this long is ended (DEADLINE_EXCEEDED, then reset); 0 disables. Isthmus\'s own: istiod has no send timeout'),
  xdsMaxStreamsPerConnection: f('ISTHMUS_XDS_MAX_STREAMS_PER_CONNECTION', 'int', 100, 'ADS streams one HTTP/2 connection may hold; more are refused (RESOURCE_EXHAUSTED)'),
  xdsMaxStreamsPerIdentity: f('ISTHMUS_XDS_MAX_STREAMS_PER_IDENTITY', 'int', 1000, 'ADS streams one verified identity (service account of a cluster) may hold; raise it for service accounts with more pods'),
} as const;

export type FeatureName = keyof typeof FEATURES;
export type Features = { readonly [K in FeatureName]: (typeof FEATURES)[K]['default'] extends boolean ? boolean : (typeof FEATURES)[K]['default'] extends string ? string : number };

function parseOne(spec: FeatureSpec<Kind>, raw: string): boolean | string | number {
  switch (spec.kind) {
    case 'string': return raw;
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 't', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'f', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new IsthmusError(ErrorCodes.Usage, `${spec.env}=${JSON.stringify(raw)}: not a boolean (want true or false)`);
    }
    case 'duration': return parseDuration(raw, spec.env);
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new IsthmusError(ErrorCodes.Usage, `${spec.env}=${JSON.stringify(raw)}: not an integer`);
      return Number(raw);
    }
  }
}

/** Reads every feature from `env`; a malformed value is an error naming the variable. */
export function loadFeatures(env: Readonly<Record<string, string | undefined>>): Features {
  const out: Record<string, boolean | string | number> = {};
  for (const [key, spec] of Object.entries(FEATURES) as [FeatureName, FeatureSpec<Kind>][]) {
    const raw = env[spec.env];
    out[key] = raw === undefined ? spec.default : parseOne(spec, raw);
  }
  return out as Features;
}

/** `NAME (default): description` lines, for `--help`. */
export function describeFeatures(): string {
  return Object.values(FEATURES).map((s) => `  ${s.env} (default ${JSON.stringify(s.default)}): ${s.description}`).join('\n');
}
