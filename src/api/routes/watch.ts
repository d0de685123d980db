import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import { bytesEncodingOf } from '../encoding-param.ts';
import { EtcdError } from '../etcd-errors.ts';
import { errorResponse, GATEWAY_PREFIXES, JSON_HEADERS, NODE_JSON_HEADERS, type GatewayContext } from '../gateway.ts';
import type { BytesEncoding } from '../json/bytes-encoding.ts';
import { httpStatusOf } from '../grpc-status.ts';
import { errorBody } from '../json/encode.ts';
import { type AuthInfo, authorize } from '../middleware/auth-token/index.ts';
import { postOnly } from '../middleware/method-not-allowed/index.ts';
import { streamingBody } from '../middleware/request-limits/index.ts';
import { closeWhenSent, nodeEnv } from '../node-env.ts';
import { watchCancelReason } from '../watch/encode.ts';
import { readGatewayWatchBody } from '../watch/gateway-body.ts';
import type { OpenStreams } from '../streams.ts';
import { GatewayWatchSession } from '../watch/gateway-session.ts';
import { WatchRequestStream, type StreamItem } from '../watch/request-stream.ts';
import { DEFAULT_WATCH_LIMITS, type WatchLimits } from '../watch/session.ts';
import { NodeSink, WebStreamSink, type EventSink } from '../watch/sink.ts';
import { sseWatchRoute } from './watch-sse.ts';

export interface WatchRouteOptions extends Partial<WatchLimits> {
  /** Period of SSE heartbeat comments (a query's `heartbeat` may ask for another, >= 100 ms). */
  heartbeatMs?: number;
  /** Throws etcd's error unless the caller may read the range (key and range_end as the request gives them). */
  permitted?: (ai: AuthInfo, key: string, rangeEnd: string) => void;
}

/** An etcd error as a watch's cancel_reason says it. */
const cancelReason = (err: EtcdError) => watchCancelReason(err.code, err.message);

/**
 * Who a stream's create requests come from, or why every one of them is refused, as etcd words a
 * cancel_reason: the token is checked per create request, and a bad one cancels the watch, not the
 * stream.
 */
async function callerOf(c: Context): Promise<{ ai: AuthInfo } | { refusal: string }> {
  try {
    return { ai: await authorize(c) };
  } catch (err) {
    if (!(err instanceof EtcdError)) throw err;
    return { refusal: cancelReason(err) };
  }
}

/**
 * POST /v3/watch (and /v3beta/watch): etcd's streaming watch through the gateway, and
 * GET /v3/watch/sse: one watch as Server-Sent Events (edgecd's own).
 */
export function watchRoutes(app: Hono, g: GatewayContext, store: WatchableStore, streams: OpenStreams, opts: WatchRouteOptions = {}): void {
  const limits: WatchLimits = { ...DEFAULT_WATCH_LIMITS, maxRequestBytes: g.limits.maxRequestBytes, ...stripUndefined(opts) };
  const { grpcMax } = g.limits;

  const gatewayWatch = async (c: Context): Promise<Response> => {
    let enc: BytesEncoding;
    try {
      enc = bytesEncodingOf(c);
    } catch (err) {
      return errorResponse(c, err);
    }
    const caller = await callerOf(c);
    // A create request the caller may not read is refused (etcd checks the range at creation).
    const refusal = (key: string, rangeEnd: string): string | undefined => {
      if ('refusal' in caller) return caller.refusal;
      try {
        opts.permitted?.(caller.ai, key, rangeEnd);
        return undefined;
      } catch (err) {
        if (!(err instanceof EtcdError)) throw err;
        return cancelReason(err);
      }
    };
    const env = nodeEnv(c);
    const decoder = new WatchRequestStream(grpcMax, enc);
    let session: GatewayWatchSession | undefined;
    const begin = (sink: EventSink) => {
      session = new GatewayWatchSession(store, sink, limits, g.headerInfo, refusal, enc);
      const s = session;
      const outgoing = env?.outgoing;
      const shutdown = (reason: string) => {
        s.shutdown(reason);
        if (outgoing) closeWhenSent(outgoing);
      };
      sink.onClose(streams.add({ shutdown }));
    };
    // Items after the first bad one are never read (etcd's gateway stops decoding there).
    const handle = (items: StreamItem[]) => {
      for (const it of items) if ('req' in it) session?.handle(it.req);
    };

    if (env?.incoming && env.outgoing) {
      const { outgoing } = env;
      readGatewayWatchBody(env.incoming, outgoing, decoder, () => begin(new NodeSink(outgoing, 200, NODE_JSON_HEADERS)), (req) => session?.handle(req));
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

  // A watch stream's body stays open as long as its client keeps adding requests to it.
  const longBody = streamingBody();
  for (const prefix of GATEWAY_PREFIXES) postOnly(app, `${prefix}/watch`, longBody, gatewayWatch);
  sseWatchRoute(app, g, store, streams, limits, opts.heartbeatMs ?? 15_000, opts.permitted);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
