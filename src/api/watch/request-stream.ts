import { DecodeError, decodeMessage } from '../json/proto-decode.ts';
import { EMPTY, JsonSyntaxError, parseGoJsonPrefix, T, type Node } from '../json/go-json.ts';
import { messageSize } from '../json/proto-size.ts';
import { WatchRequestDesc, type WatchRequest } from '../json/watch-messages.ts';

export type StreamItem = { req: WatchRequest } | { error: string; code: number };

const ONEOFS = [
  ['create_request', 'createRequest'],
  ['cancel_request', 'cancelRequest'],
  ['progress_request', 'progressRequest'],
] as const;

/**
 * Splits a POST /v3/watch body into WatchRequests as they arrive, reading successive JSON values
 * the way the gateway's Go decoder does (values may follow each other with or without space).
 * The first bad value ends the stream: an error item, then nothing more.
 */
export class WatchRequestStream {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(
    /** gRPC's limit on one request (max-request-bytes + 512 KiB). */
    private readonly grpcMax: number,
  ) {}

  push(chunk: Uint8Array): StreamItem[] {
    if (this.done) return [];
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    return this.drain(false);
  }

  end(): StreamItem[] {
    if (this.done) return [];
    const items = this.drain(true);
    this.done = true;
    return items;
  }

  private drain(atEnd: boolean): StreamItem[] {
    const items: StreamItem[] = [];
    while (!this.done) {
      let parsed: ReturnType<typeof parseGoJsonPrefix>;
      try {
        parsed = parseGoJsonPrefix(this.buf);
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        if (e.message === 'unexpected EOF' && !atEnd) {
          // Half a value: wait for the rest, but not for ever.
          if (this.buf.length > 4 * this.grpcMax) return this.fail(items, `grpc: received message larger than max (${this.buf.length} vs. ${this.grpcMax})`, 8);
          break;
        }
        return this.fail(items, e.message, 2);
      }
      if (parsed === EMPTY) {
        this.buf = Buffer.alloc(0);
        break;
      }
      const { node, end } = parsed;
      // A number at the very end may go on in the next chunk.
      if (!atEnd && end === this.buf.length && (node.t === T.Num || node.t === T.True || node.t === T.False || node.t === T.Null)) break;
      this.buf = this.buf.subarray(end);
      try {
        const req = decodeRequest(node);
        const size = messageSize(req as Record<string, unknown>, WatchRequestDesc);
        if (size > this.grpcMax) return this.fail(items, `grpc: received message larger than max (${size} vs. ${this.grpcMax})`, 8);
        items.push({ req });
      } catch (e) {
        if (e instanceof DecodeError) return this.fail(items, e.message, 2);
        throw e;
      }
    }
    return items;
  }

  private fail(items: StreamItem[], error: string, code: number): StreamItem[] {
    this.done = true;
    this.buf = Buffer.alloc(0);
    items.push({ error, code });
    return items;
  }
}

/** jsonpb's reading of one WatchRequest; a member given as null is no request at all (etcd skips it). */
function decodeRequest(node: Node): WatchRequest {
  if (node.t === T.Null) return {};
  const req = decodeMessage(node, WatchRequestDesc) as WatchRequest & Record<string, unknown>;
  if (node.t === T.Obj) {
    for (const [snake, camel] of ONEOFS) {
      const v = node.fields.get(camel) ?? node.fields.get(snake);
      if (v && v.t === T.Null) delete req[camel];
    }
  }
  return req;
}
