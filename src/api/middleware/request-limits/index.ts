import type { MiddlewareHandler } from 'hono';
import { EtcdError } from '../../etcd-errors.ts';
import { errorBody } from '../../json/encode.ts';
import type { MessageDesc } from '../../json/proto-decode.ts';
import { messageSize } from '../../json/proto-size.ts';
import { nodeEnv } from '../../node-env.ts';

/** gRPC's own cap sits this far above --max-request-bytes in etcd (its grpcOverheadBytes). */
export const GRPC_OVERHEAD = 512 * 1024;
// InternalRaftRequest wraps a request with a header holding a request id: about this many bytes.
const RAFT_ENVELOPE = 16;
// JSON spends 4/3 on base64 and may carry unknown fields: a body gets this much room over the gRPC
// limit, but not without end.
const BODY_SLACK = 4;

export interface RequestLimits {
  /** --max-request-bytes: the largest request as a raft entry. */
  maxRequestBytes: number;
  /** gRPC's cap on one protobuf-encoded request (and on a watch response before it is fragmented). */
  grpcMax: number;
  /** The most bytes of JSON read for one request (or kept of a half-received one on a stream). */
  bodyCap: number;
}

export function requestLimits(maxRequestBytes: number): RequestLimits {
  const grpcMax = maxRequestBytes + GRPC_OVERHEAD;
  return { maxRequestBytes, grpcMax, bodyCap: BODY_SLACK * grpcMax };
}

export const tooLargeForGrpc = (size: number, l: RequestLimits): EtcdError =>
  new EtcdError(8, `grpc: received message larger than max (${size} vs. ${l.grpcMax})`);

/**
 * The protobuf size of a decoded request, because etcd's limits apply to that, not to the JSON:
 * undefined when the JSON is small enough that no limit can apply (a request's protobuf form is
 * never larger than its JSON), which spares sizing on nearly every request.
 */
export function protoSize(req: object, desc: MessageDesc, jsonBytes: number, l: RequestLimits): number | undefined {
  if (jsonBytes + RAFT_ENVELOPE <= l.maxRequestBytes) return undefined;
  return messageSize(req as Record<string, unknown>, desc);
}

/** gRPC refuses a message over grpcMax before etcd sees it. */
export function checkGrpcSize(size: number | undefined, l: RequestLimits): void {
  if (size !== undefined && size > l.grpcMax) throw tooLargeForGrpc(size, l);
}

/** etcd's server refuses a request whose raft entry would pass --max-request-bytes (after it checked the token). */
export function checkRaftSize(size: number | undefined, l: RequestLimits): void {
  if (size !== undefined && size + RAFT_ENVELOPE > l.maxRequestBytes) throw new EtcdError(3, 'etcdserver: request is too large');
}

/** Refuses, unread, a body whose declared length is past what any request could need. */
export function limitRequestBody(l: RequestLimits): MiddlewareHandler {
  const headers = { 'content-type': 'application/json' };
  return function limitRequestBodyMiddleware(c, next) {
    const incoming = nodeEnv(c)?.incoming;
    const declared = Number((incoming ? incoming.headers['content-length'] : c.req.header('content-length')) ?? NaN);
    if (declared > l.bodyCap) {
      const err = tooLargeForGrpc(declared, l);
      return Promise.resolve(c.body(errorBody(err.message, err.code), 429, headers));
    }
    return next();
  };
}

interface HttpParser {
  remove?(): void;
}

/**
 * A streaming request (a watch, a lease keep-alive) keeps its body open as long as its client wants
 * more, while Node's server cuts any request still arriving after requestTimeout (5 minutes) on
 * the whole connection: that protects it from clients that dribble an ordinary request, and would
 * cut every long watch. This takes the request's connection out of Node's list of requests in
 * flight (the parser's remove(), what Node itself calls when it frees a parser), so the timeout
 * skips it; the next request on the connection is timed again. Without Node's server (other
 * runtimes) it does nothing.
 */
export function streamingBody(): MiddlewareHandler {
  return function streamingBodyMiddleware(c, next) {
    const socket = nodeEnv(c)?.incoming?.socket as { parser?: HttpParser | null } | undefined;
    socket?.parser?.remove?.();
    return next();
  };
}
