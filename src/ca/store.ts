/**
 * The mesh's CA key material, shared by every control-plane replica through the system namespace of the
 * config cluster, in istiod's order of preference:
 *
 * 1. plug-in files in a directory (istiod's mounted `./etc/cacerts`), when configured and present;
 * 2. the plug-in Secret `cacerts` (`ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`);
 * 3. the self-signed root in Secret `istio-ca-secret`, generated and created when absent. Two replicas
 *    racing to create it converge on ONE root: the loser gets 409 Conflict and reads the winner's back.
 *
 * Both Secrets are watched (one field-selected informer each); any change reloads, and listeners hear
 * about a new bundle and, separately, a new root (what the namespace controller and webhook patcher
 * follow). Invalid plug-in material is an error, never a silent fall-back to a self-signed root.
 */
import { KubeApiError, type KubeClient } from '../kube/client.ts';
import { Informer } from '../kube/informer.ts';
import { isUnreachable } from '../kube/transport.ts';
import type { KubeObject } from '../kube/types.ts';
import { ErrorCodes, IsthmusError, errorMessage } from '../model/errors.ts';
import type { Logger } from '../observability/log.ts';
import { silentLogger } from '../observability/log.ts';
import { CA_CERT_FILE, CERT_CHAIN_FILE, ROOT_CERT_FILE, loadCaBundle, readCaDirectory, selfSignedSecretFiles, type CaBundle, type CaFiles } from '../pki/bundle.ts';
import { generateRootCa } from '../pki/root.ts';

export const CACERTS_SECRET = 'cacerts';
export const SELF_SIGNED_CA_SECRET = 'istio-ca-secret';
/** The Secret type istiod gives `istio-ca-secret`. */
export const CA_ROOT_SECRET_TYPE = 'istio.io/ca-root';

export type CaSource = 'directory' | 'cacerts-secret' | 'self-signed-secret';

export interface CaStoreOptions {
  /** Client of the config cluster, where the CA Secrets live. */
  readonly client: KubeClient;
  /** The system namespace (istio-system). */
  readonly namespace: string;
  /** Organisation of a generated root (istiod uses the trust domain). */
  readonly trustDomain?: string;
  /** A directory with plug-in files; preferred over the Secrets when it holds `ca-cert.pem`. */
  readonly cacertsDir?: string;
  readonly selfSignedTtlSeconds?: number;
  /** Watch the Secrets and reload on change (default true). */
  readonly watch?: boolean;
  readonly log?: Logger;
}

interface SecretObject extends KubeObject {
  readonly data?: Readonly<Record<string, string>>;
  readonly type?: string;
}

export type BundleListener = (bundle: CaBundle, rootChanged: boolean) => void;

