import type { IncomingMessage, ServerResponse } from 'node:http';
import { NODE_JSON_HEADERS } from '../gateway.ts';
import { httpStatusOf } from '../grpc-status.ts';
import { errorBody } from '../json/encode.ts';
import type { WatchRequest } from '../json/watch-messages.ts';
import { answerAfterBody } from '../node-env.ts';
import type { StreamItem, WatchRequestStream } from './request-stream.ts';

/**
 * Reads a POST /v3/watch body on Node as etcd's gateway does, for whoever answers it (the member's
 * session, the proxy's shared feeds): a first request that does not decode is answered with an HTTP
 * error once the body is in; otherwise the stream opens (`begin`, at the first request, or at the
 * end of a body that held none: the stream still opens and stays open, as etcd's does) and each
 * request is handed to `handle` in order. Items after the first bad one are never read (etcd's
 * gateway stops decoding there), and the body is paused.
 */
export function readGatewayWatchBody(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  decoder: WatchRequestStream,
  begin: () => void,
  handle: (req: WatchRequest) => void,
): void {
  let started = false;
  let refused = false;
  const take = (items: StreamItem[]) => {
    if (!started) {
      if (items.length === 0) return;
      const first = items[0];
      if ('error' in first) {
        refused = true;
        answerAfterBody(incoming, () => {
          if (outgoing.headersSent) return;
          outgoing.writeHead(httpStatusOf(first.code === 8 ? 8 : 2), NODE_JSON_HEADERS);
          outgoing.end(errorBody(first.error, first.code));
        });
        return;
      }
      started = true;
      begin();
    }
    for (const it of items) if ('req' in it) handle(it.req);
    if (items.some((it) => 'error' in it)) incoming.pause();
  };
  incoming.on('data', (chunk: Buffer) => {
    if (!refused) take(decoder.push(chunk));
  });
  incoming.on('end', () => {
    if (refused) return;
    take(decoder.end());
    if (!started && !outgoing.headersSent) {
      started = true;
      begin();
    }
  });
}
