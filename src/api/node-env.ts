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

/** Most of a refused stream's body read and dropped before its error is answered, and for how long. */
const REFUSAL_DRAIN_BYTES = 16 * 1024 * 1024;
const REFUSAL_DRAIN_MS = 10_000;

/**
 * Answers a refused stream once the rest of its body is in (read and dropped, within bounds): a
 * client still sending would have its connection reset before it read an earlier answer.
 */
export function answerAfterBody(incoming: IncomingMessage, answer: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    answer();
  };
  const timer = setTimeout(() => {
    once();
    incoming.destroy();
  }, REFUSAL_DRAIN_MS);
  timer.unref();
  if (incoming.readableEnded) return once();
  let dropped = 0;
  incoming.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > REFUSAL_DRAIN_BYTES) {
      once();
      incoming.destroy();
    }
  });
  incoming.once('end', once);
  incoming.resume();
}

/**
 * Aborted when the client goes away before its answer is written (a lock or a campaign waiting:
 * etcd cancels the request's context, and the waiter takes its key back).
 */
export function clientGone(c: Context): AbortSignal {
  const outgoing = (c.env as NodeEnv)?.outgoing;
  if (!outgoing) return c.req.raw.signal;
  const ac = new AbortController();
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) ac.abort(new Error('client went away'));
  });
  return ac.signal;
}
