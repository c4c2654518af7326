/**
 * Wires the sidecar injection webhook into `isthmus discovery`: the injector ConfigMap watched in
 * the config cluster, namespace look-ups in the cluster a call comes from, and the HTTPS server on
 * `--httpsAddr` with a serving certificate from the mesh CA (re-issued when the CA changes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import type { CaStore } from '../ca/store.ts';
import { ServingCertificate } from '../ca/server/serving.ts';
import { InjectorConfigSource, NamespaceLookup } from '../inject/source.ts';
import { InjectionServer } from '../inject/server.ts';
import type { KubeClient } from '../kube/client.ts';
import { errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';

export interface InjectionOptions {
  readonly address: string;
  readonly localClient: KubeClient;
  readonly localClusterId: string;
  readonly systemNamespace: string;
  readonly trustDomain: string;
  /** The client of a cluster by id (undefined: the config cluster). */
  readonly client: (clusterId: string | undefined) => KubeClient | undefined;
  readonly ca: CaStore;
  readonly metrics: Registry;
  readonly log: Logger;
}

export class Injection {
  readonly #opts: InjectionOptions;
  readonly #source: InjectorConfigSource;
  #server: InjectionServer | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(opts: InjectionOptions) {
    this.#opts = opts;
    this.#source = new InjectorConfigSource(opts.localClient, opts.systemNamespace,
      { clusterName: opts.localClusterId, istioNamespace: opts.systemNamespace, trustDomain: opts.trustDomain }, opts.log);
  }

  /** Starts the ConfigMap watch and binds the server; answers the bound address. */
  async start(): Promise<string> {
    const o = this.#opts;
    this.#source.start();
    // First pods should see the installed ConfigMap, but a slow API server must not hold the port closed.
    const wait = new AbortController();
    await Promise.race([this.#source.synced, sleep(5000, undefined, { signal: wait.signal }).catch(() => undefined)]);
    wait.abort();
    const cert = await ServingCertificate.create(o.ca.current(), { namespace: o.systemNamespace });
    const lookup = new NamespaceLookup(o.client, o.systemNamespace);
    const server = new InjectionServer({
      address: o.address, certChainPem: cert.certChainPem, keyPem: cert.keyPem,
      config: () => this.#source.current(),
      namespaceInfo: (cluster, ns) => lookup.info(cluster, ns),
      log: o.log, metrics: o.metrics,
    });
    this.#unsubscribe = o.ca.onChange((b) => {
      cert.update(b).then(() => { server.updateTls(cert.certChainPem, cert.keyPem); }, (err: unknown) => { o.log.error('re-issuing the webhook serving certificate failed', { error: errorMessage(err) }); });
    });
    const addr = await server.listen();
    this.#server = server;
    return `${addr.address}:${addr.port}`;
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#server?.close();
    await this.#source.stop();
  }
}
