/**
 * The webhook caBundle patcher (docs/istio-compat.md §10.4, `pkg/webhooks/webhookpatch.go`), run by the
 * leader of a cluster: in MutatingWebhookConfigurations labelled `istio.io/rev=<revision>`, every webhook
 * whose name ends in `sidecar-injector.istio.io` gets `clientConfig.caBundle` = the mesh root bundle.
 *
 * The same is done for ValidatingWebhookConfigurations labelled `istio.io/rev=<revision>` and webhooks
 * whose name ends in `validation.istio.io` (`istio-validator-<rev>-<ns>` / `istiod-default-validator`):
 * istiod does that in its separate validation controller (which also flips failurePolicy; we do not).
 * Failed writes are retried (work queue), and a root change re-patches everything (`rootChanged()`).
 */
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/types.ts';
import type { Logger } from '../observability/log.ts';
import { silentLogger } from '../observability/log.ts';
import { WorkQueue } from './queue.ts';
import type { Clock } from '../model/clock.ts';

export const REVISION_LABEL = 'istio.io/rev';
export const INJECTOR_WEBHOOK_SUFFIX = 'sidecar-injector.istio.io';
export const VALIDATION_WEBHOOK_SUFFIX = 'validation.istio.io';

export interface Webhook {
  readonly name: string;
  readonly clientConfig?: { readonly caBundle?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

export interface WebhookConfiguration extends KubeObject {
  readonly webhooks?: readonly Webhook[];
}

/** Sets caBundle on the webhooks whose name ends with `suffix`; pure. */
export function patchCaBundle(webhooks: readonly Webhook[], suffix: string, caBundleB64: string): { readonly changed: boolean; readonly webhooks: Webhook[] } {
  let changed = false;
  const out = webhooks.map((w) => {
    if (!w.name.endsWith(suffix) || w.clientConfig?.caBundle === caBundleB64) return w;
    changed = true;
    return { ...w, clientConfig: { ...(w.clientConfig ?? {}), caBundle: caBundleB64 } };
  });
  return { changed, webhooks: out };
}

interface Kind {
  readonly resource: string;
  readonly suffix: string;
  readonly informer: Informer<WebhookConfiguration>;
}

export interface WebhookPatcherOptions {
  readonly client: KubeClient;
  readonly clusterId: string;
  /** Default `default`. */
  readonly revision?: string;
  readonly rootCertPem: () => string;
  /** Also patch validating webhook configurations (default true). */
  readonly validating?: boolean;
  readonly clock?: Clock;
  readonly log?: Logger;
}

const API = '/apis/admissionregistration.k8s.io/v1';

export class WebhookPatcher {
  readonly #opts: WebhookPatcherOptions;
  readonly #log: Logger;
  readonly #kinds: Kind[];
  readonly #queue: WorkQueue;

  constructor(opts: WebhookPatcherOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).scope(`webhooks/${opts.clusterId}`);
    const labelSelector = `${REVISION_LABEL}=${opts.revision ?? 'default'}`;
    const kind = (resource: string, suffix: string): Kind => ({
      resource, suffix, informer: new Informer<WebhookConfiguration>(opts.client, { path: `${API}/${resource}`, labelSelector }),
    });
    this.#kinds = [kind('mutatingwebhookconfigurations', INJECTOR_WEBHOOK_SUFFIX)];
    if (opts.validating !== false) this.#kinds.push(kind('validatingwebhookconfigurations', VALIDATION_WEBHOOK_SUFFIX));
    this.#queue = new WorkQueue({
      process: (key) => this.#reconcile(key),
      maxRetries: 10,
      ...(opts.clock ? { clock: opts.clock } : {}),
      onError: (key, err, retry) => { this.#log.warn('patching caBundle failed', { webhook: key, error: err, retry }); },
    });
    for (const k of this.#kinds) {
      const add = (o: WebhookConfiguration) => { this.#queue.add(`${k.resource}/${o.metadata.name}`); };
      k.informer.on({ onAdd: add, onUpdate: add });
    }
  }

  start(): void {
    for (const k of this.#kinds) k.informer.start();
  }

  async ready(): Promise<void> {
    await Promise.all(this.#kinds.map((k) => k.informer.synced));
    await this.#queue.idle();
  }

  async stop(): Promise<void> {
    this.#queue.stop();
    await Promise.all(this.#kinds.map((k) => k.informer.stop()));
  }

  rootChanged(): void {
    for (const k of this.#kinds) for (const o of k.informer.list()) this.#queue.add(`${k.resource}/${o.metadata.name}`);
  }

  async #reconcile(key: string): Promise<void> {
    const [resource, name] = key.split('/') as [string, string];
    const kind = this.#kinds.find((k) => k.resource === resource);
    if (!kind || !kind.informer.get(name)) return;
    const bundle = Buffer.from(this.#opts.rootCertPem()).toString('base64');
    const path = `${API}/${resource}/${encodeURIComponent(name)}`;
    // Read the live object so the update never reverts somebody else's newer change.
    const live = await this.#opts.client.getOptional<WebhookConfiguration>(path);
    if (!live) return;
    const { changed, webhooks } = patchCaBundle(live.webhooks ?? [], kind.suffix, bundle);
    if (!changed) return;
    try {
      await this.#opts.client.request('PUT', path, { ...live, webhooks });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 409) throw new Error(`${name} changed while patching; retrying`);
      throw err;
    }
    this.#log.info('patched caBundle', { webhook: key });
  }
}
