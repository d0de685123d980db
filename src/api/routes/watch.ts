import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import { FilterType } from '../../mvcc/watcher-group.ts';
import { CORS_HEADERS, JSON_HEADERS, TEXT_HEADERS, type GatewayContext } from '../gateway.ts';
import { httpStatusOf } from '../grpc-status.ts';
import { errorBody } from '../json/encode.ts';
import { emptyRange, GatewayWatchSession, watchRange } from '../watch/gateway-session.ts';
import { WatchRequestStream, type StreamItem } from '../watch/request-stream.ts';
import { DEFAULT_WATCH_LIMITS, type WatchLimits } from '../watch/session.ts';
import { NodeSink, WebStreamSink, type EventSink } from '../watch/sink.ts';
import { SseWatchSession } from '../watch/sse-session.ts';

/** After a refused first request, how much more of the body is read (and dropped) before answering anyway. */
const REFUSAL_DRAIN_BYTES = 16 * 1024 * 1024;
const REFUSAL_DRAIN_MS = 10_000;

export interface WatchRouteOptions extends Partial<WatchLimits> {
  /** Period of SSE heartbeat comments (a query's `heartbeat` may ask for another, >= 100 ms). */
  heartbeatMs?: number;
}

const GRPC_OVERHEAD = 512 * 1024;
const INVALID_TOKEN = 'rpc error: code = Unauthenticated desc = etcdserver: invalid auth token';

export const SSE_HEADERS: Record<string, string> = {
  ...CORS_HEADERS,
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};
// EventSource sends Last-Event-ID when it reconnects: a cross-origin page's preflight must allow it.
const SSE_PREFLIGHT = { ...CORS_HEADERS, 'access-control-allow-headers': 'accept, content-type, authorization, last-event-id, cache-control' };

type NodeEnv = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

export interface WatchRoutes {
  /** Ends every open stream (server shutdown). */
  closeAll(reason?: string): void;
}

/**
 * POST /v3/watch (and /v3beta/watch): etcd's streaming watch through the gateway.
 * GET /v3/watch/sse: one watch as Server-Sent Events (edgecd's own).
 * Register before the catch-all OPTIONS route: the SSE preflight answers differently.
 */
