import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

/** What @hono/node-server hands a route as c.env: Node's own request and response. */
export type NodeEnv = { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;

export const nodeEnv = (c: Context): NodeEnv => c.env as NodeEnv;

/**
 * A request header, read from Node's parsed headers when there are some: asking Hono for it builds
 * a Web Headers object, which costs the adapter its fast path.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeEnv)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Grace for a stream's last bytes to reach a client at shutdown before its connection is dropped. */
const LAST_WORDS_MS = 2_000;

/**
 * Closes a stream's connection once its ended response is on the wire (or after a grace, for a
 * client that stopped reading). A streaming request's connection is out of Node's list of requests
 * in flight, so closing the server would not close it.
 */
export function closeWhenSent(outgoing: ServerResponse): void {
  const drop = (): void => void outgoing.socket?.destroy();
  if (outgoing.writableFinished) return drop();
  outgoing.once('finish', drop);
  setTimeout(drop, LAST_WORDS_MS).unref();
}
