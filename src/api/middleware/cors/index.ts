import type { MiddlewareHandler } from 'hono';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';

export interface CorsOptions {
  /** Only etcd's default, '*', for now: a list of origins (etcd's --cors) would echo the request's. */
  origin?: '*';
  allowMethods?: string[];
  allowHeaders?: string[];
}

/** The headers etcd 3.4 puts on every answer, whatever the route, status or method. */
export function corsHeaders(o: CorsOptions = {}): Record<string, string> {
  return {
    'access-control-allow-origin': o.origin ?? '*',
    'access-control-allow-methods': (o.allowMethods ?? ['POST', 'GET', 'OPTIONS', 'PUT', 'DELETE']).join(', '),
    'access-control-allow-headers': (o.allowHeaders ?? ['accept', 'content-type', 'authorization']).join(', '),
  };
}

/**
 * etcd's CORS handler: it wraps the whole server, so a preflight (OPTIONS on any path, known route
 * or not) answers 200 with no body and no content type before routing, and every other answer gets
 * the headers. Answers written straight to Node's response (the gateway's fast path, streams) put
 * corsHeaders() in their own header list: this middleware cannot reach them once they are sent.
 */
export function cors(o: CorsOptions = {}): MiddlewareHandler {
  const headers = corsHeaders(o);
  const entries = Object.entries(headers);
  return async function corsMiddleware(c, next) {
    if (c.req.method === 'OPTIONS') return c.body(null, 200, headers);
    await next();
    const res = c.res;
    if (res === RESPONSE_ALREADY_SENT) return;
    for (const [k, v] of entries) if (!res.headers.has(k)) res.headers.set(k, v);
  };
}
