import type { Handler, Hono } from 'hono';

const TEXT = 'text/plain; charset=utf-8';

/**
 * Go's 405: grpc-gateway's mux answers it with no Allow header, Go's own mux (GET /version) with
 * one. HEAD gets the status alone.
 */
export function methodNotAllowed(opts: { allow?: string } = {}): Handler {
  const headers: Record<string, string> = opts.allow ? { 'content-type': TEXT, allow: opts.allow } : { 'content-type': TEXT };
  return (c) => (c.req.method === 'HEAD' ? c.body(null, 405, headers) : c.body('Method Not Allowed\n', 405, headers));
}

const NOT_POST = ['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'];
const refuse = methodNotAllowed();

/** A gateway route: POST runs the handlers, every other method answers 405 (never 404). */
export function postOnly(app: Hono, path: string, ...handlers: Handler[]): void {
  app.post(path, ...(handlers as [Handler]));
  app.on(NOT_POST, path, refuse);
}
