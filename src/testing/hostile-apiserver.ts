/**
 * The attacker for tests of bounded remote clusters: an HTTPS server on loopback that impersonates
 * a Kubernetes API server and serves one EndpointSlice of `hugeEndpoints` endpoints (about 190
 * bytes each), generated while streaming so the test itself stays small. Everything else it serves
 * is a tiny, well-formed cluster: namespace istio-system, Services `big` and `normal` in namespace
 * `hostile`, a one-endpoint slice for `normal`, no pods.
 *
 * - mode `list`: the huge slice is in the EndpointSlice list (ignoring `limit`).
 * - mode `watch`: the list is honest apart from a slice of `moderateEndpoints` endpoints (above
 *   Kubernetes' 1,000); the huge slice comes as one ADDED event on the EndpointSlice watch.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';

export interface HostileOptions {
  readonly mode: 'list' | 'watch';
  readonly certPem: string;
  readonly keyPem: string;
  readonly hugeEndpoints: number;
  readonly moderateEndpoints?: number;
}

export class HostileApiServer {
  readonly #server: Server;
  readonly #opts: HostileOptions;
  /** Bytes of the huge slice written to clients (what they accepted before hanging up). */
  hugeBytesSent = 0;
  hugeResponses = 0;
  requests = 0;

  private constructor(opts: HostileOptions) {
    this.#opts = opts;
    this.#server = createServer({ cert: opts.certPem, key: opts.keyPem }, (req, res) => {
      this.requests++;
      void this.#handle(req.url ?? '/', res).catch(() => { res.destroy(); });
    });
  }

  static async start(opts: HostileOptions): Promise<HostileApiServer> {
    const s = new HostileApiServer(opts);
    await new Promise<void>((r) => s.#server.listen(0, '127.0.0.1', r));
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }

  async #handle(url: string, res: ServerResponse): Promise<void> {
    const u = new URL(url, 'https://x');
    const watch = u.searchParams.get('watch') === 'true';
    const json = (v: unknown) => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v)); };
    if (u.pathname === '/readyz') { res.writeHead(200).end('ok'); return; }
    if (watch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (u.pathname.endsWith('/endpointslices') && this.#opts.mode === 'watch') {
        await this.#stream(res, '{"type":"ADDED","object":', this.#opts.hugeEndpoints, '}\n');
      }
      return; // hold the watch open, silent
    }
    const list = (kind: string, items: unknown[]) => { json({ kind, apiVersion: 'v1', metadata: { resourceVersion: '5' }, items }); };
    switch (u.pathname) {
      case '/api/v1/namespaces': list('NamespaceList', [{ metadata: { name: 'istio-system', resourceVersion: '1' } }]); return;
      case '/api/v1/pods': list('PodList', []); return;
      case '/api/v1/nodes': list('NodeList', []); return;
      case '/api/v1/services':
        list('ServiceList', ['big', 'normal'].map((name) => ({
          metadata: { name, namespace: 'hostile', resourceVersion: '2' },
          spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
        })));
        return;
      case '/apis/discovery.k8s.io/v1/endpointslices': {
        const normal = JSON.stringify(slice('normal-1', 'normal', 1));
        if (this.#opts.mode === 'watch') {
          list('EndpointSliceList', [JSON.parse(normal), slice('big-0', 'big', this.#opts.moderateEndpoints ?? 2000)]);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        await this.#stream(res, `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"5"},"items":[${normal},`, this.#opts.hugeEndpoints, ']}');
        return;
      }
      default: res.writeHead(404).end('{"kind":"Status","code":404}');
    }
  }

  /** Writes `head`, the huge slice, `tail`, honouring back-pressure; stops when the client hangs up. */
  async #stream(res: ServerResponse, head: string, endpoints: number, tail: string): Promise<void> {
    this.hugeResponses++;
    const state = { closed: false };
    res.once('close', () => { state.closed = true; });
    const write = async (s: string) => {
      this.hugeBytesSent += Buffer.byteLength(s);
      if (!res.write(s)) {
        await new Promise<void>((r) => {
          const done = () => { res.off('drain', done); res.off('close', done); r(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    };
    const obj = JSON.stringify(slice('big-1', 'big', 0));
    await write(head + obj.slice(0, obj.lastIndexOf(']')));
    for (let i = 0; i < endpoints && !state.closed; i += 2000) {
      const part: string[] = [];
      for (let j = i; j < Math.min(i + 2000, endpoints); j++) part.push(endpointJson(j));
      await write((i === 0 ? '' : ',') + part.join(','));
    }
    if (!state.closed) await write(`]}${tail}`);
  }
}

function endpointJson(i: number): string {
  return `{"addresses":["10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}"],"conditions":{"ready":true,"serving":true,"terminating":false},"nodeName":"node-${i}","zone":"zone-a","targetRef":{"kind":"Pod","namespace":"hostile","name":"big-${i}"}}`;
}

function slice(name: string, service: string, endpoints: number): Record<string, unknown> {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: 'hostile', resourceVersion: '3', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    // The honest slice's endpoint names no pod (the cluster has none), so it is served as is.
    endpoints: Array.from({ length: endpoints }, (_, i) => {
      const ep = JSON.parse(endpointJson(i)) as Record<string, unknown>;
      if (service === 'normal') delete ep['targetRef'];
      return ep;
    }),
  };
}
