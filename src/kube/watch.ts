/**
 * One Kubernetes watch request, read with bounds: each event is one JSON line, and a line longer
 * than `maxEventBytes` ends the watch with ISTHMUS_KUBE_RESPONSE_TOO_LARGE before it is buffered
 * further (a server streaming a gigabyte without a newline costs at most the bound). The watch also
 * ends, normally, when no byte arrived for `idleTimeoutMs` (bookmarks keep a healthy watch busy),
 * when the server closes it, or when `signal` aborts.
 */
import { ErrorCodes, IsthmusError } from '../model/errors.ts';
import type { KubeClient } from './client.ts';

export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
  /** Size of the event's JSON line. */
  readonly bytes: number;
}

export interface WatchRequest {
  /** Collection path with query string (without `watch=true`). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly signal: AbortSignal;
  readonly maxEventBytes: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs?: number;
  readonly onEvent: (e: WatchEvent) => void;
  /** Called once the server answered with 2xx and the stream begins. */
  readonly onOpen?: () => void;
}

/** Resolves when the watch ended normally (server close, idle timeout, abort); rejects on errors. */
export async function watchOnce(client: KubeClient, req: WatchRequest): Promise<void> {
  const q = new URLSearchParams(req.query);
  q.set('watch', 'true');
  const idle = new AbortController();
  const signal = AbortSignal.any([req.signal, idle.signal]);
  const res = await client.stream(`${req.path}?${q.toString()}`, signal, req.connectTimeoutMs);
  req.onOpen?.();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => { idle.abort(); }, req.idleTimeoutMs);
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const emit = (line: Buffer) => {
    if (line.length === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.toString('utf8'));
    } catch {
      throw new Error(`watch ${req.path}: an event is not JSON`);
    }
    const e = parsed as { type?: unknown; object?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.type !== 'string' || e.object === null || typeof e.object !== 'object') {
      throw new Error(`watch ${req.path}: an event has no type or object`);
    }
    req.onEvent({ type: e.type, object: e.object, bytes: line.length });
  };
  try {
    arm();
    const chunks = (res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    for (;;) {
      let chunk: Buffer;
      try {
        const r = await chunks.next();
        if (r.done === true) return;
        chunk = r.value;
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      arm();
      client.noteAnswer();
      let buf = chunk;
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
        const head = buf.subarray(0, nl);
        if (pendingBytes + head.length > req.maxEventBytes) throw tooLarge(req);
        const line = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
        pending = [];
        pendingBytes = 0;
        emit(line);
        buf = buf.subarray(nl + 1);
      }
      if (buf.length > 0) {
        pendingBytes += buf.length;
        if (pendingBytes > req.maxEventBytes) throw tooLarge(req);
        pending.push(Buffer.from(buf));
      }
    }
  } finally {
    clearTimeout(timer);
    res.close();
  }
}

function tooLarge(req: WatchRequest): IsthmusError {
  return new IsthmusError(ErrorCodes.KubeResponseTooLarge, `watch ${req.path}: an event is larger than the ${req.maxEventBytes}-byte limit`);
}
