/**
 * The aggregating proxy's ADS service. Unlike the istioctl-proxy sample, a stream stays open and
 * every request on it is answered in order; ACKs/NACKs of our own responses are recognised by
 * their nonce and ignored. Per request: fan out to every replica with the caller's
 * `authorization` header and node (never credentials of our own), merge, answer.
 *
 * Served types: `istio.io/debug/syncz`, `istio.io/connections` (all replicas, merged) and
 * `istio.io/debug/config_dump` (the replica holding the proxy answers). Anything else ends the
 * stream with UNIMPLEMENTED. A stream without a bearer token is refused with UNAUTHENTICATED before
 * any replica is asked; the replicas verify the token and decide what it may see.
 *
 * Partial answers: replicas that fail or time out are listed with their error in the
 * `control_plane` JSON (`Replicas[].Error`, see control-plane.ts) and logged; the call fails only
 * when no replica answered.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ErrorCodes, errorMessage, IsthmusError } from '../model/errors.ts';
import { CONNECTIONS_TYPE_URL, DEBUG_CONFIG_DUMP_TYPE_URL, DEBUG_SYNCZ_TYPE_URL } from '../model/type-urls.ts';
import type { Logger } from '../observability/log.ts';
import { encodeAnyRaw } from '../proto/codec.ts';
import type { DiscoveryRequest, Node } from '../proto/types.ts';
import { bearerToken } from '../security/authenticate.ts';
import type { PreparedResponse } from '../xds/protocol/response.ts';
import type { AdsCall } from '../xds/server/connection.ts';
import type { XdsChannel } from '../xds/client/exchange.ts';
import { formatControlPlane } from '../xds/client/control-plane.ts';
import { fanOut, Semaphore } from './fanout.ts';
import { mergeEmpty, mergeFirst, mergeSyncz, type Merged, type MergeOptions, type Replica, type ReplicaAnswer } from './merge.ts';
import type { ReplicaSource } from './replicas.ts';
import { grpcStatusForCode, grpcStatusOf, RelayedStatusError, type GrpcStatusCode, type GrpcStatusReply } from '../model/grpc-status.ts';

export interface AggregatorLimits {
  /** Caller streams open at once; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxStreams: number;
  /** Requests fanned out at once (each asks every replica). */
  readonly maxConcurrentRequests: number;
  /** Requests waiting for a slot; more are refused with RESOURCE_EXHAUSTED. */
  readonly maxQueuedRequests: number;
  /** Largest merged response sent. */
  readonly maxResponseBytes: number;
  /** Largest request and largest replica answer accepted (enforced by grpc-js). */
  readonly maxRequestBytes: number;
}

export const DEFAULT_AGGREGATOR_LIMITS: AggregatorLimits = {
  maxStreams: 1000,
  maxConcurrentRequests: 16,
  maxQueuedRequests: 256,
  maxResponseBytes: 64 * 1024 * 1024,
  maxRequestBytes: 1024 * 1024,
};

export interface XdsProxyServiceOptions {
  readonly replicas: ReplicaSource;
  readonly channel: (replica: Replica) => XdsChannel;
  readonly replicaTimeoutMs: number;
  readonly attributeReplicas: boolean;
  /** Where replicas are looked for, for messages ("no running Istio pods in ..."). */
  readonly describeSource: string;
  readonly limits: AggregatorLimits;
  readonly log: Logger;
  readonly version: string;
}

const SERVED = [DEBUG_SYNCZ_TYPE_URL, DEBUG_CONFIG_DUMP_TYPE_URL, CONNECTIONS_TYPE_URL] as string[];
const NOT_CONNECTED = /not connected/i;
const REMEMBERED_NONCES = 32;

export class XdsProxyService {
  readonly #opts: XdsProxyServiceOptions;
  readonly #slots: Semaphore;
  #streams = 0;
  #nonce = 0;

