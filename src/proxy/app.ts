import type { IncomingMessage } from 'node:http';
import { Hono, type Context } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { bytesEncodingOf } from '../api/encoding-param.ts';
import { errorResponse, GATEWAY_PREFIXES, NODE_JSON_HEADERS } from '../api/gateway.ts';
import { errorBody } from '../api/json/encode.ts';
import { GRPC_OVERHEAD } from '../api/middleware/request-limits/index.ts';
import { readGatewayWatchBody } from '../api/watch/gateway-body.ts';
import { WatchRequestStream } from '../api/watch/request-stream.ts';
import { corsHeaders } from '../api/middleware/cors/index.ts';
import { closeWhenSent, nodeEnv } from '../api/node-env.ts';
import { SSE_CORS, SSE_PATH } from '../api/routes/watch-sse.ts';
import { NodeSink } from '../api/watch/sink.ts';
import { ParamError, sseParams } from '../api/watch/sse-params.ts';
import { GatewayStream } from './gateway-stream.ts';
import { unavailableBody } from './node-upstream.ts';
import type { ProxyCore } from './proxy.ts';
import { SseSubscriber } from './sse.ts';

const SSE_HEADERS: Record<string, string> = {
  ...corsHeaders(),
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};
const JSON_HEADERS: Record<string, string> = { ...corsHeaders(), 'content-type': 'application/json' };
const PREFLIGHT = corsHeaders(SSE_CORS);

/** Routes whose request body is a stream that stays open: passed through as they come (POST /v3/watch is served from the feeds). */
const STREAM_ROUTES = /^\/v3(beta)?\/(watch|lease\/keepalive|election\/observe)$/;
const RANGE_ROUTE = /^\/v3(beta)?\/kv\/range$/;
/** The most of a request body the proxy holds to send again to another member. */
const MAX_BODY = 64 * 1024 * 1024;

function readBody(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    incoming.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new Error('request body too large'));
        incoming.destroy();
        return;
      }
      chunks.push(c);
    });
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}

const tokenOf = (incoming: IncomingMessage): string | undefined => {
  const t = incoming.headers.authorization;
  return t ? t : undefined;
};

/**
 * The proxy's HTTP face: GET /v3/watch/sse from shared upstream watches, serializable ranges from
 * the read cache, every other route passed through to the cluster (streams too). Node only: it
 * writes to Node's response (see ARCHITECTURE.md, HTTP speed).
 */
export function proxyApp(core: ProxyCore): Hono {
  const app = new Hono();

  app.options('*', (c) => c.body(null, 200, PREFLIGHT));

  app.get('/metrics', (c) => c.body(core.metricsText(), 200, { 'content-type': 'text/plain; version=0.0.4' }));

  app.get(SSE_PATH, async (c) => {
    const env = nodeEnv(c);
    if (!env?.outgoing || !env.incoming) return c.body('edgecd proxy runs on Node', 500);
    const token = tokenOf(env.incoming) ?? (c.req.query('token') || undefined);
    let spec: ReturnType<typeof sseParams>;
    try {
      spec = sseParams(c);
    } catch (err) {
      if (err instanceof ParamError) return c.body(errorBody(err.message, 3), 400, JSON_HEADERS);
      throw err;
    }
    const feedSpec = { key: spec.key, end: spec.end, prevKv: spec.prevKv, filters: spec.filters };
    let refusal;
    try {
      refusal = await core.permitted(feedSpec, token);
    } catch (err) {
      return c.body(unavailableBody(`no member answers: ${(err as Error).message}`), 503, JSON_HEADERS);
    }
    if (refusal) return c.body(refusal.body, refusal.status as 401, JSON_HEADERS);
    const sink = new NodeSink(env.outgoing, 200, SSE_HEADERS);
    const feed = core.feedFor(feedSpec);
    const sub: SseSubscriber = new SseSubscriber(sink, spec.enc, token, spec.progressNotify, core.limits, () => feed.resume(sub), spec.heartbeatMs);
    if (spec.retryMs !== undefined) sub.write(`retry: ${spec.retryMs}\n\n`);
    core.subscribers.add(sub);
    sub.onClosed = () => {
      core.subscribers.delete(sub);
      feed.leave(sub);
    };
    feed.join(sub, spec.startRev > 0 ? spec.startRev - 1 : undefined);
    return RESPONSE_ALREADY_SENT;
  });

  // POST /v3/watch: etcd's gateway watch stream, answered from the shared feeds as a member answers it.
  const gatewayWatch = (c: Context) => {
    const env = nodeEnv(c);
    if (!env?.outgoing || !env.incoming) return c.body('edgecd proxy runs on Node', 500);
    const { incoming, outgoing } = env;
    let enc: ReturnType<typeof bytesEncodingOf>;
    try {
      enc = bytesEncodingOf(c);
    } catch (err) {
      return errorResponse(c, err);
    }
    const decoder = new WatchRequestStream(core.watchLimits.maxRequestBytes + GRPC_OVERHEAD, enc);
    let stream: GatewayStream | undefined;
    const begin = () => {
      const s = new GatewayStream(core, new NodeSink(outgoing, 200, NODE_JSON_HEADERS), enc, tokenOf(incoming), core.watchLimits);
      core.gatewayStreams.add(s);
      s.onClosed = () => core.gatewayStreams.delete(s);
      s.onEnded = () => closeWhenSent(outgoing);
      stream = s;
    };
    readGatewayWatchBody(incoming, outgoing, decoder, begin, (req) => stream?.handle(req));
    return RESPONSE_ALREADY_SENT;
  };
  for (const prefix of GATEWAY_PREFIXES) app.post(`${prefix}/watch`, gatewayWatch);

  app.all('*', async (c) => {
    const env = nodeEnv(c);
    if (!env?.outgoing || !env.incoming) return c.body('edgecd proxy runs on Node', 500);
    const { incoming, outgoing } = env;
    const path = c.req.path;
    if (incoming.method === 'POST' && STREAM_ROUTES.test(path)) {
      core.forward(incoming, outgoing, undefined);
      return RESPONSE_ALREADY_SENT;
    }
    let body: Buffer;
    try {
      body = await readBody(incoming);
    } catch {
      return c.body(errorBody('edgecd proxy: request body too large', 8), 413, JSON_HEADERS);
    }
    if (incoming.method === 'POST' && RANGE_ROUTE.test(path) && core.cache) {
      try {
        const a = await core.cache.range(incoming.url ?? path, body.toString('utf8'), tokenOf(incoming));
        outgoing.writeHead(a.status, JSON_HEADERS);
        outgoing.end(a.body);
      } catch (err) {
        outgoing.writeHead(503, JSON_HEADERS);
        outgoing.end(unavailableBody(`no member answers: ${(err as Error).message}`));
      }
      return RESPONSE_ALREADY_SENT;
    }
    core.forward(incoming, outgoing, body);
    return RESPONSE_ALREADY_SENT;
  });

  return app;
}
