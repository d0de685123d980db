import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context, Hono } from 'hono';
import type { Member } from '../../server/member.ts';
import { errorBody } from '../json/encode.ts';
import { decodeMessage } from '../json/proto-decode.ts';
import { JsonValueStream, type StreamItem } from '../json/value-stream.ts';
import { LeaseKeepAliveRequestDesc } from '../json/lease-messages.ts';
import { leaseKeepAliveLine } from '../json/lease-responses.ts';
import { GATEWAY_PREFIXES, JSON_HEADERS, NODE_JSON_HEADERS, type GatewayContext } from '../gateway.ts';
import { httpStatusOf } from '../grpc-status.ts';
import { postOnly } from '../middleware/method-not-allowed/index.ts';
import { streamingBody } from '../middleware/request-limits/index.ts';
import { answerAfterBody, closeWhenSent, nodeEnv } from '../node-env.ts';
import type { OpenStreams } from '../streams.ts';

/** Most bytes of a half-received request kept while waiting for the rest of it. */
const MAX_PENDING = 1 << 20;

/**
 * POST /v3/lease/keepalive: a stream of {"ID": …} objects in, one {"result": {header, ID, TTL}}
 * line out per request, in order. TTL is left out (0) for a lease that does not exist. As in etcd
 * 3.4, a keep-alive does not look at the caller's token.
 */
export function leaseKeepAliveRoute(app: Hono, g: GatewayContext, member: Member, streams: OpenStreams): void {
  const handler = async (c: Context): Promise<Response> => {
    const env = nodeEnv(c);
    if (!env?.incoming || !env.outgoing) return c.body(errorBody('streaming needs the Node server', 12), 501, JSON_HEADERS);
    const { incoming, outgoing } = env;
    const requests = new JsonValueStream((node) => decodeMessage(node, LeaseKeepAliveRequestDesc) as { ID: bigint }, MAX_PENDING);
    let started = false;
    let closed = false;
    // Answers go out in request order even though renewals may finish out of order.
    let chain: Promise<void> = Promise.resolve();
    const start = () => {
      if (started) return;
      started = true;
      outgoing.writeHead(200, NODE_JSON_HEADERS);
      outgoing.flushHeaders();
    };
    const fail = (message: string, code: number) => {
      closed = true;
      if (!started) {
        // The first request was bad: answered once the rest of the body is in, as the watch route does.
        answerAfterBody(incoming, () => {
          if (outgoing.headersSent) return;
          outgoing.writeHead(httpStatusOf(code), NODE_JSON_HEADERS);
          outgoing.end(errorBody(message, code));
        });
        return;
      }
      incoming.pause();
      chain = chain.then(() => void outgoing.end(JSON.stringify({ error: { grpc_code: code, http_code: httpStatusOf(code), message, http_status: '' } }) + '\n'));
    };
    const renew = (id: bigint) => {
      start();
      const answer = member.leases.renew(id).then(
        (ttl) => leaseKeepAliveLine(member.revision, g.headerInfo(), id, ttl),
        (err: Error & { code?: number }) => ({ err }),
      );
      chain = chain.then(async () => {
        const out = await answer;
        if (closed && typeof out !== 'string') return;
        if (typeof out === 'string') outgoing.write(out);
        else fail(out.err.message, out.err.code ?? 2);
      });
    };
    const take = (items: StreamItem<{ ID: bigint }>[]) => {
      for (const item of items) {
        if (closed) return;
        if ('error' in item) fail(item.error, item.code);
        else renew(item.req.ID);
      }
    };
    const untrack = streams.add({
      shutdown() {
        closed = true;
        incoming.pause();
        chain = chain.then(() => {
          start();
          outgoing.end();
          closeWhenSent(outgoing);
        });
      },
    });
    incoming.on('data', (chunk: Buffer) => {
      if (!closed) take(requests.push(chunk));
    });
    incoming.on('end', () => {
      if (!closed) take(requests.end());
      chain = chain.then(() => {
        if (closed) return;
        start();
        outgoing.end();
      });
    });
    outgoing.on('close', () => {
      closed = true;
      untrack();
    });
    return RESPONSE_ALREADY_SENT;
  };
  // A keep-alive stream's body stays open as long as its client keeps the lease alive.
  const longBody = streamingBody();
  for (const prefix of GATEWAY_PREFIXES) postOnly(app, `${prefix}/lease/keepalive`, longBody, handler);
}
