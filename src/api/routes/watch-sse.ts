import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Hono } from 'hono';
import type { WatchableStore } from '../../mvcc/watchable-store.ts';
import { errorResponse, JSON_HEADERS, type GatewayContext } from '../gateway.ts';
import { errorBody } from '../json/encode.ts';
import { type AuthInfo, authorize } from '../middleware/auth-token/index.ts';
import { corsHeaders } from '../middleware/cors/index.ts';
import { methodNotAllowed } from '../middleware/method-not-allowed/index.ts';
import { nodeEnv } from '../node-env.ts';
import type { OpenStreams } from '../streams.ts';
import type { WatchLimits } from '../watch/session.ts';
import { NodeSink, WebStreamSink, type EventSink } from '../watch/sink.ts';
import { SseWatchSession } from '../watch/sse-session.ts';
import { ParamError, sseParams } from '../watch/sse-params.ts';

export const SSE_PATH = '/v3/watch/sse';

/** EventSource sends Last-Event-ID when it reconnects: a cross-origin page's preflight must allow it. */
export const SSE_CORS = { allowHeaders: ['accept', 'content-type', 'authorization', 'last-event-id', 'cache-control'] };

const SSE_HEADERS: Record<string, string> = {
  ...corsHeaders(),
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/** GET /v3/watch/sse: one watch as Server-Sent Events (see SseWatchSession). */
export function sseWatchRoute(
  app: Hono,
  g: GatewayContext,
  store: WatchableStore,
  streams: OpenStreams,
  limits: WatchLimits,
  heartbeatMs: number,
  permitted?: (ai: AuthInfo, key: string, rangeEnd: string) => void,
): void {
  app.get(SSE_PATH, async (c) => {
    let spec: ReturnType<typeof sseParams>;
    try {
      const ai = await authorize(c);
      spec = sseParams(c);
      // The watched range as etcd's request would give it: no end is one key, "\0" is every key from key on.
      permitted?.(ai, spec.key, spec.end === undefined ? '' : spec.end === '' ? '\0' : spec.end);
    } catch (err) {
      if (err instanceof ParamError) return c.body(errorBody(err.message, 3), 400, JSON_HEADERS);
      return errorResponse(c, err);
    }
    const outgoing = nodeEnv(c)?.outgoing;
    let sink: EventSink;
    let web: WebStreamSink | undefined;
    if (outgoing) sink = new NodeSink(outgoing, 200, SSE_HEADERS);
    else sink = web = new WebStreamSink();
    const session = new SseWatchSession(store, sink, limits, g.headerInfo, spec.heartbeatMs ?? heartbeatMs, spec.enc);
    sink.onClose(streams.add(session));
    session.start(spec, spec.retryMs);
    return web ? new Response(web.stream, { status: 200, headers: SSE_HEADERS }) : RESPONSE_ALREADY_SENT;
  });
  app.on(['POST', 'PUT', 'DELETE', 'PATCH'], SSE_PATH, methodNotAllowed());
}
