import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import { Code, EtcdError, viaClient } from '../../errors.ts';
import type { KeyValue } from '../../mvcc/types.ts';
import type { ElectionService, Observer, ObserveSink } from '../../server/member.ts';
import { bytesEncodingOf } from '../encoding-param.ts';
import { errorResponse, GATEWAY_PREFIXES, JSON_HEADERS, NODE_JSON_HEADERS, type GatewayContext } from '../gateway.ts';
import { bytesEncodingNamed, type BytesEncoding } from '../json/bytes-encoding.ts';
import { LeaderRequestDesc } from '../json/concurrency-messages.ts';
import { leaderResponse } from '../json/concurrency-responses.ts';
import { errorBody, headerOnly } from '../json/encode.ts';
import { decodeBody } from '../json/proto-decode.ts';
import { limitRequestBody, tooLargeForGrpc } from '../middleware/request-limits/index.ts';
import { corsHeaders } from '../middleware/cors/index.ts';
import { methodNotAllowed, postOnly } from '../middleware/method-not-allowed/index.ts';
import { closeWhenSent, nodeEnv } from '../node-env.ts';
import { BodyTooLarge, readBody } from '../read-body.ts';
import type { OpenStreams } from '../streams.ts';
import { bytesParam, lastEventId, ParamError } from '../watch/sse-params.ts';
import { NodeSink, WebStreamSink, type EventSink } from '../watch/sink.ts';
import { callerOf } from './lock.ts';

export const OBSERVE_SSE_PATH = '/v3/election/observe/sse';

/** Bytes queued for a slow observer before it stops taking events live and catches up from history. */
const HIGH_WATER = 1 << 20;

const SSE_HEADERS: Record<string, string> = { ...corsHeaders(), 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' };

/** What an observer's stream writes: the gateway's result lines, or SSE messages. */
interface ObserveFormat {
  created?(rev: number): string;
  leader(kv: KeyValue, rev: number): string;
  /** The stream cannot go on: history it needed was compacted away. */
  compacted(err: EtcdError): string;
  /** The member shuts down. */
  shutdown(reason: string): string;
}

/**
 * One observer's stream: the response starts with the first thing to say (so an error found
 * before that is still an ordinary error answer), and ends when the client goes.
 */
class ObserveStream implements ObserveSink {
  private sink: EventSink | undefined;
  private observer: Observer | undefined;
  private ended = false;

  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly open: () => EventSink,
    private readonly format: ObserveFormat,
    private readonly untrack: { fn?: () => void },
    heartbeatMs?: number,
  ) {
    // SSE comments keep proxies from cutting a quiet stream (and show a dead connection).
    if (heartbeatMs) {
      this.heartbeat = setInterval(() => {
        if (this.writable) this.started.write(': heartbeat\n\n');
      }, heartbeatMs);
      this.heartbeat.unref?.();
    }
  }

  get writable(): boolean {
    return !this.ended && (!this.sink || this.sink.buffered < HIGH_WATER);
  }

  get started(): EventSink {
    if (!this.sink) {
      this.sink = this.open();
      this.sink.onDrain(() => this.observer?.kick());
      this.sink.onClose(() => this.finish());
    }
    return this.sink;
  }

  attach(o: Observer): void {
    this.observer = o;
    if (this.ended) o.close();
  }

  start(rev: number): void {
    if (this.format.created) this.started.write(this.format.created(rev));
  }

  leader(kv: KeyValue, rev: number): void {
    if (!this.ended) this.started.write(this.format.leader(kv, rev));
  }

  end(err: unknown): void {
    if (this.ended) return;
    this.started.write(this.format.compacted(err instanceof EtcdError ? err : new EtcdError(Code.Unknown, String(err))));
    this.close();
  }

  shutdown(reason: string): void {
    if (this.ended) return;
    this.started.write(this.format.shutdown(reason));
    this.close();
  }

  /** The client went away, perhaps before anything was written. */
  abandon(): void {
    this.finish();
  }

  private close(): void {
    const sink = this.started;
    this.finish();
    sink.end();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.observer?.close();
    this.untrack.fn?.();
  }
}

function gatewayFormat(g: GatewayContext, enc: BytesEncoding): ObserveFormat {
  const errorLine = (code: number, status: number, text: string, message: string) =>
    `{"error":{"grpc_code":${code},"http_code":${status},"message":${JSON.stringify(message)},"http_status":"${text}"}}\n`;
  return {
    leader: (kv, rev) => `{"result":${leaderResponse({ revision: rev }, g.headerInfo(), kv, enc)}}\n`,
    // etcd's observe ends its stream quietly when its watch fails.
    compacted: () => '',
    shutdown: (reason) => errorLine(14, 503, 'Service Unavailable', reason),
  };
}