export function watchRoutes(app: Hono, g: GatewayContext, store: WatchableStore, opts: WatchRouteOptions = {}): WatchRoutes {
  const limits: WatchLimits = { ...DEFAULT_WATCH_LIMITS, maxRequestBytes: g.maxRequestBytes, ...stripUndefined(opts) };
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const grpcMax = g.maxRequestBytes + GRPC_OVERHEAD;
  const open = new Set<{ shutdown(reason: string): void }>();

  const methodNotAllowed = (c: Context) => (c.req.method === 'HEAD' ? c.body(null, 405, TEXT_HEADERS) : c.body('Method Not Allowed\n', 405, TEXT_HEADERS));

  const gatewayWatch = async (c: Context): Promise<Response> => {
    const authError = c.req.header('authorization') && !g.authEnabled() ? INVALID_TOKEN : undefined;
    const env = c.env as NodeEnv;
    const decoder = new WatchRequestStream(grpcMax);
    let session: GatewayWatchSession | undefined;
    const begin = (sink: EventSink) => {
      session = new GatewayWatchSession(store, sink, limits, g.headerInfo, authError);
      const s = session;
      const entry = { shutdown: (reason: string) => s.shutdown(reason) };
      open.add(entry);
      sink.onClose(() => open.delete(entry));
    };
    // Items after the first bad one are never read (etcd's gateway stops decoding there).
    const handle = (items: StreamItem[]) => {
      for (const it of items) if ('req' in it) session?.handle(it.req);
    };

    if (env?.incoming && env.outgoing) {
      const { incoming, outgoing } = env;
      let started = false;
      /** The first request was bad: its error, answered once the rest of the body is in. */
      let refusal: (() => void) | undefined;
      let discarded = 0;
      const take = (items: StreamItem[]) => {
        if (!started) {
          if (items.length === 0) return;
          const first = items[0];
          if ('error' in first) {
            // A client still sending would have its connection reset before it read an early
            // answer: the rest of the body is read (and dropped) first, within bounds.
            const timer = setTimeout(() => {
              refusal?.();
              incoming.destroy();
            }, REFUSAL_DRAIN_MS).unref();
            refusal = () => {
              clearTimeout(timer);
              if (outgoing.headersSent) return;
              outgoing.writeHead(httpStatusOf(first.code === 8 ? 8 : 2), JSON_HEADERS);
              outgoing.end(errorBody(first.error, first.code));
            };
            return;
          }
          started = true;
          begin(new NodeSink(outgoing, 200, JSON_HEADERS));
        }
        handle(items);
        if (items.some((it) => 'error' in it)) incoming.pause();
      };
      incoming.on('data', (chunk: Buffer) => {
        if (!refusal) return take(decoder.push(chunk));
        discarded += chunk.length;
        if (discarded > REFUSAL_DRAIN_BYTES) {
          refusal();
          incoming.destroy();
        }
      });
      incoming.on('end', () => {
        if (refusal) return refusal();
        take(decoder.end());
        // Nothing at all was sent: the stream still opens (and stays open, as etcd's does).
        if (!started && !outgoing.headersSent) {
          started = true;
          begin(new NodeSink(outgoing, 200, JSON_HEADERS));
        }
      });
      return RESPONSE_ALREADY_SENT;
    }

    // Other runtimes: the Web request body and a Web stream for the answer.
    const reader = c.req.raw.body?.getReader();
    let ended = !reader;
    let items: StreamItem[] = ended ? decoder.end() : [];
    while (items.length === 0 && !ended) {
      const r = await reader!.read();
      if (r.done) {
        ended = true;
        items = decoder.end();
      } else items = decoder.push(r.value);
    }
    if (items.length && 'error' in items[0]) {
      const first = items[0];
      return c.body(errorBody(first.error, first.code), httpStatusOf(first.code === 8 ? 8 : 2) as 500, JSON_HEADERS);
    }
    const sink = new WebStreamSink();
    begin(sink);
    handle(items);
    if (!ended && !items.some((it) => 'error' in it)) {
      void (async () => {
        for (;;) {
          const r = await reader!.read().catch(() => ({ done: true as const, value: undefined }));
          const next = r.done ? decoder.end() : decoder.push(r.value);
          handle(next);
          if (r.done || next.some((it) => 'error' in it) || sink.closed) break;
        }
      })();
    }
    return new Response(sink.stream, { status: 200, headers: JSON_HEADERS });
  };

  for (const prefix of ['/v3', '/v3beta']) {
    app.post(`${prefix}/watch`, gatewayWatch);
    app.on(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'], `${prefix}/watch`, methodNotAllowed);
  }

  app.options('/v3/watch/sse', (c) => c.body(null, 200, SSE_PREFLIGHT));
  app.get('/v3/watch/sse', (c) => {
    let spec: ReturnType<typeof sseSpec>;
    try {
      const token = c.req.header('authorization') || c.req.query('token');
      if (token && !g.authEnabled()) return c.body(errorBody('etcdserver: invalid auth token', 16), 401, JSON_HEADERS);
      spec = sseSpec(c);
    } catch (err) {
      if (err instanceof ParamError) return c.body(errorBody(err.message, 3), 400, JSON_HEADERS);
      throw err;
    }
    const env = c.env as NodeEnv;
    let sink: EventSink;
    let web: WebStreamSink | undefined;
    if (env?.outgoing) sink = new NodeSink(env.outgoing, 200, SSE_HEADERS);
    else sink = web = new WebStreamSink();
    const session = new SseWatchSession(store, sink, limits, g.headerInfo, spec.heartbeatMs ?? heartbeatMs);
    open.add(session);
    sink.onClose(() => open.delete(session));
    session.start(spec, spec.retryMs);
    return web ? new Response(web.stream, { status: 200, headers: SSE_HEADERS }) : RESPONSE_ALREADY_SENT;
  });
  app.on(['POST', 'PUT', 'DELETE', 'PATCH'], '/v3/watch/sse', methodNotAllowed);

  return {
    closeAll(reason = 'etcdserver: server stopped') {
      for (const s of [...open]) s.shutdown(reason);
      open.clear();
    },
  };
}

class ParamError extends Error {}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Query parameters of GET /v3/watch/sse. Keys are base64 as in the gateway, or text with encoding=text. */
function sseSpec(c: Context) {
  const q = (name: string) => c.req.query(name);
  const encoding = q('encoding') ?? 'base64';
  if (encoding !== 'base64' && encoding !== 'text') throw new ParamError(`invalid encoding "${encoding}": want base64 or text`);
  const bytes = (name: string): string | undefined => {
    const v = q(name);
    if (v === undefined) return undefined;
    if (encoding === 'text') return Buffer.from(v, 'utf8').toString('latin1');
    // A '+' in a query string arrives as a space; the URL-safe alphabet is accepted too.
    const s = v.replace(/ /g, '+').replace(/-/g, '+').replace(/_/g, '/');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw new ParamError(`illegal base64 data in ${name}`);
    return Buffer.from(s, 'base64').toString('latin1');
  };
  const bool = (name: string, alias?: string): boolean => {
    const v = q(name) ?? (alias ? q(alias) : undefined);
    if (v === undefined) return false;
    if (v === '' || v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new ParamError(`invalid ${name} "${v}": want true or false`);
  };
  const int = (name: string, min: number): number | undefined => {
    const v = q(name);
    if (v === undefined || v === '') return undefined;
    if (!/^-?\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new ParamError(`invalid ${name} "${v}"`);
    return Number(v);
  };

  let key: string;
  let end: string | undefined;
  const prefix = bytes('prefix');
  if (prefix !== undefined) {
    key = prefix === '' ? '\0' : prefix;
    end = prefix === '' ? '' : prefixEnd(prefix);
  } else {
    const k = bytes('key');
    if (k === undefined) throw new ParamError('etcdserver: key is not provided');
    ({ key, end } = watchRange(k, bytes('range_end') ?? ''));
  }
  if (emptyRange(key, end)) throw new ParamError('mvcc: watcher range is empty');

  const filters: number[] = [];
  for (const raw of c.req.queries('filters') ?? []) {
    for (const f of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const n = f in FilterType ? FilterType[f as keyof typeof FilterType] : /^\d+$/.test(f) ? Number(f) : NaN;
      if (Number.isNaN(n)) throw new ParamError(`unknown value "${f}" for enum etcdserverpb.WatchCreateRequest_FilterType`);
      filters.push(n);
    }
  }

  let startRev = int('start_revision', 0) ?? 0;
  const last = c.req.header('last-event-id') ?? q('last_event_id');
  if (last !== undefined && last !== '') {
    if (!/^\d+$/.test(last)) throw new ParamError(`invalid Last-Event-ID "${last}"`);
    startRev = Number(last) + 1;
  }
  return {
    key,
    end,
    startRev,
    prevKv: bool('prev_kv'),
    filters,
    progressNotify: bool('progress_notify', 'progress'),
    heartbeatMs: int('heartbeat', 100),
    retryMs: int('retry', 0),
  };
}

/** The range_end that covers every key starting with prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '';
}