function decodeData(s: SecretObject): CaFiles {
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

function hasCert(files: CaFiles): boolean {
  const v = files[CA_CERT_FILE];
  return v !== undefined && (typeof v === 'string' ? v.trim() !== '' : v.length > 0);
}

function fingerprint(b: CaBundle): string {
  return `${b.certPem}\n${b.keyPem}\n${b.certChainPem}\n${b.rootCertPem}`;
}

export class CaStore {
  readonly #opts: CaStoreOptions;
  readonly #log: Logger;
  readonly #listeners = new Set<BundleListener>();
  readonly #informers: Informer<SecretObject>[] = [];
  #bundle: CaBundle | undefined;
  #source: CaSource | undefined;
  #reloading: Promise<void> | undefined;
  #dirty = false;

  constructor(opts: CaStoreOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? silentLogger).scope('ca-store');
  }

  #secretPath(name = ''): string {
    const base = `/api/v1/namespaces/${encodeURIComponent(this.#opts.namespace)}/secrets`;
    return name === '' ? base : `${base}/${encodeURIComponent(name)}`;
  }

  /** Loads (creating the self-signed root if needed), then watches. Throws `CaKeyMaterial` on bad material. */
  async start(): Promise<void> {
    try {
      await this.#load(true);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      // A transport failure (refused, reset, timed out): say which server, and what for.
      throw new IsthmusError(ErrorCodes.KubeUnreachable, `reading the CA's Secrets in ${this.#opts.client.server}: cannot reach the API server: ${errorMessage(err)}`, { cause: err });
    }
    if (this.#opts.watch === false) return;
    for (const name of [CACERTS_SECRET, SELF_SIGNED_CA_SECRET]) {
      const inf = new Informer<SecretObject>(this.#opts.client, { path: this.#secretPath(), fieldSelector: `metadata.name=${name}` });
      const changed = () => { this.#scheduleReload(); };
      inf.on({ onAdd: changed, onUpdate: changed, onDelete: changed });
      this.#informers.push(inf);
      inf.start();
    }
    await Promise.all(this.#informers.map((i) => i.synced));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#informers.length = 0;
    await this.#reloading;
  }

  /** The current signing bundle. */
  current(): CaBundle {
    if (!this.#bundle) throw new IsthmusError(ErrorCodes.CaKeyMaterial, 'the CA store has not loaded yet (call start())');
    return this.#bundle;
  }

  /** The root bundle PEM that workloads trust (`istio-ca-root-cert`'s `root-cert.pem`). */
  rootCertPem(): string {
    return this.current().rootCertPem;
  }

  /** Certificates that may have issued a workload certificate: the signing cert and the roots. */
  issuerCertsPem(): string {
    const b = this.current();
    return b.layout === 'self-signed' ? b.rootCertPem : `${b.certPem}${b.rootCertPem.endsWith('\n') ? '' : '\n'}${b.rootCertPem}`;
  }

  get source(): CaSource | undefined {
    return this.#source;
  }

  /** Called on every new bundle; returns an unsubscribe function. */
  onChange(listener: BundleListener): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Called when the root bundle changes (rotation, plug-in CA installed). */
  onRootChange(listener: (rootCertPem: string) => void): () => void {
    return this.onChange((b, rootChanged) => { if (rootChanged) listener(b.rootCertPem); });
  }

  /** Re-reads the Secrets now (also what the watches trigger). */
  async reload(): Promise<void> {
    this.#scheduleReload();
    while (this.#reloading) await this.#reloading;
  }

  #scheduleReload(): void {
    if (this.#reloading) { this.#dirty = true; return; }
    this.#reloading = (async () => {
      do {
        this.#dirty = false;
        try {
          await this.#load(false);
        } catch (err) {
          this.#log.error('CA reload failed; keeping the current CA', { error: errorMessage(err) });
        }
      } while (this.#isDirty());
    })().finally(() => { this.#reloading = undefined; });
  }

  #isDirty(): boolean {
    return this.#dirty;
  }

  async #load(initial: boolean): Promise<void> {
    const found = await this.#read();
    if (found) { this.#set(found.bundle, found.source); return; }
    if (!initial && this.#bundle) {
      // Someone deleted istio-ca-secret: put ours back (or adopt whatever another replica wrote first).
      this.#log.warn(`${SELF_SIGNED_CA_SECRET} disappeared; re-creating it from the current CA`);
      this.#set(await this.#createOrAdopt(this.#bundle), 'self-signed-secret');
      return;
    }
    this.#log.info(`no plug-in CA and no ${SELF_SIGNED_CA_SECRET}; generating a self-signed root`);
    const generated = await generateRootCa({
      ...(this.#opts.trustDomain === undefined ? {} : { org: this.#opts.trustDomain }),
      ...(this.#opts.selfSignedTtlSeconds === undefined ? {} : { ttlSeconds: this.#opts.selfSignedTtlSeconds }),
    });
    this.#set(await this.#createOrAdopt(generated), 'self-signed-secret');
  }

  /** The configured material, most preferred first; undefined when only generation is left. */
  async #read(): Promise<{ bundle: CaBundle; source: CaSource } | undefined> {
    if (this.#opts.cacertsDir !== undefined) {
      const files = await readCaDirectory(this.#opts.cacertsDir);
      if (hasCert(files)) return { bundle: await this.#loadFiles(files, `directory ${this.#opts.cacertsDir}`), source: 'directory' };
    }
    const plug = await this.#opts.client.getOptional<SecretObject>(this.#secretPath(CACERTS_SECRET));
    if (plug) {
      const files = decodeData(plug);
      if (!hasCert(files)) throw new IsthmusError(ErrorCodes.CaKeyMaterial, `Secret ${this.#opts.namespace}/${CACERTS_SECRET}: ${CA_CERT_FILE} missing or empty`);
      return { bundle: await this.#loadFiles(files, `Secret ${this.#opts.namespace}/${CACERTS_SECRET}`), source: 'cacerts-secret' };
    }
    const own = await this.#opts.client.getOptional<SecretObject>(this.#secretPath(SELF_SIGNED_CA_SECRET));
    if (own) return { bundle: await this.#loadFiles(decodeData(own), `Secret ${this.#opts.namespace}/${SELF_SIGNED_CA_SECRET}`), source: 'self-signed-secret' };
    return undefined;
  }

  async #loadFiles(files: CaFiles, where: string): Promise<CaBundle> {
    try {
      return await loadCaBundle(files);
    } catch (err) {
      throw new IsthmusError(ErrorCodes.CaKeyMaterial, `${where}: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** Creates `istio-ca-secret` from `bundle`; after a 409 Conflict, loads the one that won. */
  async #createOrAdopt(bundle: CaBundle): Promise<CaBundle> {
    const data = { ...selfSignedSecretFiles(bundle), [CERT_CHAIN_FILE]: '', [ROOT_CERT_FILE]: '', 'key.pem': '' };
    try {
      await this.#opts.client.request('POST', this.#secretPath(), {
        apiVersion: 'v1', kind: 'Secret', type: CA_ROOT_SECRET_TYPE,
        metadata: { name: SELF_SIGNED_CA_SECRET, namespace: this.#opts.namespace },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      });
      this.#log.info(`created ${this.#opts.namespace}/${SELF_SIGNED_CA_SECRET}`);
      return bundle;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 409)) throw err;
    }
    const winner = await this.#opts.client.getOptional<SecretObject>(this.#secretPath(SELF_SIGNED_CA_SECRET));
    if (!winner) throw new IsthmusError(ErrorCodes.CaKeyMaterial, `${SELF_SIGNED_CA_SECRET} was created by another replica but cannot be read back`);
    this.#log.info(`another replica created ${SELF_SIGNED_CA_SECRET} first; using its root`);
    return this.#loadFiles(decodeData(winner), `Secret ${this.#opts.namespace}/${SELF_SIGNED_CA_SECRET}`);
  }

  #set(bundle: CaBundle, source: CaSource): void {
    const prev = this.#bundle;
    if (prev && fingerprint(prev) === fingerprint(bundle)) return;
    this.#bundle = bundle;
    this.#source = source;
    const rootChanged = prev !== undefined && prev.rootCertPem !== bundle.rootCertPem;
    if (prev) this.#log.info('CA material changed', { source, rootChanged });
    for (const l of this.#listeners) {
      try { l(bundle, rootChanged); } catch (err) { this.#log.error('CA change listener failed', { error: errorMessage(err) }); }
    }
  }
}
