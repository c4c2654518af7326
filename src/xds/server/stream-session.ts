/**
 * What every ADS stream goes through, state of the world or delta alike: admission (connection limit,
 * streams per HTTP/2 connection, authentication, streams per identity), then a request loop that
 * handles one request at a time, stops reading when too many wait (HTTP/2 flow control then slows
 * the client instead of us queueing without bound), and ends the stream with a bounded status on
 * error. The variant supplies how a first request becomes a connection and how a request is served.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { ErrorCodes, errorMessage, type ErrorCode } from '../../model/errors.ts';
import { grpcStatusForCode, grpcStatusOf, type GrpcStatusCode, type GrpcStatusReply } from '../../model/grpc-status.ts';
import type { AggregatedLog } from '../../observability/log-limiter.ts';
import type { Logger } from '../../observability/log.ts';
import type { Connection } from './connection.ts';
import type { XdsMetrics } from './metrics.ts';
import type { StreamCaps } from './stream-caps.ts';
import type { Identity, ServerLimits } from './types.ts';

/** Pause reading a stream at this many waiting requests, resume below the second. */
const BACKLOG_PAUSE = 16;
const BACKLOG_RESUME = 8;
/** Status details sent to a caller are cut to this many characters. */
const MAX_DETAILS = 1024;

export type Authenticate = (call: ServerDuplexStream<unknown, unknown>) => Promise<Identity | undefined>;

/** How one ADS variant turns requests into a connection and responses. */
export interface StreamVariant<Req, C extends Connection<unknown>> {
  /** Log label, e.g. `ADS` or `ADS (delta)`. */
  readonly label: string;
  /** The connection for a stream's first request; undefined when it was refused (status already sent). */
  connect(req: Req, identity: Identity | undefined): C | undefined;
  onRequest(conn: C, req: Req): Promise<void>;
  /** The stream ended: forget the connection. */
  closed(conn: C): void;
}

export interface SessionHost {
  readonly log: Logger;
  readonly refusals: AggregatedLog;
  readonly metrics: XdsMetrics;
  readonly limits: ServerLimits;
  readonly caps: StreamCaps;
  connectionCount(): number;
  /**
   * Whether the registries have synced (the control plane's readiness). Before that a stream is
   * refused with UNAVAILABLE, as istiod does: a proxy reconnecting to a restarted control plane
   * keeps its last config and retries, instead of receiving a push built from half the mesh.
   */
  ready(): boolean;
}

/** Serves one ADS call of either variant until it ends. */
export async function serveStream<Req, Res, C extends Connection<unknown>>(
  host: SessionHost, call: ServerDuplexStream<Req, Res>, authenticate: Authenticate | undefined, variant: StreamVariant<Req, C>,
): Promise<void> {
  const fail = (code: GrpcStatusCode, details: string) => {
    call.emit('error', { code, details: details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}...` : details } satisfies GrpcStatusReply);
  };
  const refuse = (reason: string, code: ErrorCode, details: string, msg: string, fields: Record<string, string | number | undefined>) => {
    host.metrics.streamsRefused.inc({ reason });
    host.refusals.warn(msg, { peer: call.getPeer(), ...fields });
    fail(grpcStatusForCode(code), details);
  };
  const { limits } = host;
  if (!host.ready()) {
    refuse('not_ready', ErrorCodes.NotReady, 'server is not ready to serve discovery information', 'xDS stream refused: not ready (clusters syncing)', {});
    return;
  }
  if (host.connectionCount() >= limits.maxConnections) {
    refuse('connections', ErrorCodes.LimitExceeded, `too many xDS connections (limit ${limits.maxConnections})`, 'xDS stream refused: connection limit', {});
    return;
  }
  const peer = call.getPeer();
  const slot = host.caps.open(peer);
  if (!slot) {
    refuse('per_connection', ErrorCodes.LimitExceeded, `too many ADS streams on one connection (limit ${limits.maxStreamsPerConnection}, ISTHMUS_XDS_MAX_STREAMS_PER_CONNECTION)`, 'xDS stream refused: too many streams on one connection', { limit: limits.maxStreamsPerConnection });
    return;
  }
  let released = false;
  const release = () => { if (!released) { released = true; slot.release(); } };
  call.once('close', release);
  call.once('cancelled', release);
  call.once('error', release);
  call.once('finish', release);
  let identity: Identity | undefined;
  try {
    identity = await authenticate?.(call);
  } catch (err) {
    release();
    refuse('authentication', ErrorCodes.AuthenticationFailed, 'authentication failure', 'xDS stream refused: authentication failed', { reason: errorMessage(err) });
    return;
  }
  if (identity && !slot.claim(`${identity.cluster}/${identity.spiffe}`)) {
    release();
    refuse('per_identity', ErrorCodes.LimitExceeded, `too many ADS streams for ${identity.spiffe} (limit ${limits.maxStreamsPerIdentity}, ISTHMUS_XDS_MAX_STREAMS_PER_IDENTITY)`, 'xDS stream refused: too many streams for one identity', { identity: identity.spiffe, cluster: identity.cluster, limit: limits.maxStreamsPerIdentity });
    return;
  }
  let conn: C | undefined;
  let chain: Promise<void> = Promise.resolve();
  let backlog = 0;
  let paused = false;
  const close = () => {
    release();
    if (!conn || conn.isClosed()) return;
    conn.markClosed();
    variant.closed(conn);
    host.log.info(`${variant.label}: disconnected`, { conId: conn.conId });
  };
  call.on('data', (req: Req) => {
    backlog++;
    if (backlog >= BACKLOG_PAUSE && !paused) { paused = true; call.pause(); }
    chain = chain.then(async () => {
      try {
        if (conn?.isClosed() || released) return;
        if (!conn) {
          conn = variant.connect(req, identity);
          if (!conn) { release(); return; }
        }
        await variant.onRequest(conn, req);
      } catch (err) {
        if (conn?.isClosed()) return;
        const code = grpcStatusOf(err);
        if (conn) host.log.warn(`${variant.label}: request failed`, { conId: conn.conId, error: errorMessage(err) });
        else host.refusals.warn(`${variant.label}: first request refused`, { peer, error: errorMessage(err) });
        close();
        fail(code, errorMessage(err));
      } finally {
        backlog--;
        if (paused && backlog < BACKLOG_RESUME) { paused = false; call.resume(); }
      }
    });
  });
  call.on('end', () => { close(); call.end(); });
  call.on('cancelled', close);
  call.on('error', close);
  call.on('close', close);
}