  constructor(opts: XdsProxyServiceOptions) {
    this.#opts = opts;
    this.#slots = new Semaphore(opts.limits.maxConcurrentRequests, opts.limits.maxQueuedRequests);
  }

  get streams(): number {
    return this.#streams;
  }

  implementation(): UntypedServiceImplementation {
    return {
      StreamAggregatedResources: (call: AdsCall) => { this.#stream(call); },
      DeltaAggregatedResources: (call: AdsCall) => {
        call.emit('error', { code: grpcStatusForCode(ErrorCodes.NotServed), details: 'the xds-proxy serves state-of-the-world ADS only (StreamAggregatedResources)' });
      },
    };
  }

  #stream(call: AdsCall): void {
    const fail = (code: GrpcStatusCode, details: string) => { call.emit('error', { code, details } satisfies GrpcStatusReply); };
    let token: string | undefined;
    try {
      token = bearerToken(call.metadata);
    } catch (err) {
      fail(grpcStatusForCode(ErrorCodes.AuthenticationFailed), `xds-proxy: ${errorMessage(err)}`);
      return;
    }
    if (token === undefined) {
      this.#opts.log.warn('stream refused: no bearer token', { peer: call.getPeer() });
      fail(grpcStatusForCode(ErrorCodes.AuthenticationFailed), 'xds-proxy: requests need "authorization: Bearer <token>" (a service-account token for audience istio-ca); the control plane replicas verify it');
      return;
    }
    if (this.#streams >= this.#opts.limits.maxStreams) { fail(grpcStatusForCode(ErrorCodes.LimitExceeded), `xds-proxy: too many streams (limit ${this.#opts.limits.maxStreams})`); return; }
    this.#streams++;
    const authorization = `Bearer ${token}`;
    const ac = new AbortController();
    const state = { closed: false };
    const close = () => { if (state.closed) return; state.closed = true; this.#streams--; ac.abort(); };
    const isClosed = () => state.closed;
    let node: Node | undefined;
    const sent: string[] = [];
    let chain: Promise<void> = Promise.resolve();
    call.on('data', (req: DiscoveryRequest) => {
      chain = chain.then(async () => {
        if (state.closed) return;
        node = req.node ?? node;
        if (!node?.id) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, 'the first DiscoveryRequest on a stream must carry node.id');
        if (req.responseNonce && sent.includes(req.responseNonce)) return; // an ACK or NACK of ours
        const resp = await this.#answer(req, node, authorization, ac.signal);
        if (isClosed()) return;
        sent.push(resp.nonce);
        if (sent.length > REMEMBERED_NONCES) sent.shift();
        await write(call, resp);
      }).catch((err: unknown) => {
        if (state.closed) return;
        const code = grpcStatusOf(err);
        this.#opts.log.warn('request failed', { peer: call.getPeer(), type: req.typeUrl, error: errorMessage(err) });
        close();
        fail(code, errorMessage(err));
      });
    });
    call.on('end', () => { void chain.then(() => { close(); call.end(); }); });
    call.on('cancelled', close);
    call.on('error', close);
    call.on('close', close);
  }

  async #answer(req: DiscoveryRequest, node: Node, authorization: string, signal: AbortSignal): Promise<PreparedResponse> {
    const typeUrl = req.typeUrl ?? '';
    if (!SERVED.includes(typeUrl)) throw new IsthmusError(ErrorCodes.NotServed, `unsupported StreamAggregatedResources typeURL: ${typeUrl} (the xds-proxy serves ${SERVED.join(', ')})`);
    const names = req.resourceNames ?? [];
    if (typeUrl === DEBUG_CONFIG_DUMP_TYPE_URL && names.length !== 1) throw new IsthmusError(ErrorCodes.XdsRequestInvalid, `${typeUrl} wants exactly one resource name <pod>.<namespace>`);
    const release = await this.#slots.acquire();
    if (!release) throw new IsthmusError(ErrorCodes.LimitExceeded, 'xds-proxy: too many requests in flight, retry later');
    try {
      const replicas = await this.#opts.replicas();
      if (replicas.length === 0) throw new IsthmusError(ErrorCodes.NoControlPlane, `no running Istio pods in ${this.#opts.describeSource}`);
      const upstream: DiscoveryRequest = { node, typeUrl, resourceNames: [...names] };
      const ask = (r: Replica, s: AbortSignal) => this.#opts.channel(r).exchange(upstream, { timeoutMs: this.#opts.replicaTimeoutMs, authorization, signal: s });
      const started = Date.now();
      const first = typeUrl === DEBUG_CONFIG_DUMP_TYPE_URL;
      let answers = await fanOut(replicas, ask, first ? 'first' : 'all', signal);
      const failed = answers.filter((a): a is Extract<ReplicaAnswer, { error: string }> => 'error' in a);
      if (failed.length === answers.length) throw noAnswer(failed, typeUrl, names);
      if (first) answers = answers.filter((a) => !('error' in a && NOT_CONNECTED.test(a.error)));
      for (const f of failed) if (!(first && NOT_CONNECTED.test(f.error))) this.#opts.log.warn('replica did not answer', { replica: f.replica.name, address: f.replica.address, error: f.error });
      const mo: MergeOptions = { attributeReplicas: this.#opts.attributeReplicas, fallbackInfo: { version: this.#opts.version, revision: 'isthmus-xds-proxy', golang_version: '', status: 'Clean', tag: this.#opts.version } };
      const merged: Merged = typeUrl === DEBUG_SYNCZ_TYPE_URL ? mergeSyncz(answers, mo) : first ? mergeFirst(answers, mo) : mergeEmpty(answers, mo);
      this.#opts.log.debug('answered', { type: typeUrl, replicas: replicas.length, failed: failed.length, resources: merged.resources.length, ms: Date.now() - started });
      return this.#response(typeUrl, merged);
    } finally {
      release();
    }
  }

  #response(typeUrl: string, merged: Merged): PreparedResponse {
    let size = 0;
    const resources = merged.resources.map((a) => {
      const any = encodeAnyRaw(a.typeUrl, a.value ?? new Uint8Array(0));
      size += any.byteLength;
      return { name: '', any };
    });
    if (size > this.#opts.limits.maxResponseBytes) throw new IsthmusError(ErrorCodes.LimitExceeded, `merged ${typeUrl} answer is ${size} bytes (limit ${this.#opts.limits.maxResponseBytes})`);
    return { versionInfo: '', typeUrl, nonce: `xds-proxy-${Date.now().toString(36)}-${(this.#nonce++).toString(36)}`, resources, controlPlane: formatControlPlane(merged.controlPlane) };
  }
}

function noAnswer(failed: readonly Extract<ReplicaAnswer, { error: string }>[], typeUrl: string, names: readonly string[]): IsthmusError {
  const list = failed.map((f) => `${f.replica.name}: ${f.error}`).join('; ');
  if (typeUrl === DEBUG_CONFIG_DUMP_TYPE_URL && failed.every((f) => NOT_CONNECTED.test(f.error))) {
    return new IsthmusError(ErrorCodes.ProxyNotConnected, `Proxy not connected to any of the ${failed.length} control plane replicas: ${names.join(', ')}`);
  }
  const codes = new Set(failed.map((f) => f.code));
  const [only] = [...codes];
  const message = `no control plane replica answered: ${list}`;
  // Replicas that agree on a status have it passed on; otherwise UNAVAILABLE (ErrorCodes.XdsFailed).
  return codes.size === 1 && only !== undefined ? new RelayedStatusError(ErrorCodes.XdsFailed, message, only) : new IsthmusError(ErrorCodes.XdsFailed, message);
}

async function write(call: AdsCall, resp: PreparedResponse): Promise<void> {
  if (call.write(resp)) return;
  await new Promise<void>((resolve) => {
    const done = () => { call.off('drain', done); call.off('close', done); resolve(); };
    call.on('drain', done);
    call.on('close', done);
  });
}
