/**
 * Whether a pod gets a proxy, and which templates: Istio's documented selection rules
 * ("Installing the Sidecar", "Controlling the injection policy"; docs/istio-compat.md §12). Pure.
 *
 * In order, the first rule that applies decides:
 * 1. `spec.hostNetwork: true` → no (the proxy's iptables would capture the node's traffic).
 * 2. Namespaces `kube-system`, `kube-public` → no.
 * 3. Already injected (annotation `sidecar.istio.io/status`, or an `istio-proxy` container whose image
 *    is not `auto`) → no, and the pod is left unchanged: re-injection is idempotent.
 * 4. Namespace label `istio-injection=disabled` → no (it wins over everything below).
 * 5. Pod label `sidecar.istio.io/inject` (else the annotation of that name, deprecated): `true` → yes,
 *    `false` → no (other values: no).
 * 6. Namespace label `istio-injection=enabled`, or `istio.io/rev` naming this revision → yes; an
 *    `istio.io/rev` naming another revision → no. Pod label `istio.io/rev` likewise.
 * 7. Otherwise: when the namespace's labels are known, no (nothing selected the pod); when they are not
 *    (the API server's selectors already chose), the config's `policy` (`enabled` → yes).
 */
export const ANNOTATION_STATUS = 'sidecar.istio.io/status';
export const KEY_INJECT = 'sidecar.istio.io/inject';
export const KEY_TEMPLATES = 'inject.istio.io/templates';
export const LABEL_INJECTION = 'istio-injection';
export const LABEL_REV = 'istio.io/rev';
export const PROXY_CONTAINER = 'istio-proxy';
const IGNORED_NAMESPACES = new Set(['kube-system', 'kube-public']);

export interface PodView {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hostNetwork: boolean;
  readonly containers: readonly { readonly name: string; readonly image?: string }[];
}

export interface Decision {
  readonly inject: boolean;
  readonly reason: string;
}

/** Istio reads y, yes, true, on (any case) as yes; anything else as no. */
function truthy(v: string): boolean {
  return ['true', 'y', 'yes', 'on'].includes(v.trim().toLowerCase());
}

export function alreadyInjected(pod: Pick<PodView, 'annotations' | 'containers'>): boolean {
  if (pod.annotations[ANNOTATION_STATUS] !== undefined) return true;
  return pod.containers.some((c) => c.name === PROXY_CONTAINER && c.image !== 'auto');
}

/** `revision` is this control plane's (`default` for none). */
export function decide(pod: PodView, nsLabels: Readonly<Record<string, string>> | undefined, revision: string, policy: 'enabled' | 'disabled'): Decision {
  if (pod.hostNetwork) return { inject: false, reason: 'pod uses the host network' };
  if (IGNORED_NAMESPACES.has(pod.namespace)) return { inject: false, reason: `namespace ${pod.namespace} is never injected` };
  if (alreadyInjected(pod)) return { inject: false, reason: 'pod already has a proxy (sidecar.istio.io/status or istio-proxy container)' };
  if (nsLabels?.[LABEL_INJECTION] === 'disabled') return { inject: false, reason: 'namespace labelled istio-injection=disabled' };
  const explicit = pod.labels[KEY_INJECT] ?? pod.annotations[KEY_INJECT];
  if (explicit !== undefined) {
    return truthy(explicit)
      ? { inject: true, reason: `pod ${KEY_INJECT}=${explicit}` }
      : { inject: false, reason: `pod ${KEY_INJECT}=${explicit}` };
  }
  const podRev = pod.labels[LABEL_REV];
  if (podRev !== undefined) {
    return podRev === revision ? { inject: true, reason: `pod ${LABEL_REV}=${podRev}` } : { inject: false, reason: `pod ${LABEL_REV}=${podRev} names another revision` };
  }
  if (nsLabels !== undefined) {
    if (nsLabels[LABEL_INJECTION] === 'enabled') return revision === 'default' ? { inject: true, reason: 'namespace labelled istio-injection=enabled' } : { inject: false, reason: 'istio-injection=enabled selects the default revision' };
    const nsRev = nsLabels[LABEL_REV];
    if (nsRev !== undefined) return nsRev === revision ? { inject: true, reason: `namespace ${LABEL_REV}=${nsRev}` } : { inject: false, reason: `namespace ${LABEL_REV}=${nsRev} names another revision` };
    return { inject: false, reason: 'neither the namespace nor the pod selects injection' };
  }
  return policy === 'enabled' ? { inject: true, reason: 'selected by the webhook (policy enabled)' } : { inject: false, reason: 'policy disabled and the pod does not ask for injection' };
}

/** Templates the pod asks for (`inject.istio.io/templates`, label or annotation, comma-separated), else the defaults. */
export function templatesFor(pod: Pick<PodView, 'labels' | 'annotations'>, defaults: readonly string[]): string[] {
  const v = pod.annotations[KEY_TEMPLATES] ?? pod.labels[KEY_TEMPLATES];
  if (v === undefined || v.trim() === '') return [...defaults];
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
