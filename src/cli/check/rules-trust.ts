/**
 * Rules about the root of trust: the injection webhook's caBundle and every cluster's
 * `istio-ca-root-cert` must hold the control plane's root (from `cacerts` or `istio-ca-secret` in
 * the primary). Pure.
 */
import { decodeCertificates } from '../../pki/pem.ts';
import type { ClusterFacts, Finding, MeshFacts } from './types.ts';
import { isPrimary, kubectl, shellQuote } from './topology.ts';

export const INJECTOR_WEBHOOK_SUFFIX = 'sidecar-injector.istio.io';

/** DER (base64) of every certificate in a PEM bundle; empty when it holds none. */
export function certSet(pem: string): Set<string> {
  const ders = decodeCertificates(pem);
  return new Set(typeof ders === 'string' ? [] : ders.map((d) => d.toString('base64')));
}

/** Whether `pem` holds at least one certificate of `root`. */
export function sharesRoot(pem: string, root: ReadonlySet<string>): boolean {
  for (const c of certSet(pem)) if (root.has(c)) return true;
  return false;
}

function rootSource(m: MeshFacts): { readonly cluster: ClusterFacts; readonly secret: string; readonly certs: Set<string> } | undefined {
  for (const c of m.clusters) {
    if (!isPrimary(c) || !c.caRoot) continue;
    const certs = certSet(c.caRoot.pem);
    if (certs.size > 0) return { cluster: c, secret: c.caRoot.secret, certs };
  }
  return undefined;
}

/** Shell that prints the control plane's root PEM (read from the primary's root ConfigMap). */
function rootPemCommand(p: ClusterFacts): string {
  return `${kubectl(p.context)} -n ${shellQuote(p.systemNamespace)} get configmap istio-ca-root-cert -o jsonpath='{.data.root-cert\\.pem}'`;
}

export function webhookRules(m: MeshFacts): Finding[] {
  const out: Finding[] = [];
  const root = rootSource(m);
  for (const c of m.clusters) {
    if (c.unreachable !== undefined) continue;
    for (const w of c.webhooks) {
      if (!w.webhook.endsWith(INJECTOR_WEBHOOK_SUFFIX)) continue;
      const where = { cluster: c.context, object: `MutatingWebhookConfiguration/${w.config}`, field: `webhooks[${w.index}].clientConfig.caBundle` };
      const fix = root
        ? `${kubectl(c.context)} patch mutatingwebhookconfiguration ${shellQuote(w.config)} --type json -p "[{\\"op\\":\\"add\\",\\"path\\":\\"/webhooks/${w.index}/clientConfig/caBundle\\",\\"value\\":\\"$(${rootPemCommand(root.cluster)} | base64 -w0)\\"}]"`
        : `make the control plane lead ${c.context} (it patches the caBundle), or set webhooks[${w.index}].clientConfig.caBundle to the base64 of its root certificate`;
      let pem = '';
      try { pem = Buffer.from(w.caBundle, 'base64').toString('utf8'); } catch { pem = ''; }
      if (w.caBundle === '' || certSet(pem).size === 0) {
        out.push({
          severity: 'error', rule: 'webhook-ca-bundle-missing', where,
          message: `webhook ${w.webhook} of ${w.config} in ${c.context} has ${w.caBundle === '' ? 'no caBundle' : 'a caBundle without any certificate'}`,
          why: 'the API server cannot verify the injection webhook\'s certificate: pods in injected namespaces (gateways too) are rejected with "x509: certificate signed by unknown authority"',
          fix,
        });
      } else if (root && !sharesRoot(pem, root.certs)) {
        out.push({
          severity: 'error', rule: 'webhook-ca-bundle-foreign', where,
          message: `webhook ${w.webhook} of ${w.config} in ${c.context} trusts a CA that is not the control plane's root (${root.cluster.context} ${root.cluster.systemNamespace}/Secret/${root.secret})`,
          why: 'the webhook\'s serving certificate comes from the control plane\'s root, so the API server rejects the call: pod creation fails with "x509: certificate signed by unknown authority"',
          fix,
        });
      }
    }
  }
  return out;
}

export function rootCertRules(m: MeshFacts): Finding[] {
  const root = rootSource(m);
  if (!root) return [];
  const out: Finding[] = [];
  for (const c of m.clusters) {
    if (c.unreachable !== undefined || !c.istioSystem) continue;
    const bad = c.rootCerts.filter((r) => !sharesRoot(r.pem, root.certs)).map((r) => r.namespace).sort();
    if (bad.length > 0) {
      const first = bad.includes(c.systemNamespace) ? c.systemNamespace : bad[0] ?? '';
      out.push({
        severity: 'error', rule: 'root-cert-mismatch',
        where: { cluster: c.context, namespace: first, object: 'ConfigMap/istio-ca-root-cert', field: 'data["root-cert.pem"]' },
        message: `istio-ca-root-cert in ${bad.length} namespace(s) of ${c.context} (${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', ...' : ''}) does not hold the control plane's root (${root.cluster.context} ${root.cluster.systemNamespace}/Secret/${root.secret})`,
        why: 'sidecars there verify the control plane and peers against the wrong root: xDS and certificate requests fail TLS, and cross-cluster mTLS fails',
        fix: `for ns in ${bad.map(shellQuote).join(' ')}; do ${kubectl(c.context)} -n "$ns" delete configmap istio-ca-root-cert; done  # the control plane leading ${c.context} writes them again with its root`,
      });
    }
    if (!c.rootCerts.some((r) => r.namespace === c.systemNamespace)) {
      out.push({
        severity: 'warning', rule: 'root-cert-missing',
        where: { cluster: c.context, namespace: c.systemNamespace, object: 'ConfigMap/istio-ca-root-cert' },
        message: `${c.systemNamespace} in ${c.context} has no istio-ca-root-cert ConfigMap`,
        why: 'no control plane leads this cluster (yet): injected pods cannot mount the root certificate and never start',
        fix: `${kubectl(c.context)} annotate namespace ${shellQuote(c.systemNamespace)} topology.istio.io/controlPlaneClusters=<control plane cluster id> --overwrite  # and check the control plane runs with EXTERNAL_ISTIOD=true`,
      });
    }
  }
  return out;
}
