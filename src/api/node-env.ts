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
