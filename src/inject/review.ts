/**
 * AdmissionReview (`admission.k8s.io/v1`) in, AdmissionReview with a base64 JSONPatch out. Pure:
 * `parseReview` checks the request; `admit` decides and builds the response. Bad input is a
 * `BadReview` (the server answers HTTP 400 naming the field); a pod that cannot be injected is
 * refused in the response (`allowed: false`, code 500) so the API server shows the reason.
 */
import { ErrorCodes, errorMessage } from '../model/errors.ts';
import type { InjectorConfig } from './config.ts';
import { injectPod, podPatch, podVariables, type Obj } from './inject.ts';
import type { InjectPath } from './path.ts';
import { decide, templatesFor, type Decision, type PodView } from './selection.ts';

export const ADMISSION_API = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly namespace: string;
  readonly operation: string;
  readonly object: Obj;
  readonly dryRun: boolean;
}

export class BadReview extends Error {
  readonly code = ErrorCodes.InjectBadRequest;
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function parseReview(text: string): AdmissionRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadReview(`body is not JSON: ${errorMessage(err)}`);
  }
  if (!isObj(body)) throw new BadReview('body must be a JSON object (an AdmissionReview)');
  if (body['kind'] !== 'AdmissionReview') throw new BadReview(`kind must be AdmissionReview, got ${JSON.stringify(body['kind'])}`);
  if (body['apiVersion'] !== ADMISSION_API) throw new BadReview(`apiVersion must be ${ADMISSION_API} (the webhook lists only admissionReviewVersions v1), got ${JSON.stringify(body['apiVersion'])}`);
  const req = body['request'];
  if (!isObj(req)) throw new BadReview('request is missing');
  const uid = req['uid'];
  if (typeof uid !== 'string' || uid === '' || uid.length > 256) throw new BadReview('request.uid must be a non-empty string');
  const kind = req['kind'];
  if (!isObj(kind) || typeof kind['kind'] !== 'string') throw new BadReview('request.kind must name the object kind');
  const object = req['object'];
  const operation = typeof req['operation'] === 'string' ? req['operation'] : '';
  if (operation === 'CREATE' && !isObj(object)) throw new BadReview('request.object must be the object being created');
  return {
    uid,
    kind: { group: typeof kind['group'] === 'string' ? kind['group'] : '', version: typeof kind['version'] === 'string' ? kind['version'] : '', kind: kind['kind'] },
    namespace: typeof req['namespace'] === 'string' ? req['namespace'] : '',
    operation,
    object: isObj(object) ? object : {},
    dryRun: req['dryRun'] === true,
  };
}

export interface AdmitContext {
  readonly config: InjectorConfig;
  readonly path: InjectPath;
  /** Labels of the pod's namespace, when the injector could read them. */
  readonly namespaceLabels?: Readonly<Record<string, string>> | undefined;
  /** `topology.istio.io/network` of the cluster's system namespace, when known. */
  readonly systemNetwork?: string | undefined;
}

export interface AdmitResult {
  /** The AdmissionReview to send back (HTTP 200). */
  readonly review: Obj;
  readonly injected: boolean;
  readonly reason: string;
}

function reply(uid: string, response: Obj): Obj {
  return { apiVersion: ADMISSION_API, kind: 'AdmissionReview', response: { uid, ...response } };
}

function podView(req: AdmissionRequest): PodView {
  const meta = isObj(req.object['metadata']) ? req.object['metadata'] : {};
  const spec = isObj(req.object['spec']) ? req.object['spec'] : {};
  const strs = (v: unknown) => (isObj(v) ? Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === 'string')) as Record<string, string> : {});
  const containers = Array.isArray(spec['containers']) ? spec['containers'].filter(isObj).map((c) => ({ name: String(c['name']), ...(typeof c['image'] === 'string' ? { image: c['image'] } : {}) })) : [];
  return {
    namespace: req.namespace || (typeof meta['namespace'] === 'string' ? meta['namespace'] : ''),
    labels: strs(meta['labels']),
    annotations: strs(meta['annotations']),
    hostNetwork: spec['hostNetwork'] === true,
    containers,
  };
}

export function admit(req: AdmissionRequest, ctx: AdmitContext): AdmitResult {
  const { kind } = req.kind;
  if (kind !== 'Pod' || req.kind.group !== '') {
    const reason = `${kind} objects are not injected (only Pods); allowed unchanged`;
    return { review: reply(req.uid, { allowed: true, warnings: [reason] }), injected: false, reason };
  }
  if (req.operation !== 'CREATE') {
    const reason = `operation ${req.operation || '(none)'} is not injected (only CREATE); allowed unchanged`;
    return { review: reply(req.uid, { allowed: true }), injected: false, reason };
  }
  const pod = podView(req);
  const revision = ctx.config.values.revision === '' ? 'default' : ctx.config.values.revision;
  const d: Decision = decide(pod, ctx.namespaceLabels, revision, ctx.config.policy);
  if (!d.inject) return { review: reply(req.uid, { allowed: true }), injected: false, reason: d.reason };
  const templates = templatesFor(pod, ctx.config.defaultTemplates);
  const unknown = templates.filter((t) => !ctx.config.templates.has(t));
  const meta = isObj(req.object['metadata']) ? req.object['metadata'] : {};
  const podName = `${pod.namespace}/${typeof meta['name'] === 'string' ? meta['name'] : typeof meta['generateName'] === 'string' ? meta['generateName'] : ''}`;
  if (unknown.length > 0) {
    const message = `[${ErrorCodes.InjectFailed}] pod ${podName}: inject.istio.io/templates names unknown template(s) ${unknown.join(', ')} (have ${[...ctx.config.templates.keys()].join(', ')})`;
    return { review: reply(req.uid, { allowed: false, status: { code: 400, message } }), injected: false, reason: message };
  }
  try {
    const nsNet = ctx.namespaceLabels?.['topology.istio.io/network'] ?? ctx.systemNetwork;
    const pctx = { namespace: pod.namespace, path: ctx.path, namespaceNetwork: nsNet };
    const out = injectPod(req.object, templates, ctx.config, pctx, podVariables(req.object, ctx.config.values, pctx));
    const patch = podPatch(req.object, out.pod);
    return {
      review: reply(req.uid, { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }),
      injected: true,
      reason: `${d.reason}; templates ${templates.join(',')}`,
    };
  } catch (err) {
    const message = `[${ErrorCodes.InjectFailed}] pod ${podName}: ${errorMessage(err)}`;
    return { review: reply(req.uid, { allowed: false, status: { code: 500, message } }), injected: false, reason: message };
  }
}
