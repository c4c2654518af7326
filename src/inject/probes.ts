/**
 * Probe rewriting (Istio's `sidecar.istio.io/rewriteAppHTTPProbers`, on by default): the kubelet
 * probes from outside the pod in plaintext, which a STRICT PeerAuthentication refuses at the sidecar.
 * So each app container's HTTP and TCP probes are pointed at pilot-agent's status port
 * (`/app-health/<container>/readyz|livez|startupz` on 15020, which istio-init leaves alone), and the
 * original probes travel to pilot-agent in `ISTIO_KUBE_APP_PROBERS` (JSON, keyed by that path), which
 * it runs from inside the pod. Pure.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export const STATUS_PORT = 15020;
export const REWRITE_ANNOTATION = 'sidecar.istio.io/rewriteAppHTTPProbers';
export const PROBERS_ENV = 'ISTIO_KUBE_APP_PROBERS';

const KINDS = [['readinessProbe', 'readyz'], ['livenessProbe', 'livez'], ['startupProbe', 'startupz']] as const;

/** A named container port as its number; numbers (or numeric strings) as they are. */
function portNumber(port: unknown, container: Obj): number | string | undefined {
  if (typeof port === 'number') return port;
  if (typeof port !== 'string') return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (Array.isArray(container['ports']) ? container['ports'] : []).filter(isObj).find((p) => p['name'] === port);
  return typeof named?.['containerPort'] === 'number' ? named['containerPort'] : port;
}

export interface RewrittenProbes {
  readonly containers: Obj[];
  /** Path -> original probe, for pilot-agent; empty when nothing was rewritten. */
  readonly probers: Record<string, Obj>;
}

/** Rewrites the probes of every container but `proxyName`, unless the annotation says `false`. */
export function rewriteProbes(containers: readonly Obj[], annotations: Readonly<Record<string, string>>, proxyName: string): RewrittenProbes {
  const probers: Record<string, Obj> = {};
  if (annotations[REWRITE_ANNOTATION] === 'false') return { containers: [...containers], probers };
  const out = containers.map((c) => {
    if (c['name'] === proxyName) return c;
    let next: Obj = c;
    for (const [field, kind] of KINDS) {
      const probe = c[field];
      if (!isObj(probe)) continue;
      const path = `/app-health/${String(c['name'])}/${kind}`;
      const timeout = typeof probe['timeoutSeconds'] === 'number' ? probe['timeoutSeconds'] : 1;
      let original: Obj | undefined;
      if (isObj(probe['httpGet'])) {
        const h = probe['httpGet'];
        original = { httpGet: { ...h, port: portNumber(h['port'], c), scheme: typeof h['scheme'] === 'string' ? h['scheme'] : 'HTTP' }, timeoutSeconds: timeout };
      } else if (isObj(probe['tcpSocket'])) {
        original = { tcpSocket: { ...probe['tcpSocket'], port: portNumber(probe['tcpSocket']['port'], c) }, timeoutSeconds: timeout };
      }
      if (original === undefined) continue; // exec probes run inside the container: nothing to do
      probers[path] = original;
      const { httpGet: _h, tcpSocket: _t, ...rest } = probe;
      next = { ...next, [field]: { ...rest, httpGet: { path, port: STATUS_PORT, scheme: 'HTTP' } } };
    }
    return next;
  });
  return { containers: out, probers };
}