function sseFormat(g: GatewayContext, enc: BytesEncoding): ObserveFormat {
  return {
    created: (rev) => `event: created\nid: ${rev}\ndata: ${headerOnly({ revision: rev }, g.headerInfo())}\n\n`,
    leader: (kv, rev) => `id: ${rev}\ndata: ${leaderResponse({ revision: rev }, g.headerInfo(), kv, enc)}\n\n`,
    compacted: (err) => `event: compacted\ndata: ${errorBody(err.message, err.code)}\n\n`,
    // As the watch stream: a comment, so the browser reconnects and resumes after its last id.
    shutdown: (reason) => `: ${reason.replace(/[\r\n]/g, ' ')}\n\n`,
  };
}

function sinkFor(c: Context, status: number, headers: Record<string, string>): { open: () => EventSink; web?: WebStreamSink } {
  const outgoing = nodeEnv(c)?.outgoing;
  if (outgoing) return { open: () => new NodeSink(outgoing, status, headers) };
  const web = new WebStreamSink();
  return { open: () => web, web };
}

/**
 * POST /v3/election/observe (etcd's server stream: one LeaderRequest in, a {"result": LeaderResponse}
 * line for the current leader and each change), and GET /v3/election/observe/sse (the same as
 * Server-Sent Events with `id:` the revision, resumable with Last-Event-ID).
 */
export function observeRoutes(app: Hono, g: GatewayContext, elections: ElectionService, streams: OpenStreams, heartbeatMs = 15_000): void {
  const run = async (c: Context, name: string, format: ObserveFormat, headers: Record<string, string>, afterRev?: number, heartbeatMs?: number): Promise<Response> => {
    const ai = await callerOf(c);
    const untrack: { fn?: () => void } = {};
    const { open, web } = sinkFor(c, 200, headers);
    const stream = new ObserveStream(open, format, untrack, heartbeatMs);
    untrack.fn = streams.add(stream);
    try {
      stream.attach(await elections.observe(name, ai, stream, { afterRev }));
    } catch (err) {
      untrack.fn();
      if (afterRev !== undefined && err instanceof EtcdError && err.code === Code.OutOfRange) {
        stream.end(err);
        return web ? new Response(web.stream, { status: 200, headers }) : RESPONSE_ALREADY_SENT;
      }
      throw viaClient(err);
    }
    const outgoing = nodeEnv(c)?.outgoing;
    if (outgoing) {
      // etcd's gateway sends a stream's headers with its first message: observing a name without a
      // leader answers nothing at all until one is elected (etcd 3.4.23, golden case
      // observe-no-leader). So the response may not have begun when the client goes: that too
      // ends the observer.
      outgoing.once('close', () => stream.abandon());
      outgoing.once('finish', () => closeWhenSent(outgoing));
    } else {
      // A Web Response carries its headers as soon as it is returned.
      void stream.started;
    }
    return web ? new Response(web.stream, { status: 200, headers }) : RESPONSE_ALREADY_SENT;
  };

  const limit = limitRequestBody(g.limits);
  const gateway = async (c: Context): Promise<Response> => {
    try {
      const enc = bytesEncodingOf(c);
      const body = await readBody(c, g.limits.bodyCap).catch((err) => {
        throw err instanceof BodyTooLarge ? tooLargeForGrpc(err.size, g.limits) : err;
      });
      const req = decodeBody<{ name: string }>(body, LeaderRequestDesc, enc);
      try {
        return await run(c, req.name, gatewayFormat(g, enc), NODE_JSON_HEADERS);
      } catch {
        // etcd's observe ends its stream at once, with nothing in it, when its first read fails
        // (a bad token, no permission): recorded from etcd 3.4.23.
        return c.body('', 200, JSON_HEADERS);
      }
    } catch (err) {
      return errorResponse(c, err);
    }
  };
  for (const prefix of GATEWAY_PREFIXES) postOnly(app, prefix + '/election/observe', limit, gateway);

  app.get(OBSERVE_SSE_PATH, async (c) => {
    try {
      const encoding = c.req.query('encoding');
      const enc = bytesEncodingNamed(encoding);
      if (!enc) throw new ParamError(`invalid encoding "${encoding}": want base64 or text`);
      const name = bytesParam(c, enc, 'name') ?? '';
      const hb = c.req.query('heartbeat');
      if (hb !== undefined && (!/^\d+$/.test(hb) || Number(hb) < 100)) throw new ParamError(`invalid heartbeat "${hb}"`);
      return await run(c, name, sseFormat(g, enc), SSE_HEADERS, lastEventId(c), hb ? Number(hb) : heartbeatMs);
    } catch (err) {
      if (err instanceof ParamError) return c.body(errorBody(err.message, 3), 400, JSON_HEADERS);
      return errorResponse(c, err);
    }
  });
  app.on(['POST', 'PUT', 'DELETE', 'PATCH'], OBSERVE_SSE_PATH, methodNotAllowed());
}
